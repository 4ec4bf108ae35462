from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import open_ticket
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.core.models import AuditEvent
from ventanilla.tickets.models import EventKind, Status, Ticket, TicketEvent
from ventanilla.tickets.services import ALLOWED_TRANSITIONS, ticket_change_status

pytestmark = pytest.mark.django_db

ALLOWED = {
    (Status.NEW, Status.IN_PROGRESS), (Status.NEW, Status.WAITING_CITIZEN),
    (Status.NEW, Status.CLOSED),
    (Status.IN_PROGRESS, Status.WAITING_CITIZEN), (Status.IN_PROGRESS, Status.CLOSED),
    (Status.WAITING_CITIZEN, Status.IN_PROGRESS), (Status.WAITING_CITIZEN, Status.CLOSED),
    (Status.CLOSED, Status.IN_PROGRESS),
}
ALL_PAIRS = [(a, b) for a in Status.values for b in Status.values if a != b]


def _ticket_in(catalog, status):
    ticket = open_ticket(catalog)
    # put the ticket in the starting state directly: the path to it is not under test
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status,
        paused_at=timezone.now() if status == Status.WAITING_CITIZEN else None,
    )
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def supervisor(catalog):
    return staff(catalog["institution"], Role.SUPERVISOR)


def test_table_matches_the_documented_transitions():
    declared = {(a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets}
    assert declared == ALLOWED


@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED))
def test_allowed_transition(catalog, supervisor, from_status, to_status):
    ticket = _ticket_in(catalog, from_status)
    events_before = ticket.events.count()
    result = ticket_change_status(ticket=ticket, actor=supervisor, to_status=to_status,
                                  reason="Se reabre por nueva información.")
    ticket.refresh_from_db()
    assert ticket.status == to_status == result.status
    # One status event; entering or leaving "waiting on the citizen" also pauses or resumes
    # the deadline clock, which the SLA records as an internal event of its own.
    sla_kinds = {EventKind.SLA_PAUSED, EventKind.SLA_RESUMED}
    assert ticket.events.exclude(kind__in=sla_kinds).count() == events_before + 1
    expected_sla = {Status.WAITING_CITIZEN: EventKind.SLA_PAUSED}.get(to_status) or (
        EventKind.SLA_RESUMED if from_status == Status.WAITING_CITIZEN else None)
    assert set(ticket.events.filter(kind__in=sla_kinds).values_list("kind", flat=True)) == (
        {expected_sla} if expected_sla else set())
    event = ticket.events.filter(kind=EventKind.STATUS_CHANGED).get()
    assert (event.from_status, event.to_status) == (from_status, to_status)
    assert event.actor == supervisor
    assert event.is_public is True
    audit = AuditEvent.objects.get(action="ticket.status_changed", object_id=str(ticket.pk))
    assert audit.data == {"from": from_status, "to": to_status}
    assert audit.actor == supervisor
    assert audit.institution == catalog["institution"]
    assert audit.object_type == "tickets.ticket"


@pytest.mark.parametrize(("from_status", "to_status"),
                         sorted(set(ALL_PAIRS) - ALLOWED))
def test_forbidden_transition(catalog, supervisor, from_status, to_status):
    ticket = _ticket_in(catalog, from_status)
    with pytest.raises(ValidationError) as exc_info:
        ticket_change_status(ticket=ticket, actor=supervisor, to_status=to_status,
                             reason="motivo")
    assert "status" in exc_info.value.message_dict
    assert "No se puede pasar" in exc_info.value.message_dict["status"][0]
    ticket.refresh_from_db()
    assert ticket.status == from_status
    assert not ticket.events.filter(kind=EventKind.STATUS_CHANGED).exists()
    assert not AuditEvent.objects.exists()


def test_unknown_status_rejected(catalog, supervisor):
    ticket = open_ticket(catalog)
    with pytest.raises(ValidationError) as exc_info:
        ticket_change_status(ticket=ticket, actor=supervisor, to_status="archived")
    assert "status" in exc_info.value.message_dict


def test_same_status_is_a_no_op(catalog, supervisor):
    ticket = open_ticket(catalog)
    ticket_change_status(ticket=ticket, actor=supervisor, to_status=Status.NEW)
    assert ticket.events.count() == 1
    assert not AuditEvent.objects.exists()


def test_closing_sets_closed_at_and_reopening_clears_it(catalog, supervisor):
    ticket = open_ticket(catalog)
    ticket = ticket_change_status(ticket=ticket, actor=supervisor, to_status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.closed_at is not None
    assert not ticket.is_open

    ticket = ticket_change_status(ticket=ticket, actor=supervisor, to_status=Status.IN_PROGRESS,
                                  reason="  La persona aportó antecedentes nuevos.  ")
    ticket.refresh_from_db()
    assert ticket.closed_at is None
    assert ticket.status == Status.IN_PROGRESS
    reopen = ticket.events.filter(kind=EventKind.STATUS_CHANGED).last()
    assert reopen.body == "La persona aportó antecedentes nuevos."


@pytest.mark.parametrize("reason", ["", "   "])
def test_reopening_requires_a_reason(catalog, supervisor, reason):
    ticket = _ticket_in(catalog, Status.CLOSED)
    with pytest.raises(ValidationError) as exc_info:
        ticket_change_status(ticket=ticket, actor=supervisor, to_status=Status.IN_PROGRESS,
                             reason=reason)
    assert "reason" in exc_info.value.message_dict
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert not AuditEvent.objects.exists()


def test_event_and_audit_written_in_the_same_transaction(catalog, supervisor):
    ticket = open_ticket(catalog)
    with mock.patch("ventanilla.tickets.services.lifecycle.audit_record",
                    side_effect=RuntimeError("audit down")), pytest.raises(RuntimeError):
        ticket_change_status(ticket=ticket, actor=supervisor, to_status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert ticket.closed_at is None
    assert not TicketEvent.objects.filter(kind=EventKind.STATUS_CHANGED).exists()


def test_stale_instance_does_not_override_current_status(catalog, supervisor):
    ticket = open_ticket(catalog)
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket_change_status(ticket=ticket, actor=supervisor, to_status=Status.CLOSED)
    # the stale copy still says NEW; the service reads the locked row, so CLOSED → NEW
    # is refused instead of silently applied
    with pytest.raises(ValidationError):
        ticket_change_status(ticket=stale, actor=supervisor, to_status=Status.WAITING_CITIZEN)
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED
