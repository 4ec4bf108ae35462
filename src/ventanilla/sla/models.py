"""Deadlines: each institution's business calendar, SLA policies with a target per response
stage, and the alerts the sweep has already raised (one per ticket, stage and threshold)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from ventanilla.tickets.models import ResponseStage, Urgency


class Unit(models.TextChoices):
    CALENDAR_HOURS = "calendar_hours", _("horas corridas")
    BUSINESS_HOURS = "business_hours", _("horas hábiles")
    BUSINESS_DAYS = "business_days", _("días hábiles")


class CalendarSettings(models.Model):
    """Working time of an institution (business hours and days count inside it)."""

    institution = models.OneToOneField(
        "catalog.Institution", on_delete=models.CASCADE, related_name="calendar_settings"
    )
    workdays = models.CharField(
        _("días laborales"), max_length=20, default="0,1,2,3,4",
        help_text=_("Números de día separados por coma: 0 = lunes … 6 = domingo."),
    )
    work_start = models.TimeField(_("inicio de la jornada"), default="09:00")
    work_end = models.TimeField(_("fin de la jornada"), default="18:00")
    holiday_region = models.ForeignKey(
        "core.Region", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("feriados regionales de"),
        help_text=_("Además de los feriados nacionales. Vacío: solo nacionales."),
    )

    class Meta:
        verbose_name = _("calendario hábil")
        verbose_name_plural = _("calendarios hábiles")

    def __str__(self) -> str:
        return str(self.institution)


class CalendarException(models.Model):
    """A day declared off by the institution, or a holiday it works anyway (e.g. Ñuble's
    20 August outside Chillán and Chillán Viejo)."""

    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.CASCADE, related_name="calendar_exceptions"
    )
    day = models.DateField(_("día"))
    is_working = models.BooleanField(
        _("se trabaja"), default=False,
        help_text=_("Marcado: feriado que la institución trabaja. Sin marcar: día no hábil extra."),
    )
    description = models.CharField(_("descripción"), max_length=150, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "day"], name="calendar_exception_unique")
        ]
        verbose_name = _("excepción de calendario")
        verbose_name_plural = _("excepciones de calendario")

    def __str__(self) -> str:
        return f"{self.day} {self.description}"


def _target(label):
    amount = models.DecimalField(
        label, max_digits=7, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0)],
    )
    unit = models.CharField(_("unidad"), max_length=20, choices=Unit.choices,
                            default=Unit.CALENDAR_HOURS)
    return amount, unit


class SlaPolicy(models.Model):
    """Targets per stage for a type (and optionally a topic and an urgency). The most
    specific active policy applies: type+topic+urgency, type+topic, type+urgency, type."""

    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.CASCADE, related_name="sla_policies"
    )
    name = models.CharField(_("nombre"), max_length=150)
    is_active = models.BooleanField(_("activa"), default=True)
    ticket_type = models.ForeignKey(
        "catalog.TicketType", on_delete=models.CASCADE, related_name="sla_policies",
        verbose_name=_("motivo"),
    )
    topic = models.ForeignKey(
        "catalog.Topic", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("tema"), help_text=_("Un programa incluye sus productos."),
    )
    urgency = models.CharField(_("urgencia"), max_length=10, blank=True, choices=Urgency.choices)
    ack_amount, ack_unit = _target(_("plazo: acuse de recibo"))
    plan_amount, plan_unit = _target(_("plazo: respuesta intermedia"))
    final_amount, final_unit = _target(_("plazo: respuesta final"))
    at_risk_ratio = models.DecimalField(
        _("en riesgo desde (fracción del plazo)"), max_digits=3, decimal_places=2, default=0.75,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.99)],
    )

    class Meta:
        ordering = ["institution", "ticket_type", "name"]
        verbose_name = _("política de plazos")
        verbose_name_plural = _("políticas de plazos")

    def __str__(self) -> str:
        return self.name


class AlertThreshold(models.TextChoices):
    AT_RISK = "at_risk", _("En riesgo")
    BREACHED = "breached", _("Vencido")


class SlaAlert(models.Model):
    """Raised once per ticket, stage and threshold, however often the sweep runs."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="sla_alerts"
    )
    stage = models.CharField(max_length=10, choices=ResponseStage.choices)
    threshold = models.CharField(max_length=10, choices=AlertThreshold.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "stage", "threshold"], name="sla_alert_once")
        ]
        verbose_name = _("alerta de plazo")
        verbose_name_plural = _("alertas de plazo")

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.stage} {self.threshold}"


class SweepMark(models.Model):
    """How far the sweep has looked for an institution: every threshold crossed before
    ``swept_until`` has its alert. The next sweep then only reads tickets whose deadline or
    risk moment came after it, or that changed since (``updated_at``), instead of every
    breached ticket of the backlog."""

    institution = models.OneToOneField(
        "catalog.Institution", on_delete=models.CASCADE, related_name="+"
    )
    swept_until = models.DateTimeField()

    class Meta:
        verbose_name = _("avance del barrido de plazos")
        verbose_name_plural = _("avance del barrido de plazos")

    def __str__(self) -> str:
        return f"{self.institution_id} {self.swept_until:%Y-%m-%d %H:%M}"
