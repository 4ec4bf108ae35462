"""Integration credentials and the idempotency log of the public API (and Open311)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """A key per integration (IVR, bot, partner system). Only a SHA-256 hash of the secret is
    stored; the clear key is shown once, when created. ``prefix`` (the first characters) finds
    the row without revealing the secret."""

    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("integración"), max_length=120)
    prefix = models.CharField(_("prefijo"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    channels = models.ManyToManyField(
        "catalog.Channel", blank=True, verbose_name=_("canales permitidos"),
        help_text=_("Canales con los que esta integración puede ingresar requerimientos."),
    )
    can_read = models.BooleanField(_("puede leer"), default=True)
    can_write = models.BooleanField(_("puede escribir"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("revocada el"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("último uso"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("clave de API")
        verbose_name_plural = _("claves de API")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first response to an ``Idempotency-Key``: the same key and body return the same
    ticket; the same key with another body is a conflict (409)."""

    scope = models.CharField(max_length=80)  # "key:<api key id>" or "ip:<address>"
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class InteractionBatch(models.Model):
    """A batch of interactions accepted under an ``Idempotency-Key``, written in the same
    transaction as its rows: a retry of the same batch (client crash, timeout, lost answer)
    finds it and gets the first answer back instead of storing the rows twice; the same key
    with another body is a conflict (409). Exactly once = at-least-once delivery by the
    producer + this record."""

    scope = models.CharField(max_length=80)  # "key:<api key id>"
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"],
                                    name="interaction_batch_scope_key_unique")
        ]
        verbose_name = _("lote de interacciones")
        verbose_name_plural = _("lotes de interacciones")

    def __str__(self) -> str:
        return f"{self.scope} {self.key} ({self.count})"
