from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "ventanilla.catalog"
    verbose_name = _("Catálogos")

    def ready(self):
        from ventanilla.catalog import signals

        signals.connect()
