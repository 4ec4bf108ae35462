"""Chile's territory (official CUT codes) and the audit log shared by every app."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    code = models.CharField(_("código CUT"), max_length=2, primary_key=True)
    name = models.CharField(_("nombre"), max_length=100)
    short_name = models.CharField(_("nombre corto"), max_length=60)
    iso_code = models.CharField(_("código ISO 3166-2"), max_length=6, unique=True)
    holidays_subdiv = models.CharField(_("subdivisión de feriados"), max_length=4)
    # Regions are listed north to south, which is not the order of their codes.
    position = models.PositiveSmallIntegerField(_("orden"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("región")
        verbose_name_plural = _("regiones")

    def __str__(self) -> str:
        return self.name


class Province(models.Model):
    code = models.CharField(_("código CUT"), max_length=3, primary_key=True)
    name = models.CharField(_("nombre"), max_length=100)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="provinces")

    class Meta:
        ordering = ["code"]
        verbose_name = _("provincia")
        verbose_name_plural = _("provincias")

    def __str__(self) -> str:
        return self.name


class Comuna(models.Model):
    code = models.CharField(_("código CUT"), max_length=5, primary_key=True)
    name = models.CharField(_("nombre"), max_length=100)
    province = models.ForeignKey(Province, on_delete=models.PROTECT, related_name="comunas")
    # Denormalised from the province so "comunas of a region" is one indexed lookup.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="comunas")

    class Meta:
        ordering = ["name"]
        verbose_name = _("comuna")
        verbose_name_plural = _("comunas")

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """Who did what to which record, kept apart from the ticket timeline so that
    reads of personal data and administrative actions are accountable too."""

    occurred_at = models.DateTimeField(_("fecha"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    institution = models.ForeignKey(
        "catalog.Institution", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("acción"), max_length=60)
    object_type = models.CharField(_("tipo de objeto"), max_length=60)
    object_id = models.CharField(_("id del objeto"), max_length=64)
    data = models.JSONField(_("datos"), default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("evento de auditoría")
        verbose_name_plural = _("eventos de auditoría")

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
