"""Outbox writes: enqueue inside the caller's transaction, deliver from the worker.

Delivery claims a message with a conditional UPDATE (pending → sending) that also counts
the attempt, so two workers never send the same row and a worker that dies mid-send
still used up an attempt. Every later write of that delivery is conditional on the
claim (status ``sending`` and the same ``claimed_at``), so a slow worker whose claim was
taken back by ``outbox_replay`` cannot overwrite what the next worker did.

A message whose worker died while sending is re-queued by ``outbox_replay`` after
``OUTBOX_CLAIM_TIMEOUT_SECONDS``. Delivery is at-least-once only in that case (the provider
may have accepted the message before the worker died); the stable Message-ID lets mail
clients collapse such a duplicate.

Order: messages to one recipient on one channel (a ticket's acknowledgement, its answers,
its closing) leave in the order they were written. A message is not claimed while an
earlier one of its stream is still pending or sending; when the head of a stream is sent
or given up, its delivery schedules the next one (``_release_next``), and the replay only
re-queues heads. The check is part of the claim's UPDATE and walks a partial index over
unsent rows only (``outbox_unsent_stream``), so it costs one index probe.

Outages: retryable failures back off exponentially up to ``OUTBOX_BACKOFF_MAX_SECONDS``
(15 min), and a message is only given up once it had ``OUTBOX_MAX_ATTEMPTS`` attempts and
is older than ``OUTBOX_RETRY_HOURS`` (72 h): a provider down for hours delays messages, it
never loses them.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, router, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.notifications.rendering import render_message

logger = logging.getLogger(__name__)

# The default of OUTBOX_CLAIM_TIMEOUT_SECONDS (read at call time, ``_claim_timeout``).
CLAIM_TIMEOUT = timedelta(minutes=10)
# The replay leaves freshly enqueued messages to their own job for this long (the default
# of OUTBOX_REPLAY_GRACE_SECONDS, read at call time).
REPLAY_GRACE = timedelta(minutes=1)
REPLAY_BATCH = 1000
# Statuses a message can still be cancelled from (never while a worker is sending it).
CANCELLABLE = (OutboundStatus.PENDING, OutboundStatus.FAILED)
# Statuses of a message that still has to leave: it holds back the later ones of its stream.
UNSENT = (OutboundStatus.PENDING, OutboundStatus.SENDING)


# Provider delivery statuses, in the order they can follow each other. A failure is final.
DELIVERY_ORDER = {"accepted": 0, "sent": 1, "delivered": 2, "read": 3, "undelivered": 4,
                  "failed": 4}


class PermanentDeliveryError(Exception):
    """Raised by a provider adapter when no retry will help (a refused recipient, a
    rejected template): the message fails at once instead of being retried."""


def _backoff(attempts: int) -> timedelta:
    exponent = min(max(attempts - 1, 0), 30)  # 2**30 base periods outgrow any cap
    return timedelta(seconds=min(settings.OUTBOX_BACKOFF_SECONDS * 2 ** exponent,
                                 settings.OUTBOX_BACKOFF_MAX_SECONDS))


def _claim_timeout() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)


def _gives_up(*, attempts: int, created_at: datetime, now: datetime) -> bool:
    """A retryable failure is final only after OUTBOX_MAX_ATTEMPTS attempts and once the
    message is OUTBOX_RETRY_HOURS old: counting attempts alone would give up on every
    message queued during an outage of an hour or more."""
    return (attempts >= settings.OUTBOX_MAX_ATTEMPTS
            and now - created_at >= timedelta(hours=settings.OUTBOX_RETRY_HOURS))


def _earlier_unsent():
    """Messages still to leave before the outer one: same channel and recipient, written
    earlier (lower id). Served by the partial index ``outbox_unsent_stream``."""
    return OutboundMessage.objects.filter(
        channel=OuterRef("channel"), recipient=OuterRef("recipient"), pk__lt=OuterRef("pk"),
        status__in=UNSENT,
    )


def _outbox_insert(dedupe_key: str, fields: dict,
                   fresh: bool = False) -> tuple[OutboundMessage, bool]:
    """The message with ``dedupe_key``: inserted, or the one already there (created False).
    Insert first: a dedupe key is nearly always new (it names a new ticket or answer), so
    this saves the SELECT that ``get_or_create`` runs before every insert. ``fresh``: the
    key names a row created in this transaction (a new ticket), so it cannot exist yet and
    the insert needs no savepoint."""
    if fresh:
        return OutboundMessage.objects.create(dedupe_key=dedupe_key, **fields), True
    try:
        with transaction.atomic():
            return OutboundMessage.objects.create(dedupe_key=dedupe_key, **fields), True
    except IntegrityError:
        existing = OutboundMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return existing, False


def outbox_enqueue_email(
    *, dedupe_key: str, recipient: str, template: str, context: dict, institution=None,
    ticket=None, fresh_ticket: bool = False,
) -> OutboundMessage | None:
    """Render and persist an e-mail; schedule its delivery after the transaction commits.

    ``template`` is a message key: the institution's active ``MessageTemplate`` for it (for
    the ticket's type first) when there is one, else ``notifications/email/<template>.txt``,
    whose first line is the subject (``rendering.render_message``; a broken editable
    template falls back to the file and is logged, it never raises here). The context gets
    ``site_url`` and ``tracking_url``. Returns None when there is no recipient. The same
    ``dedupe_key`` twice gives the first message back and schedules nothing new.
    ``fresh_ticket``: ``ticket`` was created in this transaction and ``dedupe_key`` names
    it (the intake), see ``_outbox_insert`` and ``_schedule_after_commit``.
    """
    if not recipient:
        return None
    rendered = render_message(template=template, context=context, institution=institution,
                              ticket=ticket)
    message, created = _outbox_insert(dedupe_key, {
        "institution": institution, "ticket": ticket, "channel": "email",
        "recipient": recipient.strip(), "subject": rendered.subject, "body_text": rendered.body,
    }, fresh=fresh_ticket)
    if created:
        _schedule_after_commit(message.pk, fresh=fresh_ticket)
    return message


def _schedule_after_commit(message_id: int, *, fresh: bool) -> None:
    """Queue the delivery job once the message is committed. For a message of a ticket
    created in this transaction (the intake) the job is queued without re-reading the
    row: were it cancelled before the commit, the job finds it not pending and does
    nothing (``outbox_deliver`` claims pending messages only).

    With the database queue on the same database, such a job is inserted right away, in
    the intake's transaction: it becomes visible to workers with the message, at the same
    commit, instead of costing a statement and a commit of its own afterwards (and it can
    no longer be lost between the two commits)."""
    if fresh and connection.in_atomic_block and _queue_in_this_database():
        _enqueue_in_transaction(message_id)
    elif fresh:
        transaction.on_commit(lambda: _schedule(message_id))
    else:
        transaction.on_commit(lambda: _schedule_if_pending(message_id))


def outbox_enqueue_for_ticket(
    *, ticket, dedupe_key: str, template: str, context: dict, fresh_ticket: bool = False,
) -> OutboundMessage | None:
    """A message to the person behind a ticket, on the channel the ticket is answered on.

    ``ticket.reply_channel`` blank (web, API, phone…) means e-mail to ``contact_email``;
    a ticket that came in by WhatsApp, Messenger, Instagram or SMS is answered there, to
    ``reply_address``. The channel's adapter (``ventanilla.channels.outbound``) shapes the
    rendered text for it (an SMS is shortened to its segments, for instance). Returns None
    when the ticket has no address to answer to.
    """
    route = ticket.reply_channel or "email"
    if route == "email":
        return outbox_enqueue_email(
            dedupe_key=dedupe_key, recipient=ticket.reply_address or ticket.contact_email,
            template=template, context=context, institution=ticket.institution, ticket=ticket,
            fresh_ticket=fresh_ticket,
        )
    from ventanilla.channels.outbound import adapter_for

    recipient = (ticket.reply_address or "").strip()
    if not recipient:
        return None
    rendered = render_message(template=template, context=context,
                              institution=ticket.institution, ticket=ticket)
    body = adapter_for(route).prepare(subject=rendered.subject, body=rendered.body,
                                      ticket=ticket)
    message, created = _outbox_insert(dedupe_key, {
        "institution": ticket.institution, "ticket": ticket, "channel": route,
        "recipient": recipient, "subject": rendered.subject[:250], "body_text": body,
    }, fresh=fresh_ticket)
    if created:
        _schedule_after_commit(message.pk, fresh=fresh_ticket)
    return message


def outbox_delivery_update(
    *, channel: str, provider_message_id: str, status: str, at: datetime | None = None,
    error: str = "",
) -> int:
    """Record a provider's status callback (delivered, read, failed…) on the message it
    sent. Returns how many rows changed (0 for an unknown id: callbacks for messages sent
    by other systems on the same number are common and harmless).

    Statuses only move forward (a late "delivered" after "read" is ignored), and a
    repeated callback changes nothing.
    """
    if not provider_message_id or status not in DELIVERY_ORDER:
        return 0
    at = at or timezone.now()
    later = [name for name, rank in DELIVERY_ORDER.items() if rank >= DELIVERY_ORDER[status]]
    changed = (
        OutboundMessage.objects.filter(channel=channel, provider_message_id=provider_message_id)
        .exclude(delivery_status__in=later)
        .update(delivery_status=status, delivery_updated_at=at, delivery_error=error[:500])
    )
    return changed


def outbox_cancel(*, message_ids: Iterable[int], reason: str) -> int:
    """Mark messages that were not sent yet as never to be sent. Returns how many.

    Messages already sent, or being sent right now, are left alone.
    """
    ids = list(message_ids)
    if not ids:
        return 0
    # A cancelled head no longer holds its stream back; the next message, due already,
    # is picked up by the next replay (within REPLAY_GRACE plus a replay period).
    with transaction.atomic():
        return OutboundMessage.objects.filter(pk__in=ids, status__in=CANCELLABLE).update(
            status=OutboundStatus.CANCELLED, cancelled_at=timezone.now(),
            cancel_reason=reason.strip()[:200], claimed_at=None,
        )


def outbox_retry(*, message_ids: Iterable[int]) -> int:
    """Give failed messages a fresh round of attempts (after fixing an address or the
    provider). Returns how many were re-queued."""
    ids = list(message_ids)
    if not ids:
        return 0
    with transaction.atomic():
        retried = list(OutboundMessage.objects.filter(pk__in=ids, status=OutboundStatus.FAILED)
                       .values_list("pk", flat=True))
        OutboundMessage.objects.filter(pk__in=retried, status=OutboundStatus.FAILED).update(
            status=OutboundStatus.PENDING, attempts=0, next_attempt_at=timezone.now(),
            claimed_at=None,
        )
        for message_id in retried:
            transaction.on_commit(lambda message_id=message_id: _schedule_if_pending(message_id))
    return len(retried)


def _enqueue_in_transaction(message_id: int) -> None:
    from ventanilla.notifications.tasks import deliver_outbound_message

    deliver_outbound_message.enqueue(message_id)  # a failure fails the intake: all or nothing


def _queue_in_this_database() -> bool:
    """True when jobs are rows of the default database (``django_tasks_db``)."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    from ventanilla.notifications.tasks import deliver_outbound_message

    return (isinstance(deliver_outbound_message.get_backend(), DatabaseBackend)
            and router.db_for_write(DBTaskResult) == DEFAULT_DB_ALIAS)


