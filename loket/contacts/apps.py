from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "loket.contacts"
    label = "contacts"
