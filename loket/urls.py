from django.contrib import admin
from django.urls import include, path

from loket.channels.whatsapp import views as whatsapp

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("loket.api.urls")),
    path("webhooks/whatsapp/<int:channel_id>/", whatsapp.webhook, name="whatsapp_webhook"),
    path("", include("loket.web.urls")),
]
