"""The role-by-action matrix of tickets/permissions.py, exercised through the services."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from tests.factories import AreaFactory, UserFactory, open_ticket
from tests.tickets.helpers import confirmed, staff
from ventanilla.accounts.models import Role
from ventanilla.core.models import AuditEvent
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets import permissions
from ventanilla.tickets.models import Status, Ticket, TicketEvent
from ventanilla.tickets.selectors import ticket_detail_for_staff
from ventanilla.tickets.services import (
    ticket_add_note,
    ticket_change_area,
    ticket_change_status,
    ticket_reply,
)

pytestmark = pytest.mark.django_db

ACTIONS = ["view", "add_note", "reply", "change_status", "change_area"]
ALL = set(ACTIONS)

# who → what they may do on a ticket of the institution, in the responder's area
EXPECTED = {
    "operator": {"view", "add_note"},
    "triage": ALL,
    "responder_in_area": {"view", "add_note", "reply", "change_status"},
    "responder_out_of_area": set(),
    "supervisor": ALL,
    "sysadmin": ALL,
    "auditor": set(),
    "other_institution": set(),
    "inactive_membership": set(),
    "inactive_user": set(),
    "anonymous": set(),
    "nobody": set(),
    "superuser_without_membership": set(),
}


def _actor(kind, catalog, other_catalog):
    institution = catalog["institution"]
    if kind == "responder_in_area":
        return staff(institution, Role.RESPONDER, areas=[catalog["area"]])
    if kind == "responder_out_of_area":
        return staff(institution, Role.RESPONDER,
                     areas=[AreaFactory(institution=institution, name="Otra área")])
    if kind == "other_institution":
        return staff(other_catalog["institution"], Role.SUPERVISOR)
    if kind == "inactive_membership":
        return staff(institution, Role.SUPERVISOR, is_active=False)
    if kind == "inactive_user":
        return staff(institution, Role.SUPERVISOR, user=UserFactory(is_active=False))
    if kind == "anonymous":
        return AnonymousUser()
    if kind == "nobody":
        return None
    if kind == "superuser_without_membership":
        return UserFactory(is_superuser=True, is_staff=True)
    return staff(institution, Role(kind))


def _perform(action, ticket, actor, catalog):
    if action == "view":
        return ticket_detail_for_staff(user=actor, folio=ticket.folio)
    if action == "add_note":
        return ticket_add_note(ticket=ticket, actor=actor, body="Nota")
    if action == "reply":
        return ticket_reply(ticket=ticket, actor=actor, body="Respuesta")
    if action == "change_status":
        return ticket_change_status(ticket=ticket, actor=actor, to_status=Status.WAITING_CITIZEN)
    if action == "change_area":
        becas = AreaFactory(institution=catalog["institution"], name="Becas")
        return ticket_change_area(ticket=ticket, actor=actor, area=becas)
    raise AssertionError(action)


def _snapshot(ticket):
    row = Ticket.objects.values("status", "area_id", "first_answered_at", "closed_at").get(
        pk=ticket.pk)
    return (row, TicketEvent.objects.count(), AuditEvent.objects.count(),
            OutboundMessage.objects.count())


CASES = [(kind, action) for kind in EXPECTED for action in ACTIONS]


@pytest.mark.parametrize(("kind", "action"), CASES)
def test_matrix(catalog, other_catalog, kind, action):
    ticket = confirmed(open_ticket(catalog))
    actor = _actor(kind, catalog, other_catalog)
    allowed = action in EXPECTED[kind]
    assert permissions.can(actor, action, ticket) is allowed
    before = _snapshot(ticket)
    if allowed:
        _perform(action, ticket, actor, catalog)
        if action != "view":
            assert _snapshot(ticket) != before
    else:
        with pytest.raises(PermissionDenied):
            _perform(action, ticket, actor, catalog)
        assert _snapshot(ticket) == before


def test_responder_has_no_access_to_ticket_without_area(catalog):
    ticket = confirmed(open_ticket(catalog))
    Ticket.objects.filter(pk=ticket.pk).update(area=None)
    ticket.refresh_from_db()
    responder = staff(catalog["institution"], Role.RESPONDER, areas=[catalog["area"]])
    assert not permissions.can(responder, "view", ticket)
    with pytest.raises(PermissionDenied):
        ticket_add_note(ticket=ticket, actor=responder, body="x")


def test_permission_follows_the_row_not_the_stale_instance(catalog):
    """A responder may not act on a ticket derived away from their area, even when the
    caller still holds an instance loaded before the derivation."""
    ticket = confirmed(open_ticket(catalog))
    responder = staff(catalog["institution"], Role.RESPONDER, areas=[catalog["area"]])
    triage = staff(catalog["institution"], Role.TRIAGE)
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket_change_area(ticket=ticket, actor=triage,
                       area=AreaFactory(institution=catalog["institution"], name="Becas"))
    with pytest.raises(PermissionDenied):
        ticket_reply(ticket=stale, actor=responder, body="Respuesta")
    assert not TicketEvent.objects.filter(kind="reply").exists()


def test_responder_has_no_access_while_triage_is_pending(catalog):
    ticket = open_ticket(catalog)
    assert ticket.triage_status == "pending"
    responder = staff(catalog["institution"], Role.RESPONDER, areas=[catalog["area"]])
    for action in ACTIONS:
        assert not permissions.can(responder, action, ticket)
    with pytest.raises(PermissionDenied):
        ticket_detail_for_staff(user=responder, folio=ticket.folio)
    assert permissions.can(responder, "view", confirmed(ticket))


def test_every_role_is_in_the_matrix():
    assert set(permissions.ACTIONS_BY_ROLE) == set(Role.values)
    assert Role.AUDITOR not in permissions.CASE_ROLES
