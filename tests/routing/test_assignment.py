"""Assignment inside an area: round robin, least open work, by hand; derivations."""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from tests.factories import AreaFactory, MembershipFactory, UserFactory, make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.catalog.models import Area, AssignmentPolicy
from ventanilla.core.models import AuditEvent
from ventanilla.routing.services import (
    assignment_auto,
    ticket_assign,
    ticket_take,
    triage_confirm,
)
from ventanilla.tickets.models import EventKind, Status, Ticket, TriageStatus
from ventanilla.tickets.services import ticket_change_area, ticket_change_status

pytestmark = pytest.mark.django_db


def set_policy(area, policy):
    Area.objects.filter(pk=area.pk).update(assignment_policy=policy)
    area.refresh_from_db()


def members(staff, area, count):
    """``count`` responders of the area, ordered by user id."""
    return sorted((staff(Role.RESPONDER, areas=[area]) for _ in range(count)),
                  key=lambda u: u.pk)


def confirmed_ticket(catalog, triage, **overrides):
    ticket = open_ticket(catalog, **overrides)
    triage_confirm(ticket=ticket, actor=triage)
    ticket.refresh_from_db()
    return ticket


def test_manual_area_assigns_nobody(catalog, staff):
    members(staff, catalog["area"], 2)
    ticket = confirmed_ticket(catalog, staff())
    assert ticket.assignee is None
    assert not ticket.events.filter(kind=EventKind.ASSIGNED).exists()


def test_nothing_is_assigned_while_triage_is_pending(catalog, staff):
    set_policy(catalog["area"], AssignmentPolicy.ROUND_ROBIN)
    members(staff, catalog["area"], 2)
    ticket = open_ticket(catalog)
    assert ticket.triage_status == TriageStatus.PENDING and ticket.assignee is None


def test_round_robin_in_id_order_with_wrap_around(catalog, staff):
    area = catalog["area"]
    set_policy(area, AssignmentPolicy.ROUND_ROBIN)
    a, b, c = members(staff, area, 3)
    triage = staff()
    got = [confirmed_ticket(catalog, triage).assignee for _ in range(5)]
    assert got == [a, b, c, a, b]
    area.refresh_from_db()
    assert area.last_assignee == b


def test_round_robin_skips_inactive_members_and_other_roles(catalog, staff):
    area = catalog["area"]
    set_policy(area, AssignmentPolicy.ROUND_ROBIN)
    a, b, c, d = members(staff, area, 4)
    b.memberships.update(is_active=False)
    type(c).objects.filter(pk=c.pk).update(is_active=False)
    staff(Role.OPERATOR, areas=[area])  # not a responder
    staff(Role.RESPONDER, areas=[AreaFactory(institution=catalog["institution"])])
    triage = staff()
    got = [confirmed_ticket(catalog, triage).assignee for _ in range(3)]
    assert got == [a, d, a]


def test_round_robin_continues_after_the_last_assignee_even_if_gone(catalog, staff):
    area = catalog["area"]
    set_policy(area, AssignmentPolicy.ROUND_ROBIN)
    _a, b, c = members(staff, area, 3)
    Area.objects.filter(pk=area.pk).update(last_assignee=b)
    b.memberships.update(is_active=False)
    assert confirmed_ticket(catalog, staff()).assignee == c


def test_round_robin_with_nobody_in_the_area(catalog, staff):
    set_policy(catalog["area"], AssignmentPolicy.ROUND_ROBIN)
    ticket = confirmed_ticket(catalog, staff())
    assert ticket.assignee is None


def test_least_open_picks_the_member_with_fewest_open_tickets(catalog, staff):
    area = catalog["area"]
    set_policy(area, AssignmentPolicy.LEAST_OPEN)
    a, b, c = members(staff, area, 3)
    triage = staff()
    # a has two open tickets, b one open and two closed, c one open
    for owner, status in [(a, "new"), (a, "new"), (b, "new"), (b, "closed"), (b, "closed"),
                          (c, "new")]:
        ticket = open_ticket(catalog)
        Ticket.objects.filter(pk=ticket.pk).update(assignee=owner, status=status)
    assert confirmed_ticket(catalog, triage).assignee == b  # tie b/c → lower id
    assert confirmed_ticket(catalog, triage).assignee == c
    assert confirmed_ticket(catalog, triage).assignee in {a, b, c}


