from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "ventanilla.sla"
    verbose_name = "Plazos (SLA)"
