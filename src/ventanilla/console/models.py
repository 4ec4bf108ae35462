"""Console data: the operator's drafts (saved as they type, so a dropped connection or a
crashed browser loses nothing)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DraftKind(models.TextChoices):
    TICKET_NEW = "ticket_new", _("Nuevo requerimiento")
    TICKET_ADD = "ticket_add", _("Agregar a un requerimiento abierto")
    ATTENDED = "attended", _("Atención resuelta")


# The only form fields a draft keeps (anything else sent to the draft endpoint is dropped).
# Files are never drafted: uploads are checked on submit only.
DRAFT_FIELDS: dict[str, frozenset[str]] = {
    DraftKind.TICKET_NEW: frozenset({
        "channel", "full_name", "rut", "email", "phone", "requester_type", "region", "comuna",
        "organization", "ticket_type", "topic", "urgency", "subject", "detail",
        "idempotency_key",
    }),
    DraftKind.TICKET_ADD: frozenset({"channel", "ticket", "body"}),
    DraftKind.ATTENDED: frozenset({"channel", "ticket", "summary"}),
}
DRAFT_MAX_BYTES = 64 * 1024


class OperatorDraft(models.Model):
    """One unfinished form of one operator: per institution, form kind and person (no person
    for a caller not found). Deleted when the form is submitted or discarded."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    institution = models.ForeignKey("catalog.Institution", on_delete=models.CASCADE,
                                    related_name="+")
    kind = models.CharField(_("formulario"), max_length=20, choices=DraftKind.choices)
    citizen = models.ForeignKey("citizens.Citizen", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    # The person's id or "" — part of the unique key (a NULL citizen would not be unique).
    scope = models.CharField(max_length=20, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "institution", "kind", "scope"],
                                    name="operator_draft_unique"),
        ]
        verbose_name = _("borrador de operador")
        verbose_name_plural = _("borradores de operador")

    def __str__(self) -> str:
        return f"{self.kind} {self.scope or '-'} ({self.user_id})"
