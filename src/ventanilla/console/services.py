"""Console writes that belong to no ticket: the operator's drafts."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ventanilla.console.models import DRAFT_FIELDS, DRAFT_MAX_BYTES, DraftKind, OperatorDraft
from ventanilla.tickets.models import Ticket
from ventanilla.tickets.services.assisted import assisted_allowed

DRAFT_VALUE_MAX_LENGTH = 20_000


class DraftTooLarge(ValidationError):
    """The draft is over ``DRAFT_MAX_BYTES`` (the endpoint answers 413)."""


def draft_scope(citizen) -> str:
    return str(citizen.pk) if citizen is not None else ""


def _clean_fields(kind: str, fields) -> dict[str, str]:
    if kind not in DRAFT_FIELDS:
        raise ValidationError({"kind": "unknown draft kind"}, code="kind")
    if not isinstance(fields, dict):
        raise ValidationError({"fields": "must be an object"}, code="fields")
    allowed = DRAFT_FIELDS[kind]
    cleaned = {}
    for name, value in fields.items():
        if name not in allowed:
            continue  # only known field names are kept
        if not isinstance(value, str):
            raise ValidationError({name: "must be a string"}, code="type")
        if len(value) > DRAFT_VALUE_MAX_LENGTH:
            raise ValidationError({name: "too long"}, code="too_long")
        cleaned[name] = value
    if len(json.dumps(cleaned).encode()) > DRAFT_MAX_BYTES:
        raise DraftTooLarge({"fields": "draft too large"})
    return cleaned


def _draft_ticket(institution, citizen, value: str) -> Ticket | None:
    if not value.isdigit() or citizen is None:
        return None
    return Ticket.objects.filter(pk=int(value), institution=institution,
                                 citizen=citizen).first()


def operator_draft_save(*, user, institution, kind: str, citizen=None,
                        fields: dict) -> OperatorDraft:
    """Keep what the operator has typed so far (one draft per operator, institution, form
    and person; the latest save wins). Unknown field names are dropped."""
    if not assisted_allowed(user, institution.pk):
        raise PermissionDenied("drafts are for staff who take calls")
    data = _clean_fields(kind, fields)
    ticket = _draft_ticket(institution, citizen, data.get("ticket", ""))
    values = {"citizen": citizen, "ticket": ticket, "data": data}
    key = {"user": user, "institution": institution, "kind": kind,
           "scope": draft_scope(citizen)}
    try:
        with transaction.atomic():
            draft, _created = OperatorDraft.objects.update_or_create(**key, defaults=values)
    except IntegrityError:  # two saves of the same form raced: the row exists now
        draft, _created = OperatorDraft.objects.update_or_create(**key, defaults=values)
    return draft


def operator_draft_discard(*, user, institution, kind: str, citizen=None) -> bool:
    """Forget a draft (submitted, or thrown away by the operator). True if one existed."""
    if kind not in DraftKind.values:
        return False
    deleted, _rows = OperatorDraft.objects.filter(
        user=user, institution=institution, kind=kind, scope=draft_scope(citizen)).delete()
    return bool(deleted)
