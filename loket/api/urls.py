from django.urls import path

from loket.api.v1 import api

urlpatterns = [path("", api.urls)]
