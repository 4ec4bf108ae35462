from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "ventanilla.tickets"
    verbose_name = "Requerimientos"
