"""The outbox: every message to a person is a row written in the same transaction as the
change that causes it, and delivered afterwards by the worker."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboundStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente")
    SENDING = "sending", _("Enviando")
    SENT = "sent", _("Enviado")
    FAILED = "failed", _("Fallido")
    # Deliberately never sent (e.g. demo data, a message superseded before delivery).
    CANCELLED = "cancelled", _("Anulado")


class OutboundMessage(models.Model):
    institution = models.ForeignKey(
        "catalog.Institution", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE,
        related_name="outbound_messages",
    )
    channel = models.CharField(max_length=20, default="email")
    # What caused the message (e.g. "ticket-42-ack"): the unique key makes a retried cause
    # produce one message, never two.
    dedupe_key = models.CharField(max_length=120, unique=True)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    status = models.CharField(max_length=10, choices=OutboundStatus.choices,
                              default=OutboundStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]
        verbose_name = _("mensaje saliente")
        verbose_name_plural = _("mensajes salientes")

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}: {self.subject}"
