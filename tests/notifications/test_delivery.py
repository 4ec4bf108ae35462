"""The outbox against a real SMTP server: persisted first, sent once, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tests.factories import MembershipFactory, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.notifications.services import (
    CLAIM_TIMEOUT,
    outbox_cancel,
    outbox_deliver,
    outbox_enqueue_email,
    outbox_replay,
    outbox_retry,
)
from ventanilla.tickets.services import ticket_reply

pytestmark = pytest.mark.django_db


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def make_overdue(message: OutboundMessage) -> None:
    """Simulate the passing of time: the retry (and the replay grace) are due."""
    OutboundMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )


def enqueue(key: str = "test-1", recipient: str = "juana@example.cl") -> OutboundMessage:
    return outbox_enqueue_email(
        dedupe_key=key, recipient=recipient, template="account_verify",
        context={"user": None, "verify_path": "/cuenta/verificar/abc/"},
    )


def test_opening_a_ticket_sends_one_acknowledgement(catalog, smtp_server,
                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(catalog, delivered=False, email="Juana@Example.cl")

    messages = smtp_server.messages
    assert len(messages) == 1
    assert ticket.folio in messages[0]["subject"]
    assert messages[0]["to"] == "juana@example.cl"
    assert messages[0]["Message-ID"].startswith("<outbox-")
    assert ticket.folio in body_of(messages[0])
    row = OutboundMessage.objects.get(ticket=ticket)
    assert (row.status, row.attempts, row.last_error) == (OutboundStatus.SENT, 1, "")
    assert row.sent_at is not None and row.claimed_at is None


def test_nothing_is_sent_before_commit(catalog, smtp_server):
    with transaction.atomic():
        open_ticket(catalog, delivered=False)
        assert smtp_server.messages == []
    # pytest-django's test transaction never commits: the row waits in the outbox.
    assert smtp_server.messages == []
    assert OutboundMessage.objects.get().status == OutboundStatus.PENDING


def test_a_reply_sends_one_email_with_its_text(catalog, smtp_server,
                                               django_capture_on_commit_callbacks):
    staff = MembershipFactory(institution=catalog["institution"], role=Role.TRIAGE).user
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(catalog, delivered=False)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=staff,
                     body="La colación se repondrá el jueves en la escuela.")

    messages = smtp_server.messages
    assert len(messages) == 2
    reply = messages[1]
    assert ticket.folio in reply["subject"]
    assert "La colación se repondrá el jueves en la escuela." in body_of(reply)
    assert OutboundMessage.objects.filter(ticket=ticket, status=OutboundStatus.SENT).count() == 2


def test_smtp_down_keeps_the_message_and_sends_it_once_when_back(
    catalog, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(catalog, delivered=False)

    row = OutboundMessage.objects.get(ticket=ticket)
    assert row.status == OutboundStatus.PENDING
    assert row.attempts == 1
    assert row.last_error  # e.g. "ConnectionRefusedError: …"
    assert row.next_attempt_at > timezone.now()  # backoff before the next try
    assert row.claimed_at is None

    # Not due yet: a premature delivery attempt changes nothing.
    assert outbox_deliver(message_id=row.pk) == OutboundStatus.PENDING
    smtp_server.start()
    assert outbox_deliver(message_id=row.pk) == OutboundStatus.PENDING
    assert smtp_server.messages == []

    make_overdue(row)
    assert outbox_replay() == 1
    assert len(smtp_server.messages) == 1
    assert ticket.folio in smtp_server.messages[0]["subject"]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (OutboundStatus.SENT, 2, "")

    # Further replays and deliveries find nothing to do.
    assert outbox_replay() == 0
    assert outbox_deliver(message_id=row.pk) == OutboundStatus.SENT
    assert len(smtp_server.messages) == 1


def test_delivering_a_sent_message_again_does_not_send_twice(smtp_server,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    assert len(smtp_server.messages) == 1

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT
    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT
    assert len(smtp_server.messages) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def test_same_dedupe_key_twice_gives_one_row_and_one_email(smtp_server,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue(key="ticket-7-received")
        second = enqueue(key="ticket-7-received", recipient="otra@example.cl")

    assert first.pk == second.pk
    assert OutboundMessage.objects.filter(dedupe_key="ticket-7-received").count() == 1
    assert [m["to"] for m in smtp_server.messages] == ["juana@example.cl"]


def test_cancelled_messages_are_never_sent(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = enqueue()
        assert outbox_cancel(message_ids=[message.pk], reason="datos de demostración") == 1
    assert len(callbacks) == 1  # the callback ran, but found nothing to schedule
    assert smtp_server.messages == []

    make_overdue(message)
    assert outbox_deliver(message_id=message.pk) == OutboundStatus.CANCELLED
    assert outbox_replay() == 0
    assert smtp_server.messages == []
    message.refresh_from_db()
    assert message.status == OutboundStatus.CANCELLED
    assert message.attempts == 0
    assert message.cancel_reason == "datos de demostración"
    assert message.cancelled_at is not None


def test_cancel_leaves_sent_messages_alone(smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    assert outbox_cancel(message_ids=[message.pk], reason="tarde") == 0
    message.refresh_from_db()
    assert message.status == OutboundStatus.SENT
    assert outbox_cancel(message_ids=[], reason="nada") == 0


def test_message_stuck_in_sending_is_requeued_by_replay(smtp_server):
    message = enqueue()  # outside a captured commit: no job ran, the row is pending
    claimed_at = timezone.now() - CLAIM_TIMEOUT - timedelta(minutes=1)
    # A worker claimed it (counting the attempt) and died before finishing.
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundStatus.SENDING, claimed_at=claimed_at, attempts=1
    )
    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENDING
    assert smtp_server.messages == []

    assert outbox_replay() == 1
    assert len(smtp_server.messages) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.SENT, 2)
    assert outbox_replay() == 0
    assert len(smtp_server.messages) == 1


def test_a_recent_claim_is_left_alone_by_replay(smtp_server):
    message = enqueue()
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundStatus.SENDING, claimed_at=timezone.now() - timedelta(minutes=1),
    )
    assert outbox_replay() == 0
    message.refresh_from_db()
    assert message.status == OutboundStatus.SENDING
    assert smtp_server.messages == []


def test_stuck_message_out_of_attempts_fails_instead_of_looping(settings, smtp_server):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.OUTBOX_RETRY_HOURS = 0  # give up on attempts alone
    message = enqueue()
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundStatus.SENDING, attempts=3,
        claimed_at=timezone.now() - CLAIM_TIMEOUT - timedelta(minutes=1),
    )
    assert outbox_replay() == 0
    message.refresh_from_db()
    assert message.status == OutboundStatus.FAILED
    assert "ClaimTimeout" in message.last_error
    assert smtp_server.messages == []


def test_recipient_refused_for_good_fails_at_once(smtp_server,
                                                  django_capture_on_commit_callbacks):
    smtp_server.handler.refuse.add("nadie@example.cl")
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(recipient="nadie@example.cl")
    message.refresh_from_db()
    assert message.status == OutboundStatus.FAILED
    assert message.attempts == 1
    assert "550" in message.last_error
    make_overdue(message)
    assert outbox_replay() == 0
    assert smtp_server.messages == []


def test_gives_up_after_max_attempts(settings, smtp_server, django_capture_on_commit_callbacks):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    settings.OUTBOX_RETRY_HOURS = 0  # give up on attempts alone
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.PENDING, 1)
    make_overdue(message)
    outbox_replay()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.FAILED, 2)
    smtp_server.start()
    make_overdue(message)
    assert outbox_replay() == 0
    assert smtp_server.messages == []


def test_no_recipient_no_message():
    assert outbox_enqueue_email(dedupe_key="x", recipient="", template="account_verify",
                                context={}) is None
    assert not OutboundMessage.objects.exists()


def test_retry_gives_a_failed_message_a_fresh_round(settings, smtp_server,
                                                    django_capture_on_commit_callbacks):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    settings.OUTBOX_RETRY_HOURS = 0  # give up on attempts alone
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    message.refresh_from_db()
    assert message.status == OutboundStatus.FAILED
    smtp_server.start()

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_retry(message_ids=[message.pk]) == 1
    assert len(smtp_server.messages) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.SENT, 1)
    assert outbox_retry(message_ids=[message.pk]) == 0  # only failed ones


def test_admin_actions_cancel_and_retry_through_the_services(admin_client, smtp_server):
    pending = enqueue(key="a")
    failed = enqueue(key="b")
    OutboundMessage.objects.filter(pk=failed.pk).update(status=OutboundStatus.FAILED, attempts=8)
    url = "/admin/notifications/outboundmessage/"
    admin_client.post(url, {"action": "cancel_messages", "_selected_action": [pending.pk]})
    admin_client.post(url, {"action": "retry_messages", "_selected_action": [failed.pk]})
    pending.refresh_from_db()
    failed.refresh_from_db()
    assert pending.status == OutboundStatus.CANCELLED
    assert "Anulado en la administración" in pending.cancel_reason
    assert (failed.status, failed.attempts) == (OutboundStatus.PENDING, 0)
    assert admin_client.get(url).status_code == 200
