"""Outbox writes: enqueue inside the caller's transaction, deliver from the worker.

Delivery claims a message with a conditional UPDATE (pending → sending), so two workers
never send the same row; a message whose worker died while sending is re-queued by
``outbox_replay`` after ``CLAIM_TIMEOUT``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from ventanilla.notifications.models import OutboundMessage, OutboundStatus

logger = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 6 * 3600))


def outbox_enqueue_email(
    *, dedupe_key: str, recipient: str, template: str, context: dict, institution=None,
    ticket=None,
) -> OutboundMessage | None:
    """Render and persist an e-mail; schedule its delivery after the transaction commits.

    ``template`` names ``notifications/email/<template>.txt``, whose first line is the
    subject. Returns None when there is no recipient.
    """
    if not recipient:
        return None
    rendered = render_to_string(f"notifications/email/{template}.txt", {
        **context, "site_url": settings.SITE_URL.rstrip("/"),
    }).lstrip()
    subject, _, body = rendered.partition("\n")
    message, created = OutboundMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={
            "institution": institution, "ticket": ticket, "channel": "email",
            "recipient": recipient, "subject": subject.strip()[:250], "body_text": body.strip() + "\n",
        },
    )
    if created:
        message_id = message.pk
        transaction.on_commit(lambda: _schedule(message_id))
    return message


def _schedule(message_id: int, run_after=None) -> None:
    from ventanilla.notifications.tasks import deliver_outbound_message

    task = deliver_outbound_message
    if run_after is not None:
        task = task.using(run_after=run_after)
    try:
        task.enqueue(message_id)
    except Exception:  # the row is safe in the outbox; outbox_replay will pick it up
        logger.exception("could not enqueue outbound message %s", message_id)


def outbox_deliver(*, message_id: int) -> str:
    """Send one message if it is still pending and due. Returns the resulting status."""
    now = timezone.now()
    claimed = OutboundMessage.objects.filter(
        pk=message_id, status=OutboundStatus.PENDING, next_attempt_at__lte=now
    ).update(status=OutboundStatus.SENDING, claimed_at=now)
    if not claimed:
        return OutboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first() or "missing"
    message = OutboundMessage.objects.get(pk=message_id)
    try:
        _send_email(message)
    except Exception as exc:  # any provider failure: keep the row, retry later
        attempts = message.attempts + 1
        final = attempts >= settings.OUTBOX_MAX_ATTEMPTS
        next_attempt = now + _backoff(attempts)
        OutboundMessage.objects.filter(pk=message_id).update(
            status=OutboundStatus.FAILED if final else OutboundStatus.PENDING,
            attempts=attempts, last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=next_attempt, claimed_at=None,
        )
        logger.warning("delivery of outbound message %s failed (attempt %s): %s",
                       message_id, attempts, exc)
        if not final:
            _schedule(message_id, run_after=next_attempt)
        return OutboundStatus.FAILED if final else OutboundStatus.PENDING
    OutboundMessage.objects.filter(pk=message_id).update(
        status=OutboundStatus.SENT, sent_at=timezone.now(), attempts=message.attempts + 1,
        last_error="",
    )
    return OutboundStatus.SENT


def _send_email(message: OutboundMessage) -> None:
    domain = settings.SITE_URL.split("//")[-1].split("/")[0].split(":")[0] or "localhost"
    email = EmailMessage(
        subject=message.subject, body=message.body_text, to=[message.recipient],
        from_email=settings.DEFAULT_FROM_EMAIL,
        # A stable Message-ID: if a retry ever re-sends, mail clients see one message.
        headers={"Message-ID": f"<outbox-{message.pk}@{domain}>", "Auto-Submitted": "auto-generated"},
    )
    email.send(fail_silently=False)


def outbox_replay() -> int:
    """Re-queue messages that are due but have no live job (worker restart, lost enqueue,
    a worker that died mid-send). Run periodically by the worker loop."""
    now = timezone.now()
    OutboundMessage.objects.filter(
        status=OutboundStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT
    ).update(status=OutboundStatus.PENDING, claimed_at=None)
    due = list(
        OutboundMessage.objects.filter(
            Q(status=OutboundStatus.PENDING) & Q(next_attempt_at__lte=now - timedelta(minutes=1))
        ).values_list("pk", flat=True)[:1000]
    )
    for message_id in due:
        _schedule(message_id)
    return len(due)
