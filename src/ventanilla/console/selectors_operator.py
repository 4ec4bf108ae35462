"""Reads of the operator console: the caller's history in the active institution, their
open tickets, and the operator's own drafts."""

from __future__ import annotations

from ventanilla.console.models import OperatorDraft
from ventanilla.console.services import draft_scope
from ventanilla.tickets import permissions
from ventanilla.tickets.models import OPEN_STATUSES, Interaction, Ticket


def operator_person_tickets(*, user, citizen, institution) -> list[Ticket]:
    """The person's tickets in this institution that the staff member may view, newest
    first."""
    rows = (Ticket.objects.filter(citizen=citizen, institution=institution)
            .select_related("channel", "area", "institution").order_by("-received_at"))
    return [ticket for ticket in rows if permissions.can(user, "view", ticket)]


def operator_person_known(*, citizen, institution) -> bool:
    """The person has a ticket or a recorded contact in the institution."""
    return (Ticket.objects.filter(citizen=citizen, institution=institution).exists()
            or Interaction.objects.filter(citizen=citizen, institution=institution).exists())


def operator_open_tickets(tickets: list[Ticket]) -> list[Ticket]:
    return [ticket for ticket in tickets if ticket.status in OPEN_STATUSES]


def operator_draft_get(*, user, institution, kind: str, citizen=None) -> OperatorDraft | None:
    """Only the operator's own draft: another user's is never returned."""
    return OperatorDraft.objects.filter(user=user, institution=institution, kind=kind,
                                        scope=draft_scope(citizen)).first()