def test_least_open_skips_inactive_members(catalog, staff):
    area = catalog["area"]
    set_policy(area, AssignmentPolicy.LEAST_OPEN)
    a, b = members(staff, area, 2)
    a.memberships.update(is_active=False)
    assert confirmed_ticket(catalog, staff()).assignee == b


def test_automatic_assignment_is_on_the_timeline(catalog, staff):
    set_policy(catalog["area"], AssignmentPolicy.ROUND_ROBIN)
    (a,) = members(staff, catalog["area"], 1)
    ticket = confirmed_ticket(catalog, staff())
    event = ticket.events.get(kind=EventKind.ASSIGNED)
    assert not event.is_public and event.actor is None
    assert event.data["assignee_id"] == a.pk and event.data["automatic"] is True
    assert AuditEvent.objects.filter(action="ticket.assigned", object_id=str(ticket.pk)).exists()


def test_auto_assignment_leaves_an_assigned_ticket_alone(catalog, staff):
    set_policy(catalog["area"], AssignmentPolicy.ROUND_ROBIN)
    a, _b = members(staff, catalog["area"], 2)
    ticket = confirmed_ticket(catalog, staff())
    assert assignment_auto(ticket=ticket) is None
    ticket.refresh_from_db()
    assert ticket.assignee == a


def test_intake_assigns_tickets_that_need_no_triage(catalog, staff, monkeypatch):
    """Type 1 tickets close on entry (nothing to assign); an open ticket without triage
    (a future workflow) is assigned by the intake."""
    set_policy(catalog["area"], AssignmentPolicy.ROUND_ROBIN)
    (a,) = members(staff, catalog["area"], 1)
    closed = open_ticket(catalog, ticket_type=catalog["suggestion"])
    assert closed.status == Status.CLOSED and closed.assignee is None
    from ventanilla.tickets.services import intake

    monkeypatch.setattr(intake, "workflow_prepare_open", lambda ticket: None)
    monkeypatch.setattr(intake, "workflow_on_open", lambda ticket: None)
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    assert ticket.is_open and ticket.triage_status == TriageStatus.NOT_REQUIRED
    assert ticket.assignee == a


def test_derivation_clears_the_assignee_and_assigns_in_the_new_area(catalog, staff):
    set_policy(catalog["area"], AssignmentPolicy.ROUND_ROBIN)
    members(staff, catalog["area"], 1)
    becas = AreaFactory(institution=catalog["institution"], name="Becas",
                        assignment_policy=AssignmentPolicy.ROUND_ROBIN)
    (in_becas,) = members(staff, becas, 1)
    triage = staff()
    ticket = confirmed_ticket(catalog, triage)
    assert ticket.assignee is not None
    ticket_change_area(ticket=ticket, actor=triage, area=becas, reason="Becas")
    ticket.refresh_from_db()
    assert ticket.assignee == in_becas


def test_derivation_to_a_manual_area_leaves_it_unassigned(catalog, staff):
    set_policy(catalog["area"], AssignmentPolicy.ROUND_ROBIN)
    members(staff, catalog["area"], 1)
    triage = staff()
    ticket = confirmed_ticket(catalog, triage)
    becas = AreaFactory(institution=catalog["institution"], name="Becas")
    ticket_change_area(ticket=ticket, actor=triage, area=becas, reason="Becas")
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_derivation_while_pending_assigns_nobody(catalog, staff):
    becas = AreaFactory(institution=catalog["institution"], name="Becas",
                        assignment_policy=AssignmentPolicy.ROUND_ROBIN)
    members(staff, becas, 1)
    ticket = open_ticket(catalog)
    ticket_change_area(ticket=ticket, actor=staff(), area=becas, reason="Becas")
    ticket.refresh_from_db()
    assert ticket.assignee is None and ticket.triage_status == TriageStatus.PENDING


# --- by hand -----------------------------------------------------------------------------------

