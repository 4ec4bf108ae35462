"""Reads for the citizen portal: a ticket only for a session or account allowed to see it."""

from __future__ import annotations

from uuid import UUID

from ventanilla.citizens.models import Citizen
from ventanilla.tickets.models import Attachment, Ticket
from ventanilla.tickets.selectors import ticket_list_for_citizen

_DETAIL_RELATED = ("institution", "ticket_type", "topic", "topic__parent", "channel")


def portal_ticket_submitted(*, public_id: UUID, submitted: list[str]) -> Ticket | None:
    """The ticket just filed by this session (its public id is remembered in the session)."""
    if str(public_id) not in submitted:
        return None
    return (
        Ticket.objects.select_related("institution", "ticket_type").filter(public_id=public_id)
        .first()
    )


def portal_ticket_get(*, folio: str, granted_ids: list[int], user) -> Ticket | None:
    """The ticket if this session was granted it (tracking) or the logged-in person owns it;
    None otherwise, whether or not the folio exists."""
    folio = (folio or "").strip().upper()
    if not folio:
        return None
    ticket = Ticket.objects.select_related(*_DETAIL_RELATED).filter(folio=folio).first()
    if ticket is None:
        return None
    if ticket.pk in granted_ids:
        return ticket
    if ticket_list_for_citizen(user=user).filter(pk=ticket.pk).exists():
        return ticket
    return None


def portal_public_attachment(*, ticket: Ticket, attachment_id: int) -> Attachment | None:
    """An attachment of a public timeline event of the ticket (never of an internal one)."""
    return Attachment.objects.filter(
        ticket=ticket, pk=attachment_id, event__isnull=False, event__is_public=True
    ).first()


def portal_citizen_for_user(*, user) -> Citizen | None:
    """The person record linked to an account, to prefill the request form."""
    return Citizen.objects.filter(user=user).only("rut", "phone", "full_name").first()
