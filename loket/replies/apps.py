from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "loket.replies"
    label = "replies"