def _schedule_if_pending(message_id: int) -> None:
    # The message may have been cancelled in the same transaction that created it
    # (demo data, a superseded answer): then no job is needed at all.
    if OutboundMessage.objects.filter(pk=message_id, status=OutboundStatus.PENDING).exists():
        _schedule(message_id)


def _schedule(message_id: int, run_after: datetime | None = None) -> None:
    from ventanilla.notifications.tasks import deliver_outbound_message

    task = deliver_outbound_message
    try:
        if run_after is not None:
            if not task.get_backend().supports_defer:
                return  # this backend cannot delay a job; outbox_replay will pick it up
            task = task.using(run_after=run_after)
        task.enqueue(message_id)
    except Exception:  # the row is safe in the outbox; outbox_replay will pick it up
        logger.exception("could not enqueue outbound message %s", message_id)


def _is_permanent(exc: Exception) -> bool:
    """Errors that no retry will fix: a malformed message or an address the server refuses
    for good (5xx). Everything else (network, 4xx, timeouts) is retried with backoff."""
    if isinstance(exc, PermanentDeliveryError):
        return True
    if isinstance(exc, ValueError):  # BadHeaderError, an unparseable address, bad encoding
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(
            code >= 500 for code, _ in exc.recipients.values()
        )
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def outbox_deliver(*, message_id: int) -> str:
    """Send one message if it is still pending, due and first of its stream (no earlier
    unsent message to the same recipient on the same channel). Returns the resulting status
    (``pending`` when it waits for an earlier message: that one's delivery releases it)."""
    claimed_at = timezone.now()
    claimed = OutboundMessage.objects.filter(
        ~Exists(_earlier_unsent()),
        pk=message_id, status=OutboundStatus.PENDING, next_attempt_at__lte=claimed_at,
    ).update(status=OutboundStatus.SENDING, claimed_at=claimed_at, attempts=F("attempts") + 1)
    if not claimed:
        return (
            OutboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first()
            or "missing"
        )
    message = OutboundMessage.objects.get(pk=message_id)
    ours = OutboundMessage.objects.filter(
        pk=message_id, status=OutboundStatus.SENDING, claimed_at=claimed_at
    )
    try:
        provider_message_id = _send(message)
    except Exception as exc:  # any provider failure: keep the row, retry later
        now = timezone.now()
        final = _is_permanent(exc) or _gives_up(attempts=message.attempts,
                                                created_at=message.created_at, now=now)
        next_attempt = now + _backoff(message.attempts)
        status = OutboundStatus.FAILED if final else OutboundStatus.PENDING
        updated = ours.update(status=status, last_error=f"{type(exc).__name__}: {exc}"[:2000],
                              next_attempt_at=next_attempt, claimed_at=None)
        logger.warning("delivery of outbound message %s failed (attempt %s%s): %s",
                       message_id, message.attempts, ", giving up" if final else "", exc)
        if final and updated:
            _release_next(channel=message.channel, recipient=message.recipient)
        elif updated:
            _schedule(message_id, run_after=next_attempt)
        return status
    if ours.update(status=OutboundStatus.SENT, sent_at=timezone.now(), last_error="",
                   claimed_at=None, provider_message_id=(provider_message_id or "")[:255]):
        _release_next(channel=message.channel, recipient=message.recipient)
    return OutboundStatus.SENT


