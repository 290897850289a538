from django.urls import path

from loket.web.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox, name="index"),
    path("baris/", views.rows, name="rows"),
    path("massal/", views.bulk, name="bulk"),
    path("preferensi/", views.preferences, name="preferences"),
]
