from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "loket.channels"
    label = "channels"
