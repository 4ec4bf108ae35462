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
    # What the provider called it (SMTP Message-ID, wamid, Twilio MessageSid) and what its
    # status callbacks said since: accepted → delivered → read, or failed/undelivered.
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    delivery_status = models.CharField(max_length=20, blank=True)
    delivery_updated_at = models.DateTimeField(null=True, blank=True)
    delivery_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            # Delivery order per recipient and channel: "is an earlier message of this
            # stream still to leave?" is one probe of this index, which holds unsent rows
            # only (a handful, however large the outbox grows).
            models.Index(fields=["recipient", "channel", "id"], name="outbox_unsent_stream",
                         condition=models.Q(status__in=["pending", "sending"])),
        ]
        verbose_name = _("mensaje saliente")
        verbose_name_plural = _("mensajes salientes")

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}: {self.subject}"

    @property
    def channel_label(self) -> str:
        return str(CHANNEL_LABELS.get(self.channel, self.channel))

    @property
    def delivery_status_label(self) -> str:
        return str(DELIVERY_STATUS_LABELS.get(self.delivery_status, self.delivery_status))


CHANNEL_LABELS = {
    "email": _("Correo electrónico"), "whatsapp": _("WhatsApp"), "sms": _("SMS"),
    "messenger": _("Messenger"), "instagram": _("Instagram"),
}
DELIVERY_STATUS_LABELS = {
    "accepted": _("aceptado por el proveedor"), "sent": _("enviado"),
    "delivered": _("entregado"), "read": _("leído"), "undelivered": _("no entregado"),
    "failed": _("fallido"),
}


class TemplateKey(models.TextChoices):
    TICKET_RECEIVED = "ticket_received", _("Acuse de recibo (con folio)")
    TYPE1_ANSWER = "type1_answer", _("Respuesta automática (sugerencia, felicitación)")
    ANSWER_PLAN = "answer_plan", _("Respuesta intermedia")
    ANSWER_FINAL = "answer_final", _("Respuesta final")
    TICKET_REPLY = "ticket_reply", _("Otra respuesta del equipo")
    TICKET_CLOSED = "ticket_closed", _("Cierre")
    TICKET_REOPENED = "ticket_reopened", _("Reapertura")
    TICKET_MERGED = "ticket_merged", _("Fusión con otro requerimiento")
    SLA_ALERT = "sla_alert", _("Alerta de plazo (al equipo)")


class MessageTemplate(models.Model):
    """An editable automatic message. The most specific active one applies: the
    institution's for the ticket type, the institution's for any type, then the built-in
    file ``notifications/email/<key>.txt``. First line of the rendered text is the subject."""

    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.CASCADE, related_name="message_templates"
    )
    key = models.CharField(_("mensaje"), max_length=30, choices=TemplateKey.choices)
    ticket_type = models.ForeignKey(
        "catalog.TicketType", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("motivo"), help_text=_("Vacío: para todos los motivos."),
    )
    subject = models.CharField(_("asunto"), max_length=250)
    body = models.TextField(_("texto"))
    is_active = models.BooleanField(_("activa"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "key", "ticket_type"],
                                    name="message_template_unique"),
        ]
        verbose_name = _("plantilla de mensaje")
        verbose_name_plural = _("plantillas de mensajes")

    def __str__(self) -> str:
        return f"{self.get_key_display()} · {self.institution}"
