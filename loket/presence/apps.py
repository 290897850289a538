from django.apps import AppConfig


class PresenceConfig(AppConfig):
    name = "loket.presence"
    label = "presence"
