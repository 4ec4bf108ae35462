"""Providers down for a while (in process, on the test database): messages queued during
the outage are all delivered once the provider is back, none twice, in the order they were
written per recipient and channel, and a long outage loses nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from tests.channels import fake_twilio
from tests.channels.fake_twilio import running_fake_twilio
from tests.factories import make_endpoint, open_ticket
from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.notifications.services import (
    _backoff,
    outbox_cancel,
    outbox_deliver,
    outbox_enqueue_email,
    outbox_replay,
)

pytestmark = pytest.mark.django_db

PERSON = "juana@example.cl"
PHONE = "+56912345678"


def enqueue(key: str, recipient: str = PERSON, subject: str = "",
            deliver: bool = True) -> OutboundMessage:
    """An e-mail through the real enqueue path; with ``deliver`` its job runs at commit
    (immediate backend), as in production a worker would pick it up at once."""
    with TestCase.captureOnCommitCallbacks(execute=deliver), transaction.atomic():
        message = outbox_enqueue_email(
            dedupe_key=key, recipient=recipient, template="account_verify",
            context={"user": None, "verify_path": f"/cuenta/verificar/{key}/"},
        )
        # Tell the messages apart at the receiving end (before the job reads the row).
        OutboundMessage.objects.filter(pk=message.pk).update(subject=subject or key)
    return message


def time_passes() -> None:
    """Every retry (and the replay's grace period) is due: the clock moved on."""
    OutboundMessage.objects.filter(status=OutboundStatus.PENDING).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5))


def rows(**filters) -> list[tuple[str, str, int]]:
    return list(OutboundMessage.objects.filter(**filters).order_by("pk")
                .values_list("subject", "status", "attempts"))


def test_email_outage_delivers_everything_afterwards_in_order_once(settings, smtp_server):
    settings.OUTBOX_MAX_ATTEMPTS = 2  # an outage much longer than the attempts allow
    smtp_server.stop()  # connection refused from now on
    first = enqueue("o-1", subject="uno")
    enqueue("o-2", subject="dos")
    enqueue("o-3", subject="tres")
    other = enqueue("o-4", recipient="pedro@example.cl", subject="otro")
    # Only each stream's head was tried; the later ones of juana's stream wait untouched.
    assert rows(recipient=PERSON) == [("uno", "pending", 1), ("dos", "pending", 0),
                                      ("tres", "pending", 0)]
    assert rows(pk=other.pk) == [("otro", "pending", 1)]

    # A later message cannot overtake the head, even when its own job runs again.
    for message in OutboundMessage.objects.filter(recipient=PERSON).exclude(pk=first.pk):
        time_passes()
        assert outbox_deliver(message_id=message.pk) == OutboundStatus.PENDING
    for _ in range(6):  # the outage lasts: replay rounds keep retrying the heads only
        time_passes()
        outbox_replay()
    assert rows(recipient=PERSON) == [("uno", "pending", 7), ("dos", "pending", 0),
                                      ("tres", "pending", 0)]
    assert not OutboundMessage.objects.filter(status=OutboundStatus.FAILED).exists()
    assert smtp_server.messages == []

    smtp_server.start()  # the provider is back (same port)
    time_passes()
    outbox_replay()
    received = [(m["to"], m["subject"]) for m in smtp_server.messages]
    assert [subject for to, subject in received if to == PERSON] == ["uno", "dos", "tres"]
    assert sorted(received) == sorted([(PERSON, "uno"), (PERSON, "dos"), (PERSON, "tres"),
                                       ("pedro@example.cl", "otro")])
    # One stable Message-ID per outbox row, each received once.
    ids = [m["Message-ID"] for m in smtp_server.messages]
    domain = ids[0].split("@", 1)[1]
    assert sorted(ids) == sorted(f"<outbox-{pk}@{domain}" for pk in
                                 OutboundMessage.objects.values_list("pk", flat=True))
    assert rows(recipient=PERSON) == [("uno", "sent", 8), ("dos", "sent", 1),
                                      ("tres", "sent", 1)]
    for _ in range(2):  # later replays send nothing again
        time_passes()
        assert outbox_replay() == 0
    assert len(smtp_server.messages) == 4


