"""Reads of the public API, scoped to the caller (an API key or a staff member)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from ventanilla.accounts.models import Membership
from ventanilla.api.models import ApiKey
from ventanilla.catalog.models import Institution
from ventanilla.tickets import permissions
from ventanilla.tickets.models import Ticket
from ventanilla.tickets.selectors import ticket_detail_for_staff, ticket_visible_to

TICKET_RELATED = ("institution", "ticket_type", "topic", "channel", "region", "comuna", "area",
                  "assignee", "requester_type", "organization")


def staff_memberships(user) -> list[Membership]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return list(Membership.objects.filter(user=user, is_active=True,
                                          role__in=permissions.CASE_ROLES)
                .select_related("institution").order_by("pk"))


def staff_membership(user, institution_slug: str = "") -> Membership | None:
    """The membership the request acts in: the named institution's, else the first one."""
    memberships = staff_memberships(user)
    if institution_slug:
        memberships = [m for m in memberships if m.institution.slug == institution_slug]
    return memberships[0] if memberships else None


def ticket_list_for_key(*, api_key: ApiKey) -> QuerySet[Ticket]:
    return Ticket.objects.filter(institution_id=api_key.institution_id)


def ticket_list_for_staff(*, membership: Membership) -> QuerySet[Ticket]:
    return ticket_visible_to(membership=membership)


def ticket_filter(tickets: QuerySet[Ticket], *, status="", ticket_type=None, topic=None,
                  area=None, channel="", region="", received_after=None,
                  received_before=None) -> QuerySet[Ticket]:
    if status:
        tickets = tickets.filter(status=status)
    if ticket_type:
        tickets = tickets.filter(ticket_type_id=ticket_type)
    if topic:
        tickets = tickets.filter(Q(topic_id=topic) | Q(topic__parent_id=topic))
    if area:
        tickets = tickets.filter(area_id=area)
    if channel:
        tickets = tickets.filter(channel__code=channel)
    if region:
        tickets = tickets.filter(region_id=region)
    if received_after:
        tickets = tickets.filter(received_at__gte=received_after)
    if received_before:
        tickets = tickets.filter(received_at__lt=received_before)
    return tickets.select_related(*TICKET_RELATED)


def ticket_get_for_key(*, api_key: ApiKey, folio: str) -> Ticket:
    ticket = (Ticket.objects.select_related(*TICKET_RELATED)
              .filter(institution_id=api_key.institution_id, folio__iexact=folio.strip()).first())
    if ticket is None:
        raise Ticket.DoesNotExist
    return ticket


def ticket_get_for_staff(*, user, folio: str) -> Ticket:
    """Another institution's ticket, or one the role may not see, is "not found"."""
    try:
        return ticket_detail_for_staff(user=user, folio=folio)
    except PermissionDenied:
        raise Ticket.DoesNotExist from None


def institution_by_slug(slug: str) -> Institution | None:
    return Institution.objects.filter(slug=slug, is_active=True).first() if slug else None
