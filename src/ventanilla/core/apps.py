from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ventanilla.core"
    verbose_name = "Núcleo"
