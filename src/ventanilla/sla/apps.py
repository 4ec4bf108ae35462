from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "ventanilla.sla"
    verbose_name = _("Plazos (SLA)")
