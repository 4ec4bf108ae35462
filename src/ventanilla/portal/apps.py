from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "ventanilla.portal"
    verbose_name = "Portal ciudadano"
