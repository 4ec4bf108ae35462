"""Reads for routing and triage, scoped to what the reader may see."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, QuerySet

from ventanilla.accounts.models import Membership
from ventanilla.routing.models import RoutingRule
from ventanilla.tickets import permissions
from ventanilla.tickets.models import EventKind, Ticket, TicketEvent, TriageStatus


def can_triage(membership: Membership | None) -> bool:
    return membership is not None and "triage" in permissions.ACTIONS_BY_ROLE.get(
        membership.role, set())


def triage_queue(*, membership: Membership) -> QuerySet[Ticket]:
    """Tickets of the member's institution waiting for triage, oldest first. Each carries
    ``created_events`` (its CREATED event, for the rule that chose the area): the queue
    costs the same number of queries whatever the page size."""
    if not can_triage(membership):
        raise PermissionDenied("role may not triage")
    created = TicketEvent.objects.filter(kind=EventKind.CREATED).only("id", "ticket_id", "data")
    return (
        Ticket.objects.filter(institution_id=membership.institution_id,
                              triage_status=TriageStatus.PENDING)
        .select_related("ticket_type", "topic", "topic__parent", "channel", "area")
        .prefetch_related(Prefetch("events", queryset=created, to_attr="created_events"))
        .order_by("received_at", "id")
    )


def routing_rule_name(ticket: Ticket) -> str | None:
    """The name of the rule that chose the area on entry (None: the topic's default area)."""
    events = getattr(ticket, "created_events", None)
    if events is None:
        events = list(ticket.events.filter(kind=EventKind.CREATED))
    return (events[0].data or {}).get("routing_rule") if events else None


def rule_list(*, institution) -> QuerySet[RoutingRule]:
    return RoutingRule.objects.filter(institution=institution).select_related("area")