def _release_next(*, channel: str, recipient: str) -> None:
    """Schedule the first unsent message of a stream whose head just left (sent, given up
    or cancelled). Its own job found it held back and did nothing; without this it would
    wait for the next replay."""
    head = (OutboundMessage.objects.filter(channel=channel, recipient=recipient,
                                           status__in=UNSENT)
            .order_by("pk").values_list("pk", "status", "next_attempt_at").first())
    if head is None or head[1] != OutboundStatus.PENDING:
        return
    _schedule(head[0], run_after=head[2] if head[2] > timezone.now() else None)


def _send(message: OutboundMessage) -> str:
    """Hand the message to its channel's provider; returns the provider's id for it."""
    if message.channel == "email":
        return _send_email(message)
    from ventanilla.channels.outbound import adapter_for

    return adapter_for(message.channel).send(message)


def _send_email(message: OutboundMessage) -> str:
    from ventanilla.channels.email import outbound_envelope

    # A stable Message-ID (a retry that re-sends is one message to mail clients), plus
    # Reply-To, In-Reply-To and the folio so the citizen's answer threads to the ticket.
    envelope = outbound_envelope(message)
    email = EmailMessage(
        subject=envelope.subject, body=message.body_text, to=[message.recipient],
        from_email=settings.DEFAULT_FROM_EMAIL, reply_to=envelope.reply_to,
        headers=envelope.headers,
    )
    email.send(fail_silently=False)
    return email.extra_headers["Message-ID"]


