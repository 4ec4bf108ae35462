from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "ventanilla.routing"
    verbose_name = "Derivación y triaje"
