from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "ventanilla.catalog"
    verbose_name = "Catálogos"
