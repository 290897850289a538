from django.urls import path

from loket.web.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="index"),
]
