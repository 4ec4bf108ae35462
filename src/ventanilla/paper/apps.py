from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaperConfig(AppConfig):
    name = "ventanilla.paper"
    verbose_name = _("Formularios en papel")
