from django.urls import URLPattern

app_name = "replies"

urlpatterns: list[URLPattern] = []