def test_responder_takes_a_ticket_of_their_area(catalog, staff):
    ticket = confirmed_ticket(catalog, staff())
    (responder,) = members(staff, catalog["area"], 1)
    ticket_take(ticket=ticket, actor=responder)
    ticket.refresh_from_db()
    assert ticket.assignee == responder
    event = ticket.events.get(kind=EventKind.ASSIGNED)
    assert event.actor == responder and event.data["automatic"] is False
    ticket_take(ticket=ticket, actor=responder)  # again: nothing new
    assert ticket.events.filter(kind=EventKind.ASSIGNED).count() == 1


def test_take_refused_outside_the_area_pending_or_to_operators(catalog, staff):
    pending = open_ticket(catalog)
    (responder,) = members(staff, catalog["area"], 1)
    with pytest.raises(PermissionDenied):
        ticket_take(ticket=pending, actor=responder)
    ticket = confirmed_ticket(catalog, staff())
    outsider = staff(Role.RESPONDER, areas=[AreaFactory(institution=catalog["institution"])])
    for actor in (outsider, staff(Role.OPERATOR), staff(Role.AUDITOR)):
        with pytest.raises(PermissionDenied):
            ticket_take(ticket=ticket, actor=actor)
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_take_refused_on_a_closed_ticket(catalog, staff):
    triage = staff()
    ticket = confirmed_ticket(catalog, triage)
    ticket_change_status(ticket=ticket, actor=triage, to_status=Status.CLOSED)
    with pytest.raises(ValidationError):
        ticket_take(ticket=ticket, actor=triage)


@pytest.mark.parametrize("role", [Role.TRIAGE, Role.SUPERVISOR, Role.SYSADMIN])
def test_assign_to_a_member_of_the_area(catalog, staff, role):
    ticket = open_ticket(catalog)  # may be assigned even before the triage is confirmed
    (responder,) = members(staff, catalog["area"], 1)
    actor = staff(role)
    ticket_assign(ticket=ticket, actor=actor, assignee=responder)
    ticket.refresh_from_db()
    assert ticket.assignee == responder
    event = ticket.events.get(kind=EventKind.ASSIGNED)
    assert event.actor == actor and event.data["assignee_id"] == responder.pk
    ticket_assign(ticket=ticket, actor=actor, assignee=None)
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert ticket.events.filter(kind=EventKind.ASSIGNED).count() == 2


def test_assign_refused_to_non_members_and_other_roles(catalog, staff):
    ticket = confirmed_ticket(catalog, staff())
    (responder,) = members(staff, catalog["area"], 1)
    outsider = staff(Role.RESPONDER, areas=[AreaFactory(institution=catalog["institution"])])
    inactive = staff(Role.RESPONDER, areas=[catalog["area"]], is_active=False)
    for assignee in (outsider, inactive, staff(Role.SUPERVISOR)):
        with pytest.raises(ValidationError):
            ticket_assign(ticket=ticket, actor=staff(), assignee=assignee)
    for actor in (responder, staff(Role.OPERATOR)):
        with pytest.raises(PermissionDenied):
            ticket_assign(ticket=ticket, actor=actor, assignee=responder)
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


# --- concurrency -------------------------------------------------------------------------------

@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_round_robin_gives_different_assignees():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: needs row-level concurrency (DATABASE_URL=postgres://…)")
    catalog = make_catalog()
    area = catalog["area"]
    set_policy(area, AssignmentPolicy.ROUND_ROBIN)
    users = sorted((MembershipFactory(institution=catalog["institution"], role=Role.RESPONDER,
                                      areas=[area]).user for _ in range(2)), key=lambda u: u.pk)
    triage = MembershipFactory(institution=catalog["institution"], role=Role.TRIAGE).user
    tickets = [open_ticket(catalog) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def worker(ticket):
        try:
            actor = UserFactory._meta.model.objects.get(pk=triage.pk)
            barrier.wait()
            triage_confirm(ticket=ticket, actor=actor)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assignees = {Ticket.objects.get(pk=t.pk).assignee_id for t in tickets}
    assert assignees == {u.pk for u in users}
