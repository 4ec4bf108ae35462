"""Uptime record and planned maintenance.

One ``UptimeProbe`` row per probe (every 60 s by default): 525,600 rows a year, ~40 MB with
its index on PostgreSQL, pruned after ``UPTIME_RETENTION_DAYS``. One row per probe keeps the
gaps (minutes when the worker itself was not probing) visible, which state-change rows
would hide.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Check(models.TextChoices):
    """What a probe or the health endpoint checks; a failing one is an outage's cause."""

    WEB = "web", _("Sitio web")
    DATABASE = "database", _("Base de datos")
    QUEUE = "queue", _("Cola de tareas")
    WORKER = "worker", _("Proceso en segundo plano")


class UptimeProbe(models.Model):
    checked_at = models.DateTimeField(_("revisado el"), db_index=True)
    ok = models.BooleanField(_("disponible"))
    # Comma-separated ``Check`` values that failed; empty when ok.
    failed_checks = models.CharField(_("revisiones fallidas"), max_length=100, blank=True)
    web_ms = models.PositiveIntegerField(_("respuesta web (ms)"), null=True, blank=True)

    class Meta:
        ordering = ["checked_at"]
        verbose_name = _("sondeo de disponibilidad")
        verbose_name_plural = _("sondeos de disponibilidad")

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else self.failed_checks}"


class MaintenanceWindow(models.Model):
    """Planned maintenance, announced beforehand: excluded from the availability figures."""

    starts_at = models.DateTimeField(_("inicio"))
    ends_at = models.DateTimeField(_("término"))
    reason = models.CharField(_("motivo"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("mantención programada")
        verbose_name_plural = _("mantenciones programadas")
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="maintenance_window_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} – {self.ends_at:%Y-%m-%d %H:%M} {self.reason}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("El término debe ser posterior al inicio.")})
