"""Triage services: confirm, correct, bulk; permissions per role; responder visibility."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import AreaFactory, open_ticket
from ventanilla.accounts.models import Membership, Role
from ventanilla.core.models import AuditEvent
from ventanilla.routing.services import triage_confirm, triage_confirm_bulk, triage_correct
from ventanilla.tickets import permissions
from ventanilla.tickets.models import EventKind, Ticket, TicketEvent, TriageStatus
from ventanilla.tickets.selectors import ticket_visible_to
from ventanilla.tickets.services import ticket_change_area

pytestmark = pytest.mark.django_db

TRIAGERS = [Role.TRIAGE, Role.SUPERVISOR, Role.SYSADMIN]
NON_TRIAGERS = [Role.OPERATOR, Role.RESPONDER, Role.AUDITOR]


@pytest.fixture
def becas(catalog):
    return AreaFactory(institution=catalog["institution"], name="Becas")


def _state(ticket):
    return (Ticket.objects.values("triage_status", "area_id").get(pk=ticket.pk),
            TicketEvent.objects.filter(ticket=ticket).count(), AuditEvent.objects.count())


@pytest.mark.parametrize("role", TRIAGERS)
def test_confirm(catalog, staff, role):
    ticket = open_ticket(catalog)
    actor = staff(role)
    result = triage_confirm(ticket=ticket, actor=actor)
    ticket.refresh_from_db()
    assert result.triage_status == ticket.triage_status == TriageStatus.CONFIRMED
    assert ticket.triage_confirmed_by == actor and ticket.triage_confirmed_at is not None
    event = ticket.events.get(kind=EventKind.TRIAGE_CONFIRMED)
    assert not event.is_public and event.actor == actor
    assert event.data["area_id"] == catalog["area"].pk
    assert AuditEvent.objects.filter(action="ticket.triage_confirmed",
                                     object_id=str(ticket.pk)).count() == 1


@pytest.mark.parametrize("role", NON_TRIAGERS)
def test_confirm_refused_to_other_roles(catalog, staff, role):
    ticket = open_ticket(catalog)
    actor = staff(role, areas=[catalog["area"]])
    before = _state(ticket)
    with pytest.raises(PermissionDenied):
        triage_confirm(ticket=ticket, actor=actor)
    with pytest.raises(PermissionDenied):
        triage_correct(ticket=ticket, actor=actor, area=catalog["area"], reason="x")
    with pytest.raises(PermissionDenied):
        triage_confirm_bulk(tickets=[ticket], actor=actor)
    assert _state(ticket) == before


def test_confirm_refused_to_another_institutions_staff(catalog, other_catalog, staff):
    ticket = open_ticket(catalog)
    with pytest.raises(PermissionDenied):
        triage_confirm(ticket=ticket,
                       actor=staff(Role.TRIAGE, institution=other_catalog["institution"]))


def test_confirm_is_idempotent(catalog, staff):
    ticket = open_ticket(catalog)
    first, second = staff(), staff()
    triage_confirm(ticket=ticket, actor=first)
    before = _state(ticket)
    triage_confirm(ticket=ticket, actor=second)
    assert _state(ticket) == before
    ticket.refresh_from_db()
    assert ticket.triage_confirmed_by == first


def test_confirm_needs_an_area(catalog, staff):
    ticket = open_ticket(catalog)
    Ticket.objects.filter(pk=ticket.pk).update(area=None)
    with pytest.raises(ValidationError) as error:
        triage_confirm(ticket=ticket, actor=staff())
    assert "area" in error.value.message_dict
    ticket.refresh_from_db()
    assert ticket.triage_status == TriageStatus.PENDING


def test_type1_ticket_is_never_pending(catalog, staff):
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    triage_confirm(ticket=ticket, actor=staff())
    ticket.refresh_from_db()
    assert ticket.triage_status == TriageStatus.NOT_REQUIRED
    assert not ticket.events.filter(kind=EventKind.TRIAGE_CONFIRMED).exists()


def test_correct_derives_and_confirms_in_one_step(catalog, staff, becas):
    ticket = open_ticket(catalog)
    actor = staff()
    triage_correct(ticket=ticket, actor=actor, area=becas, reason="Es una beca")
    ticket.refresh_from_db()
    assert ticket.area == becas and ticket.triage_status == TriageStatus.CONFIRMED
    kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-2:] == [EventKind.AREA_CHANGED, EventKind.TRIAGE_CONFIRMED]
    moved = ticket.events.get(kind=EventKind.AREA_CHANGED)
    assert moved.body == "Es una beca" and moved.data["to_area"] == "Becas"
    assert moved.actor == actor


@pytest.mark.parametrize(("area", "reason", "field"), [
    (None, "motivo", "area"),
    ("becas", "   ", "reason"),
])
def test_correct_requires_area_and_reason(catalog, staff, becas, area, reason, field):
    ticket = open_ticket(catalog)
    before = _state(ticket)
    with pytest.raises(ValidationError) as error:
        triage_correct(ticket=ticket, actor=staff(), area=becas if area else None,
                       reason=reason)
    assert field in error.value.message_dict
    assert _state(ticket) == before


def test_correct_to_another_institutions_area_changes_nothing(catalog, other_catalog, staff):
    ticket = open_ticket(catalog)
    before = _state(ticket)
    with pytest.raises(ValidationError):
        triage_correct(ticket=ticket, actor=staff(), area=other_catalog["area"], reason="x")
    assert _state(ticket) == before


def test_correct_on_a_confirmed_ticket_is_a_derivation(catalog, staff, becas):
    ticket = open_ticket(catalog)
    first = staff()
    triage_confirm(ticket=ticket, actor=first)
    triage_correct(ticket=ticket, actor=staff(), area=becas, reason="Mejor becas")
    ticket.refresh_from_db()
    assert ticket.area == becas and ticket.triage_confirmed_by == first
    assert ticket.events.filter(kind=EventKind.TRIAGE_CONFIRMED).count() == 1


def test_bulk_confirm_counts_only_pending(catalog, staff):
    tickets = [open_ticket(catalog) for _ in range(4)]
    actor = staff()
    triage_confirm(ticket=tickets[0], actor=actor)
    closed_type1 = open_ticket(catalog, ticket_type=catalog["suggestion"])
    no_area = tickets[3]
    Ticket.objects.filter(pk=no_area.pk).update(area=None)
    assert triage_confirm_bulk(tickets=[*tickets, closed_type1], actor=actor) == 2
    states = dict(Ticket.objects.values_list("pk", "triage_status"))
    assert states[tickets[1].pk] == states[tickets[2].pk] == TriageStatus.CONFIRMED
    assert states[no_area.pk] == TriageStatus.PENDING
    assert triage_confirm_bulk(tickets=tickets, actor=actor) == 0


# --- responder visibility ----------------------------------------------------------------------

def test_responder_sees_the_ticket_only_after_confirmation(catalog, staff):
    ticket = open_ticket(catalog)
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    membership = Membership.objects.get(user=responder)
    assert not permissions.can(responder, "view", ticket)
    assert list(ticket_visible_to(membership=membership)) == []
    triage_confirm(ticket=ticket, actor=staff())
    ticket.refresh_from_db()
    responder = type(responder).objects.get(pk=responder.pk)  # fresh membership cache
    assert permissions.can(responder, "view", ticket)
    assert list(ticket_visible_to(membership=membership)) == [ticket]


def test_responder_of_the_corrected_area_sees_it(catalog, staff, becas):
    ticket = open_ticket(catalog)
    responder = staff(Role.RESPONDER, areas=[becas])
    triage_correct(ticket=ticket, actor=staff(), area=becas, reason="Becas")
    ticket.refresh_from_db()
    assert permissions.can(responder, "reply", ticket)


def test_type1_tickets_are_visible_to_the_area_at_once(catalog, staff):
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    assert permissions.can(responder, "view", ticket)


def test_derivation_later_still_works_and_is_on_the_timeline(catalog, staff, becas):
    ticket = open_ticket(catalog)
    triage_confirm(ticket=ticket, actor=staff())
    ticket_change_area(ticket=ticket, actor=staff(), area=becas, reason="Otra área")
    ticket.refresh_from_db()
    assert ticket.area == becas and ticket.triage_status == TriageStatus.CONFIRMED
    assert ticket.events.filter(kind=EventKind.AREA_CHANGED, body="Otra área").exists()
