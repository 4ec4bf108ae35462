"""Routing rules: ordered conditions that send a new ticket to an area."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ventanilla.tickets.models import Urgency


class RoutingRule(models.Model):
    """Evaluated in ``position`` order on entry; the first active rule whose conditions all
    hold decides the area (and, optionally, the priority). An empty condition matches all."""

    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.CASCADE, related_name="routing_rules"
    )
    name = models.CharField(_("nombre"), max_length=150)
    position = models.PositiveIntegerField(_("orden"), default=0)
    is_active = models.BooleanField(_("activa"), default=True)

    ticket_types = models.ManyToManyField(
        "catalog.TicketType", blank=True, verbose_name=_("motivos")
    )
    topics = models.ManyToManyField(
        "catalog.Topic", blank=True, verbose_name=_("temas"),
        help_text=_("Un programa incluye sus productos."),
    )
    channels = models.ManyToManyField("catalog.Channel", blank=True, verbose_name=_("canales"))
    regions = models.ManyToManyField("core.Region", blank=True, verbose_name=_("regiones"))
    comunas = models.ManyToManyField("core.Comuna", blank=True, verbose_name=_("comunas"))
    organizations = models.ManyToManyField(
        "catalog.Organization", blank=True, verbose_name=_("establecimientos")
    )
    urgencies = models.JSONField(
        _("urgencias"), default=list, blank=True,
        help_text=_("Lista de urgencias (low, medium, high); vacía = todas."),
    )
    keywords = models.TextField(
        _("palabras clave"), blank=True,
        help_text=_("Separadas por coma o línea. Basta una en el asunto o el detalle "
                    "(sin distinguir mayúsculas ni tildes)."),
    )

    area = models.ForeignKey(
        "catalog.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("área")
    )
    priority = models.CharField(
        _("prioridad"), max_length=10, choices=Urgency.choices, blank=True,
        help_text=_("Opcional: fija la prioridad del requerimiento."),
    )

    class Meta:
        ordering = ["institution", "position", "id"]
        verbose_name = _("regla de derivación")
        verbose_name_plural = _("reglas de derivación")

    def __str__(self) -> str:
        return self.name