def outbox_replay() -> int:
    """Re-queue messages that are due but have no live job (worker restart, lost enqueue,
    a worker that died mid-send). Run periodically (``outbox_replay --every 60``).
    Returns how many messages were re-queued."""
    now = timezone.now()
    stale = now - _claim_timeout()
    stuck = list(
        OutboundMessage.objects.filter(status=OutboundStatus.SENDING, claimed_at__lt=stale)
        .values_list("pk", flat=True)[:REPLAY_BATCH]
    )
    if stuck:
        # The worker died mid-send. The attempt counted at claim time stays counted, so a
        # message that kills its worker every time cannot loop forever (same rule as a
        # failed attempt: enough attempts and old enough).
        still_stuck = OutboundMessage.objects.filter(
            pk__in=stuck, status=OutboundStatus.SENDING, claimed_at__lt=stale
        )
        still_stuck.filter(
            attempts__gte=settings.OUTBOX_MAX_ATTEMPTS,
            created_at__lte=now - timedelta(hours=settings.OUTBOX_RETRY_HOURS),
        ).update(
            status=OutboundStatus.FAILED, claimed_at=None,
            last_error="ClaimTimeout: the worker never finished sending; giving up.",
        )
        still_stuck.update(
            status=OutboundStatus.PENDING, claimed_at=None, next_attempt_at=now,
            last_error="ClaimTimeout: the worker never finished sending; retrying.",
        )
        logger.warning("outbox: %s message(s) stuck in sending were taken back", len(stuck))
    # Heads of their streams only: a held-back message is released by its predecessor.
    due = OutboundMessage.objects.filter(status=OutboundStatus.PENDING).filter(
        Q(next_attempt_at__lte=now - timedelta(seconds=settings.OUTBOX_REPLAY_GRACE_SECONDS))
        | Q(pk__in=stuck)
    ).filter(~Exists(_earlier_unsent()))
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:REPLAY_BATCH])
    for message_id in ids:
        _schedule(message_id)
    return len(ids)
