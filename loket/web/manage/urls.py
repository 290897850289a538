from django.urls import URLPattern

app_name = "manage"

urlpatterns: list[URLPattern] = []
