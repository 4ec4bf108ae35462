"""Paper forms brought to an office: the photographed pages wait here until an operator
transcribes them into a ticket (or discards them with a reason).

``PaperIntake.created_at`` is the moment the form entered the platform: the ticket's
``received_at``, so its deadlines count from the upload, not from the date on the paper.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IntakeStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente de transcripción")
    TRANSCRIBED = "transcribed", _("Transcrito")
    DISCARDED = "discarded", _("Descartado")


class PaperIntake(models.Model):
    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.PROTECT, related_name="paper_intakes",
        verbose_name=_("institución"),
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("subido por"),
    )
    created_at = models.DateTimeField(_("ingreso a la plataforma"), default=timezone.now)
    note = models.CharField(_("observación"), max_length=300, blank=True)
    status = models.CharField(
        _("estado"), max_length=12, choices=IntakeStatus.choices, default=IntakeStatus.PENDING
    )
    # One intake opens at most one ticket: the column is unique.
    ticket = models.OneToOneField(
        "tickets.Ticket", null=True, blank=True, on_delete=models.PROTECT,
        related_name="paper_intake", verbose_name=_("requerimiento"),
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("transcrito o descartado por"),
    )
    closed_at = models.DateTimeField(_("transcrito o descartado el"), null=True, blank=True)
    discard_reason = models.CharField(_("motivo del descarte"), max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("formulario en papel")
        verbose_name_plural = _("formularios en papel")
        indexes = [
            models.Index(fields=["institution", "status", "created_at"],
                         name="paper_intake_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.institution.short_name} #{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status == IntakeStatus.PENDING


def paper_page_path(instance: PaperPage, filename: str) -> str:
    # The stored name never comes from the uploader (as for ticket attachments).
    now = timezone.now()
    return (f"paper/{instance.intake.institution_id}/{now:%Y/%m}/"
            f"{uuid.uuid4().hex}.{instance.extension}")


class PaperPage(models.Model):
    """One photo or scan of the form, checked by content before it was stored."""

    intake = models.ForeignKey(PaperIntake, on_delete=models.CASCADE, related_name="pages")
    position = models.PositiveSmallIntegerField(_("orden"))
    file = models.FileField(upload_to=paper_page_path, max_length=200)
    original_name = models.CharField(max_length=200)
    extension = models.CharField(max_length=8)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["intake", "position"]
        verbose_name = _("página")
        verbose_name_plural = _("páginas")
        constraints = [
            models.UniqueConstraint(fields=["intake", "position"], name="paper_page_position"),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
