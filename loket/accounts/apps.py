from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "loket.accounts"
    label = "accounts"

    def ready(self) -> None:
        from loket.accounts import handlers

        handlers.connect()
