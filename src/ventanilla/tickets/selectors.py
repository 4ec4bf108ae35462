"""Read queries over tickets, always scoped to what the reader may see."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from ventanilla.accounts.models import Membership, Role
from ventanilla.core.rut import rut_normalize
from ventanilla.sla.selectors import sla_filter
from ventanilla.tickets import permissions
from ventanilla.tickets.models import (
    OPEN_STATUSES,
    Attachment,
    Ticket,
    TicketEvent,
    TriageStatus,
)

FOLIO_PATTERN_HINT = "-"


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    ticket_type: int | None = None
    topic: int | None = None
    area: int | None = None  # 0 means "no area"
    channel: int | None = None
    region: str = ""
    overdue: bool = False
    sla: str = ""  # at_risk, breached, paused, ok (see sla.selectors.sla_filter)
    query: str = ""


def ticket_visible_to(*, membership: Membership) -> QuerySet[Ticket]:
    """Every ticket this staff member may open in the console."""
    if membership.role not in permissions.CASE_ROLES:
        raise PermissionDenied("role without access to tickets")
    tickets = Ticket.objects.filter(institution_id=membership.institution_id)
    if membership.role == Role.RESPONDER:
        # A Type 2 ticket is not the area's until the triage confirms it.
        tickets = tickets.filter(area_id__in=permissions.area_ids(membership)).exclude(
            triage_status=TriageStatus.PENDING)
    return tickets


# The PostgreSQL text search configuration and generated column of migration
# tickets/0007 (Spanish stemming, accent-insensitive when ``unaccent`` is installed).
SEARCH_CONFIG = "ventanilla_es"
SEARCH_WORDS = 8


def _search_words(query: str) -> list[str]:
    # Only word characters reach the tsquery: punctuation would be tsquery syntax.
    return re.findall(r"\w+", query)[:SEARCH_WORDS]


def _text_condition(query: str) -> Q | None:
    """Every word in the name, subject or detail; the last one may be the start of a word
    (people type names). PostgreSQL: full-text search on ``search_vector`` (GIN index).
    SQLite, the embedded database: ``icontains`` on each word (small installations)."""
    if connection.vendor == "postgresql":
        words = _search_words(query)
        if not words:
            return None
        terms = [f"'{word}'" for word in words[:-1]] + [f"'{words[-1]}':*"]
        matches = RawSQL(  # noqa: S611 - constant SQL; the words go in as a parameter
            f'"tickets_ticket"."search_vector" @@ to_tsquery(\'{SEARCH_CONFIG}\', %s)',
            [" & ".join(terms)], output_field=BooleanField())
        return Q(matches)
    words = query.split()[:SEARCH_WORDS]
    if not words:
        return None
    text = Q()
    for word in words:
        text &= Q(contact_name__icontains=word) | Q(subject__icontains=word) | Q(
            detail__icontains=word
        )
    return text


def _search_condition(query: str) -> Q:
    """Folio (exact, case-insensitive), RUT (any format), or words in name, subject, detail."""
    query = query.strip()
    condition = Q(folio__iexact=query)  # served by the UPPER(folio) index
    with suppress(ValidationError):  # not a RUT, so it is a text search
        condition |= Q(contact_rut=rut_normalize(query))
    text = _text_condition(query)
    if text is not None:
        condition |= text
    return condition


def ticket_inbox(*, membership: Membership, filters: InboxFilters) -> QuerySet[Ticket]:
    tickets = ticket_visible_to(membership=membership)
    if filters.status == "open":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif filters.status:
        tickets = tickets.filter(status=filters.status)
    if filters.ticket_type:
        tickets = tickets.filter(ticket_type_id=filters.ticket_type)
    if filters.topic:
        tickets = tickets.filter(Q(topic_id=filters.topic) | Q(topic__parent_id=filters.topic))
    if filters.area == 0:
        tickets = tickets.filter(area__isnull=True)
    elif filters.area:
        tickets = tickets.filter(area_id=filters.area)
    if filters.channel:
        tickets = tickets.filter(channel_id=filters.channel)
    if filters.region:
        tickets = tickets.filter(region_id=filters.region)
    if filters.overdue:
        now = timezone.now()
        tickets = tickets.filter(
            Q(next_due_at__lt=now) | Q(due_at__lt=now),
            status__in=OPEN_STATUSES, paused_at__isnull=True,
        )
    if filters.sla:
        tickets = sla_filter(tickets, filters.sla)
    if filters.query.strip():
        tickets = tickets.filter(_search_condition(filters.query))
    # Only what the inbox shows. Three joins keep PostgreSQL's planning under a millisecond
    # (eight took 40 to 100 ms at millions of rows, for 0.5 ms of execution); the page's topics
    # and their programs come in two small queries instead.
    return tickets.select_related("ticket_type", "channel", "area").prefetch_related(
        "topic__parent").order_by("-received_at", "-id")


def ticket_page(
    tickets: QuerySet[Ticket], *, page: int, per_page: int = 25
) -> tuple[list[Ticket], bool]:
    """One page without COUNT(*) (which is slow on millions of rows): fetch one extra row to
    know whether a next page exists."""
    page = max(page, 1)
    offset = (page - 1) * per_page
    rows = list(tickets[offset : offset + per_page + 1])
    return rows[:per_page], len(rows) > per_page


def ticket_detail_for_staff(*, user, folio: str) -> Ticket:
    ticket = (
        Ticket.objects.select_related(
            "institution", "ticket_type", "topic", "topic__parent", "channel", "requester_type",
            "organization", "region", "comuna", "area", "assignee", "citizen",
        ).filter(folio__iexact=folio.strip()).first()
    )
    if ticket is None:
        raise Ticket.DoesNotExist
    permissions.require(user, "view", ticket)
    return ticket


def ticket_timeline(*, ticket: Ticket, public_only: bool) -> list[TicketEvent]:
    events = TicketEvent.objects.filter(ticket=ticket).select_related("actor").prefetch_related(
        "attachments"
    )
    if public_only:
        events = events.filter(is_public=True)
    return list(events.order_by("created_at", "id"))


def ticket_for_tracking(*, folio: str, email: str) -> Ticket | None:
    """The ticket only if folio and e-mail match; None otherwise, without saying which of
    the two was wrong (tracking must not reveal whether a folio exists)."""
    folio = (folio or "").strip().upper()
    email = (email or "").strip().lower()
    if not folio or not email:
        return None
    return (
        Ticket.objects.select_related("institution", "ticket_type", "topic", "topic__parent",
                                      "channel", "area")
        .filter(folio=folio, contact_email=email)
        .first()
    )


def ticket_list_for_citizen(*, user) -> QuerySet[Ticket]:
    """A registered person's requests: those filed while logged in, and those filed with
    their verified e-mail. Not every ticket of the person record: that record may have been
    matched by a RUT or phone someone else typed."""
    if not user.is_authenticated:
        return Ticket.objects.none()
    condition = Q(filed_by=user)
    if user.email_verified_at:
        condition |= Q(contact_email=user.email.lower())
    return (
        Ticket.objects.filter(condition)
        .select_related("institution", "ticket_type", "topic")
        .order_by("-received_at")
    )


def citizen_ticket_history(*, membership: Membership, ticket: Ticket) -> list[Ticket]:
    """The same person's other tickets in this institution, for staff context."""
    return list(
        ticket_visible_to(membership=membership)
        .filter(citizen_id=ticket.citizen_id)
        .exclude(pk=ticket.pk)
        .select_related("ticket_type")
        .order_by("-received_at")[:20]
    )


def attachment_get(*, ticket: Ticket, attachment_id: int) -> Attachment:
    return Attachment.objects.get(ticket=ticket, pk=attachment_id)
