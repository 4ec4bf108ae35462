"""Reopening: by staff with a reason, and by the citizen's reply within the window."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import channel, mark_queued_messages_sent, open_ticket
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import EventKind, ResponseStage, Status, Ticket
from ventanilla.tickets.services import (
    answer_draft,
    answer_send,
    ticket_add_citizen_message,
    ticket_change_status,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def triage(catalog):
    return staff(catalog["institution"], Role.TRIAGE)


def closed_ticket(catalog, actor, **overrides):
    ticket = open_ticket(catalog, **overrides)
    answer = answer_draft(ticket=ticket, actor=actor, stage="final", body="Respuesta final")
    answer_send(answer=answer, actor=actor)
    mark_queued_messages_sent(ticket)  # the closing message went out (no commit in tests)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.stage == ResponseStage.DONE
    return ticket


def reopened_messages(ticket):
    return OutboundMessage.objects.filter(ticket=ticket, dedupe_key__contains="-reopened-")


def test_staff_reopens_with_reason_and_the_citizen_is_told(
        catalog, triage, mailoutbox, django_capture_on_commit_callbacks):
    ticket = closed_ticket(catalog, triage)
    final_answered_at = ticket.final_answered_at
    with pytest.raises(ValidationError):
        ticket_change_status(ticket=ticket, actor=triage, to_status=Status.IN_PROGRESS)
    assert not reopened_messages(ticket).exists()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, actor=triage, to_status=Status.IN_PROGRESS,
                             reason="La persona llamó: la colación sigue sin llegar")
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.closed_at is None
    assert ticket.stage == ResponseStage.FINAL
    # The final deadline is still ahead: it stays; the first final answer is kept.
    assert ticket.next_due_at == ticket.due_at
    assert ticket.at_risk_at is not None and ticket.at_risk_at < ticket.due_at
    assert ticket.final_answered_at == final_answered_at
    assert len(mailoutbox) == 1 and "Reabrimos" in mailoutbox[0].subject
    assert "para seguir atendiéndolo" in mailoutbox[0].body
    event = ticket.events.filter(kind=EventKind.STATUS_CHANGED).last()
    assert event.actor == triage and event.body.startswith("La persona llamó")
    # A new final answer can be drafted and sent; it closes the ticket again.
    answer = answer_draft(ticket=ticket, actor=triage, stage="final", body="Segunda respuesta")
    answer_send(answer=answer, actor=triage)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.final_answered_at == final_answered_at


def test_reopening_after_the_deadline_gives_a_fresh_span(catalog, triage):
    received = timezone.now() - timedelta(hours=100)
    ticket = closed_ticket(catalog, triage, received_at=received)
    span = ticket.due_at - ticket.received_at
    due_at = ticket.due_at
    assert due_at < timezone.now()
    before = timezone.now()
    ticket_change_status(ticket=ticket, actor=triage, to_status=Status.IN_PROGRESS,
                         reason="Reclamo insistente")
    after = timezone.now()
    ticket.refresh_from_db()
    assert ticket.due_at == due_at  # compliance keeps the original deadline
    assert before + span <= ticket.next_due_at <= after + span
    assert ticket.at_risk_at == ticket.next_due_at - span * 0.25


def test_citizen_reply_within_window_reopens(catalog, triage, mailoutbox,
                                             django_capture_on_commit_callbacks):
    ticket = closed_ticket(catalog, triage)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_add_citizen_message(ticket=ticket, body="Sigue sin llegar", channel=channel("web"))
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS and ticket.stage == ResponseStage.FINAL
    assert ticket.closed_at is None
    event = ticket.events.filter(kind=EventKind.STATUS_CHANGED).last()
    assert (event.from_status, event.to_status) == (Status.CLOSED, Status.IN_PROGRESS)
    assert event.body == "La persona respondió después del cierre"
    assert event.actor is None and event.is_public
    assert len(mailoutbox) == 1 and "Recibimos su mensaje" in mailoutbox[0].body


@pytest.mark.parametrize("days_ago, reopens", [(29, True), (31, False)])
def test_reopen_window(catalog, triage, settings, days_ago, reopens):
    settings.TICKET_REOPEN_WINDOW_DAYS = 30
    ticket = closed_ticket(catalog, triage)
    Ticket.objects.filter(pk=ticket.pk).update(
        closed_at=timezone.now() - timedelta(days=days_ago))
    ticket_add_citizen_message(ticket=ticket, body="Hola de nuevo", channel=channel("email"))
    ticket.refresh_from_db()
    assert ticket.events.filter(kind=EventKind.CITIZEN_MESSAGE).count() == 1
    if reopens:
        assert ticket.status == Status.IN_PROGRESS and ticket.stage == ResponseStage.FINAL
        assert reopened_messages(ticket).count() == 1
    else:
        assert ticket.status == Status.CLOSED and ticket.stage == ResponseStage.DONE
        assert not reopened_messages(ticket).exists()
        assert not ticket.events.filter(kind=EventKind.STATUS_CHANGED,
                                        to_status=Status.IN_PROGRESS).exists()


def test_window_comes_from_settings(catalog, triage, settings):
    settings.TICKET_REOPEN_WINDOW_DAYS = 0
    ticket = closed_ticket(catalog, triage)
    ticket_add_citizen_message(ticket=ticket, body="Gracias", channel=channel("web"))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_merged_ticket_is_not_reopened_by_a_reply(catalog, triage):
    target = open_ticket(catalog)
    ticket = closed_ticket(catalog, triage)
    Ticket.objects.filter(pk=ticket.pk).update(merged_into=target)
    ticket_add_citizen_message(ticket=ticket, body="¿Y?", channel=channel("web"))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED


def test_waiting_citizen_reply_still_resumes(catalog, triage):
    ticket = open_ticket(catalog)
    ticket_change_status(ticket=ticket, actor=triage, to_status=Status.WAITING_CITIZEN)
    ticket_add_citizen_message(ticket=ticket, body="Aquí está", channel=channel("web"))
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert not reopened_messages(ticket).exists()
