"""Provider channels: where each institution receives (endpoints) and every raw message a
provider delivered (the dedupe key of provider message ids and the quarantine)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Provider(models.TextChoices):
    EMAIL = "email", _("Correo electrónico (IMAP, SMTP o LMTP)")
    WHATSAPP = "whatsapp", _("WhatsApp Cloud API (Meta)")
    MESSENGER = "messenger", _("Messenger (Meta)")
    INSTAGRAM = "instagram", _("Instagram (Meta)")
    TWILIO = "twilio", _("SMS (Twilio)")


class ChannelEndpoint(models.Model):
    """An address where an institution receives on a provider: its mailbox address, its
    WhatsApp phone-number id, its Facebook page or Instagram account id, its SMS number.
    Inbound messages find their institution through it, and outbound messages on that
    provider are sent from it. Secrets (tokens, app secret) are settings, never rows."""

    institution = models.ForeignKey("catalog.Institution", on_delete=models.CASCADE,
                                    related_name="channel_endpoints",
                                    verbose_name=_("institución"))
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("canal"))
    provider = models.CharField(_("proveedor"), max_length=20, choices=Provider.choices)
    # Normalised: a lower-case e-mail address, a Meta id, the SMS number's digits with
    # country code (56912345678).
    address = models.CharField(
        _("dirección"), max_length=254,
        help_text=_("Correo de la casilla, identificador del número de WhatsApp o de la "
                    "página, o número de SMS con código de país."),
    )
    display_name = models.CharField(_("nombre visible"), max_length=120, blank=True)
    ticket_type = models.ForeignKey(
        "catalog.TicketType", on_delete=models.PROTECT, related_name="+",
        verbose_name=_("motivo por defecto"),
        help_text=_("Motivo de los requerimientos que llegan por aquí; el triaje lo corrige."),
    )
    topic = models.ForeignKey(
        "catalog.Topic", on_delete=models.PROTECT, related_name="+",
        verbose_name=_("tema por defecto"),
    )
    is_active = models.BooleanField(_("activa"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "address"],
                                    name="channel_endpoint_provider_address_unique"),
        ]
        verbose_name = _("punto de entrada de canal")
        verbose_name_plural = _("puntos de entrada de canales")

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.display_name or self.address}"


class InboundStatus(models.TextChoices):
    PROCESSED = "processed", _("Procesado")
    # Recognised and deliberately not turned into a ticket: auto-replies, bounces, loops,
    # delivery statuses.
    IGNORED = "ignored", _("Ignorado (automático)")
    QUARANTINED = "quarantined", _("En cuarentena")
    # A quarantined message an administrator looked at and closed.
    DISMISSED = "dismissed", _("Revisado y descartado")


def inbound_raw_path(instance: "InboundMessage", filename: str) -> str:
    now = timezone.now()
    return f"inbound/{instance.provider}/{now:%Y/%m/%d}/{filename}"


class InboundMessage(models.Model):
    """One message as a provider delivered it. The unique (provider, provider message id)
    makes a redelivered message one interaction, never two; a message that could not be
    processed stays here, quarantined with its reason and its raw bytes, for an
    administrator (never silently dropped)."""

    provider = models.CharField(_("proveedor"), max_length=20, choices=Provider.choices)
    # Message-ID of an e-mail, wamid of WhatsApp, MessageSid of Twilio; blank when the
    # input had none (a malformed message).
    provider_message_id = models.CharField(_("identificador del proveedor"), max_length=255,
                                           blank=True)
    endpoint = models.ForeignKey(ChannelEndpoint, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("punto de entrada"))
    institution = models.ForeignKey("catalog.Institution", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("institución"))
    sender = models.CharField(_("remitente"), max_length=254, blank=True)
    subject = models.CharField(_("asunto"), max_length=250, blank=True)
    status = models.CharField(_("estado"), max_length=12, choices=InboundStatus.choices)
    reason = models.CharField(_("motivo"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("recibido el"), default=timezone.now)
    # The raw input (MIME message, webhook body), kept for quarantined messages.
    raw = models.FileField(_("mensaje original"), upload_to=inbound_raw_path, max_length=200,
                           blank=True)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("requerimiento"))
    created_ticket = models.BooleanField(_("abrió el requerimiento"), default=False)
    data = models.JSONField(default=dict, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("revisado por"))
    reviewed_at = models.DateTimeField(_("revisado el"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="inbound_provider_message_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_status_time"),
            # The e-mail adapter counts a sender's recent messages (mail-loop guard).
            models.Index(fields=["provider", "sender", "received_at"],
                         name="inbound_sender_time"),
        ]
        ordering = ["-received_at", "-pk"]
        verbose_name = _("mensaje entrante")
        verbose_name_plural = _("mensajes entrantes")

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_message_id or self.pk} ({self.status})"
