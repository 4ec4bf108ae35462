"""One record per person across channels. A person is recognised by RUT when given,
otherwise by a channel identity (e-mail, phone, WhatsApp id, social handle)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ventanilla.core.rut import rut_format


class Citizen(models.Model):
    rut = models.CharField(_("RUT"), max_length=12, unique=True, null=True, blank=True,
                           help_text=_("Forma compacta, sin puntos ni guion."))
    full_name = models.CharField(_("nombre"), max_length=200, blank=True)
    email = models.EmailField(_("correo electrónico"), blank=True)
    phone = models.CharField(_("teléfono"), max_length=30, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="citizen",
    )
    # Set when this record was merged into another one (kept, not deleted, so that the
    # merge can be undone; see ``CitizenMerge``).
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_records",
        verbose_name=_("fusionada en"),
    )
    created_at = models.DateTimeField(_("creada el"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizada el"), auto_now=True)

    class Meta:
        # The operator console looks people up by exact e-mail and phone.
        indexes = [
            models.Index(fields=["email"], name="citizen_email"),
            models.Index(fields=["phone"], name="citizen_phone"),
        ]
        verbose_name = _("persona")
        verbose_name_plural = _("personas")

    def __str__(self) -> str:
        return self.full_name or self.email or self.rut_display or f"#{self.pk}"

    @property
    def rut_display(self) -> str:
        return rut_format(self.rut or "")


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Correo electrónico")
    PHONE = "phone", _("Teléfono")
    WHATSAPP = "whatsapp", _("WhatsApp")
    SOCIAL = "social", _("Red social")


class ChannelIdentity(models.Model):
    """How a person is reached on a channel; (kind, value) points to one person only."""

    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("tipo"), max_length=20, choices=IdentityKind.choices)
    value = models.CharField(_("valor"), max_length=254)
    verified_at = models.DateTimeField(_("verificada el"), null=True, blank=True)
    # When the person last wrote from this identity: WhatsApp only allows free-form
    # messages within 24 hours of it (outside, an approved template).
    last_inbound_at = models.DateTimeField(_("último mensaje recibido"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_kind_value_unique")
        ]
        verbose_name = _("identidad de canal")
        verbose_name_plural = _("identidades de canal")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class CitizenMerge(models.Model):
    """Two records of one person joined by staff: what moved from ``other`` to ``keep``, so
    that a wrong merge can be undone exactly. ``other`` is kept, marked ``merged_into``."""

    keep = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="merges_kept",
                             verbose_name=_("registro conservado"))
    other = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="merges_absorbed",
                              verbose_name=_("registro fusionado"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("realizada por"))
    reason = models.TextField(_("motivo"))
    created_at = models.DateTimeField(_("realizada el"), auto_now_add=True)
    ticket_ids = models.JSONField(default=list, blank=True)
    interaction_ids = models.JSONField(default=list, blank=True)
    identity_ids = models.JSONField(default=list, blank=True)
    # field name → value copied into ``keep`` (``rut`` and ``user`` are moved, not copied).
    filled_fields = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(_("deshecha el"), null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("deshecha por"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("fusión de personas")
        verbose_name_plural = _("fusiones de personas")

    def __str__(self) -> str:
        return f"{self.other_id} → {self.keep_id}"
