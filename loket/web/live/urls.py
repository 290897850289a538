from django.urls import path

from loket.web.live import views

app_name = "live"

urlpatterns = [
    path("events", views.events, name="events"),
    path("presence/<int:number>/", views.presence_view, name="presence"),
    path("availability/", views.availability, name="availability"),
    path("agents/", views.agents, name="agents"),
]
