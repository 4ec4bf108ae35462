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


class AuditCategory(models.TextChoices):
    # A staff member (or an integration) read, exported or merged a person's data: the
    # events a supervisor reviews in the access log (Ley 19.628 / 21.719).
    PERSONAL_DATA = "personal_data", _("Acceso a datos personales")
    # Rights of the person and data lifecycle: portability exports, erasure, retention runs.
    PRIVACY = "privacy", _("Privacidad")
    OTHER = "other", _("Otro")


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
    category = models.CharField(_("categoría"), max_length=20, choices=AuditCategory.choices,
                                default=AuditCategory.OTHER)
    # The person whose data the event touched, when there is one. A plain number, not a
    # foreign key: the log must outlive (and never block) what happens to the person record.
    subject_citizen_id = models.BigIntegerField(_("persona"), null=True, blank=True)
    # Why the staff member did it, where the page asks (exports, erasure).
    reason = models.TextField(_("motivo"), blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # The access-log review: one institution's events of a category, newest first.
            models.Index(fields=["institution", "category", "-occurred_at"],
                         name="audit_inst_cat_time"),
            # "Who accessed this person's data".
            models.Index(fields=["subject_citizen_id", "-occurred_at"],
                         name="audit_citizen_time"),
        ]
        verbose_name = _("evento de auditoría")
        verbose_name_plural = _("eventos de auditoría")

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
