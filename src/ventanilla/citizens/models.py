"""One record per person across channels. A person is recognised by RUT when given,
otherwise by a channel identity (e-mail, phone, WhatsApp id, social handle)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
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
    # Set when the person's data were erased on request (``citizens.privacy.citizen_erase``):
    # the row stays so the tickets keep pointing somewhere, with no personal data left.
    anonymised_at = models.DateTimeField(_("anonimizada el"), null=True, blank=True)

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


# --- personal data lifecycle (Ley 19.628 / Ley 21.719) ------------------------------------------


class RetentionRule(models.Model):
    """How long an institution keeps the personal data of closed tickets of one type.

    ``legal_hold_years``: after closing, the data must be kept this long (the institution's
    archive duties, a possible appeal or audit); an erasure request is refused inside it.
    ``anonymise_after_years``: when set, ``apply_retention`` anonymises closed tickets of the
    type this long after closing (statistics are kept). A rule without a type applies to the
    institution's types that have no rule of their own."""

    institution = models.ForeignKey("catalog.Institution", on_delete=models.CASCADE,
                                    related_name="retention_rules",
                                    verbose_name=_("institución"))
    ticket_type = models.ForeignKey("catalog.TicketType", null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="retention_rules",
                                    verbose_name=_("motivo"),
                                    help_text=_("Vacío: todos los motivos sin regla propia."))
    legal_hold_years = models.PositiveSmallIntegerField(
        _("conservación obligatoria (años)"), default=2,
        help_text=_("Años después del cierre durante los que no se acepta la supresión."))
    anonymise_after_years = models.PositiveSmallIntegerField(
        _("anonimizar después de (años)"), null=True, blank=True,
        help_text=_("Años después del cierre en que se anonimiza automáticamente. Vacío: "
                    "nunca de forma automática."))
    is_active = models.BooleanField(_("activa"), default=True)
    updated_at = models.DateTimeField(_("actualizada el"), auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "ticket_type"],
                                    name="retention_rule_unique"),
            models.UniqueConstraint(fields=["institution"], name="retention_rule_default_unique",
                                    condition=models.Q(ticket_type__isnull=True)),
            models.CheckConstraint(
                condition=models.Q(anonymise_after_years__isnull=True)
                | models.Q(anonymise_after_years__gte=models.F("legal_hold_years")),
                name="retention_anonymise_after_hold"),
        ]
        verbose_name = _("regla de conservación")
        verbose_name_plural = _("reglas de conservación")

    def __str__(self) -> str:
        return f"{self.institution} · {self.ticket_type or _('todos los motivos')}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if (self.anonymise_after_years is not None
                and self.anonymise_after_years < self.legal_hold_years):
            raise ValidationError({"anonymise_after_years": _(
                "No se puede anonimizar antes de que termine la conservación obligatoria.")})
        if self.ticket_type_id and self.institution_id \
                and self.ticket_type.institution_id != self.institution_id:
            raise ValidationError({"ticket_type": _("El motivo es de otra institución.")})


class RetentionRun(models.Model):
    """One run of ``apply_retention``: what it found and what it anonymised."""

    started_at = models.DateTimeField(_("inicio"), default=timezone.now)
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    dry_run = models.BooleanField(_("simulación"), default=False)
    tickets = models.PositiveIntegerField(_("requerimientos anonimizados"), default=0)
    attachments = models.PositiveIntegerField(_("adjuntos eliminados"), default=0)
    # rule id → tickets due (dry run) or anonymised.
    per_rule = models.JSONField(_("por regla"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("ejecución de conservación")
        verbose_name_plural = _("ejecuciones de conservación")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} ({self.tickets})"


class AnonymisationCause(models.TextChoices):
    RETENTION = "retention", _("Regla de conservación")
    ERASURE = "erasure", _("Supresión pedida por la persona")


class TicketAnonymisation(models.Model):
    """Marks a ticket whose personal data were removed (and why): retention skips it, and
    the console can say so instead of showing blanks without explanation."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE,
                                  related_name="anonymisation")
    anonymised_at = models.DateTimeField(_("anonimizado el"), default=timezone.now)
    cause = models.CharField(_("causa"), max_length=12, choices=AnonymisationCause.choices)
    run = models.ForeignKey(RetentionRun, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    erasure = models.ForeignKey("citizens.ErasureRequest", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("requerimiento anonimizado")
        verbose_name_plural = _("requerimientos anonimizados")

    def __str__(self) -> str:
        return f"{self.ticket_id} ({self.cause})"


class ErasureStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente")
    DONE = "done", _("Realizada")
    REFUSED = "refused", _("Rechazada")


class ErasureRequest(models.Model):
    """A request to erase a person's data ("supresión"): made by the person from their account
    (pending until staff handle it) or recorded by staff at the counter, and its outcome."""

    citizen = models.ForeignKey(Citizen, on_delete=models.PROTECT, related_name="erasure_requests",
                                verbose_name=_("persona"))
    requested_at = models.DateTimeField(_("pedida el"), default=timezone.now)
    # The citizen account that asked, when it came from the portal.
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requester_note = models.TextField(_("comentario de la persona"), blank=True)
    status = models.CharField(_("estado"), max_length=10, choices=ErasureStatus.choices,
                              default=ErasureStatus.PENDING)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("atendida por"))
    handled_at = models.DateTimeField(_("atendida el"), null=True, blank=True)
    reason = models.TextField(_("motivo registrado por el funcionario"), blank=True)
    refusal_reason = models.TextField(_("motivo del rechazo"), blank=True)
    # What was erased: ticket ids, counts (no personal data).
    summary = models.JSONField(_("resumen"), default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["status", "requested_at"], name="erasure_status_time")]
        verbose_name = _("solicitud de supresión")
        verbose_name_plural = _("solicitudes de supresión")

    def __str__(self) -> str:
        return f"{self.citizen_id} {self.get_status_display()}"
