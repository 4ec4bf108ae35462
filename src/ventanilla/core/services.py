"""Writes shared by every app: the audit trail."""

from typing import Any

from ventanilla.core.models import AuditEvent


def audit_record(
    *, actor, action: str, obj, institution=None, data: dict[str, Any] | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        institution=institution,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data or {},
    )
