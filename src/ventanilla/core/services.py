"""Writes shared by every app: the audit trail."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from ventanilla.core.models import AuditCategory, AuditEvent

# Every staff (or integration) read, export or merge of a person's data. The category is
# derived from the action so that each caller stays one line and none can file a read of
# personal data under "other" by forgetting an argument. A new action that shows or exports
# personal data must be added here (tests/privacy checks the known views record one of these).
PERSONAL_DATA_ACTIONS = frozenset({
    "ticket.viewed",                 # console ticket page
    "ticket.attachment_downloaded",  # console attachment download
    "citizen.viewed",                # console person page, operator console person page
    "citizen.lookup",                # operator console search by RUT, phone or e-mail
    "citizen.merged",
    "citizen.merge_undone",
    "paper.page_viewed",             # photographed paper form
    "api.ticket_read",               # API ticket detail (staff session or key)
    "api.ticket_list",               # API ticket list read by staff (personal fields)
    "privacy.person_exported",       # a supervisor exports a person's data at the counter
    "privacy.access_log_viewed",     # the access log filtered to one person
    "privacy.access_log_exported",   # the access log as CSV (it names people)
    "survey.comments_viewed",        # survey comments (free text tied to tickets)
})
PRIVACY_ACTIONS = frozenset({
    "privacy.self_exported",         # a citizen downloads their own data
    "privacy.erasure_requested",     # a citizen asks for erasure from the portal
    "privacy.person_erased",
    "privacy.erasure_refused",
    "privacy.retention_run",
})


def audit_category(action: str) -> str:
    if action in PERSONAL_DATA_ACTIONS:
        return AuditCategory.PERSONAL_DATA
    if action in PRIVACY_ACTIONS:
        return AuditCategory.PRIVACY
    return AuditCategory.OTHER


def _subject_citizen_id(obj) -> int | None:
    """The person behind ``obj`` without a query: the person itself, or the ``citizen_id``
    column of a ticket, interaction or similar row."""
    if obj._meta.label_lower == "citizens.citizen":
        return obj.pk
    value = getattr(obj, "citizen_id", None)
    return value if isinstance(value, int) else None


def audit_record(
    *, actor, action: str, obj, institution=None, data: dict[str, Any] | None = None,
    reason: str = "", citizen_id: int | None = None,
) -> AuditEvent:
    """One INSERT. ``institution`` may be the row or its id."""
    institution_kwarg = ({"institution_id": institution} if isinstance(institution, int)
                         else {"institution": institution})
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data or {},
        category=audit_category(action),
        subject_citizen_id=citizen_id if citizen_id is not None else _subject_citizen_id(obj),
        reason=(reason or "").strip(),
        **institution_kwarg,
    )


def audit_prune(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Delete audit events older than ``AUDIT_RETENTION_YEARS`` (none when it is 0), a batch
    at a time so the table is never locked for long; returns how many went."""
    years = settings.AUDIT_RETENTION_YEARS
    if years <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=round(365.25 * years))
    deleted = 0
    while True:
        ids = list(AuditEvent.objects.filter(occurred_at__lt=cutoff)
                   .order_by("occurred_at").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += AuditEvent.objects.filter(pk__in=ids).delete()[0]
