from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "loket.tickets"
    label = "tickets"