def test_sms_provider_answering_503_then_back(settings, catalog):
    settings.SITE_URL = "https://ventanilla.example.cl"
    settings.OUTBOX_MAX_ATTEMPTS = 2
    make_endpoint(catalog, provider="twilio", address="56227123456", channel_code="sms")
    with running_fake_twilio(settings) as twilio:
        fake_twilio.ERRORS.setdefault(20503, (503, "Service Unavailable"))
        twilio.failures = [20503] * 1000  # down: every request answered 503
        ticket = open_ticket(catalog)
        for number, text in enumerate(["Recibimos su reclamo", "Le responderemos pronto",
                                       "Su reclamo fue resuelto"], start=1):
            with transaction.atomic():
                OutboundMessage.objects.create(
                    dedupe_key=f"sms-{number}", institution=catalog["institution"],
                    ticket=ticket, channel="sms", recipient=PHONE, subject=text,
                    body_text=text)
        for _ in range(5):
            time_passes()
            outbox_replay()
        assert twilio.messages == []
        assert [status for _s, status, _a in rows(channel="sms")] == ["pending"] * 3
        assert [attempts for *_x, attempts in rows(channel="sms")][1:] == [0, 0]

        with twilio.lock:
            twilio.failures.clear()  # back up
        time_passes()
        outbox_replay()
        assert [m.form["Body"] for m in twilio.messages] == [
            "Recibimos su reclamo", "Le responderemos pronto", "Su reclamo fue resuelto"]
        assert [status for _s, status, _a in rows(channel="sms")] == ["sent"] * 3
        assert len({m.sid for m in twilio.messages}) == 3
        time_passes()
        outbox_replay()
        assert len(twilio.messages) == 3


def test_a_message_is_given_up_only_when_old_and_out_of_attempts(settings, smtp_server):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    settings.OUTBOX_RETRY_HOURS = 4
    smtp_server.stop()
    head = enqueue("g-1", subject="uno")
    enqueue("g-2", subject="dos")
    for _ in range(3):
        time_passes()
        outbox_replay()
    assert rows(pk=head.pk) == [("uno", "pending", 4)]
    # Four hours and a minute later the head is given up and releases its stream: the next
    # message gets its own attempts (and its own four hours).
    OutboundMessage.objects.filter(pk=head.pk).update(
        created_at=timezone.now() - timedelta(hours=4, minutes=1))
    time_passes()
    outbox_replay()
    assert rows(recipient=PERSON) == [("uno", "failed", 5), ("dos", "pending", 1)]


def test_backoff_is_capped_so_the_return_of_the_provider_is_noticed_soon(settings):
    settings.OUTBOX_BACKOFF_SECONDS = 30
    settings.OUTBOX_BACKOFF_MAX_SECONDS = 900
    waits = [_backoff(n).total_seconds() for n in (1, 2, 3, 6, 7, 50, 10_000)]
    assert waits == [30, 60, 120, 900, 900, 900, 900]


def test_cancelling_the_head_releases_its_stream(settings, smtp_server):
    smtp_server.stop()
    head = enqueue("c-1", subject="uno")
    enqueue("c-2", subject="dos")
    smtp_server.start()
    assert outbox_cancel(message_ids=[head.pk], reason="duplicado") == 1
    time_passes()
    assert outbox_replay() == 1
    assert [m["subject"] for m in smtp_server.messages] == ["dos"]


def test_a_stale_sending_head_holds_its_stream_until_replay_takes_it_back(settings,
                                                                          smtp_server):
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 60
    head = enqueue("s-1", subject="uno", deliver=False)
    enqueue("s-2", subject="dos", deliver=False)
    # A worker claimed the head and died before the server acknowledged it.
    OutboundMessage.objects.filter(pk=head.pk).update(
        status=OutboundStatus.SENDING, attempts=1, claimed_at=timezone.now())
    time_passes()
    assert outbox_replay() == 0  # the claim is fresh: the worker may still be sending
    assert smtp_server.messages == []
    OutboundMessage.objects.filter(pk=head.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=61))
    outbox_replay()
    assert [m["subject"] for m in smtp_server.messages] == ["uno", "dos"]
    assert rows(recipient=PERSON) == [("uno", "sent", 2), ("dos", "sent", 1)]
