"""API key life cycle. The clear key is ``vk_<prefix>_<secret>``; only sha256(secret) is kept."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from ventanilla.accounts.models import Membership, Role, User
from ventanilla.api.models import ApiKey, IdempotencyRecord
from ventanilla.tickets.models import AnswerStatus, Ticket
from ventanilla.tickets.services import (
    TicketDraft,
    answer_draft,
    answer_send,
    answer_submit,
    ticket_open,
)
from ventanilla.tickets.services.intake import folio_reserve

KEY_PREFIX = "vk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, institution, name: str, channels=(), can_read: bool = True,
                   can_write: bool = False, prefix: str | None = None,
                   secret: str | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the clear key (shown once, never stored).
    ``prefix``/``secret`` fix a known key: only for the demo (``api.demo``)."""
    with transaction.atomic():
        prefix = prefix or secrets.token_hex(6)
        secret = secret or secrets.token_urlsafe(32)
        api_key = ApiKey.objects.create(
            institution=institution, name=name, prefix=prefix, secret_hash=_hash(secret),
            can_read=can_read, can_write=can_write,
        )
        if channels:
            api_key.channels.set(channels)
    return api_key, f"{KEY_PREFIX}{prefix}_{secret}"


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The active key matching ``raw``, or None. Constant-time comparison of the hash;
    records the time of use (at most once a minute, to keep hot keys off the write path)."""
    raw = (raw or "").strip()
    if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
        return None
    prefix, _, secret = raw[len(KEY_PREFIX):].partition("_")
    api_key = ApiKey.objects.select_related("institution").filter(
        prefix=prefix, revoked_at__isnull=True).first()
    if api_key is None or not hmac.compare_digest(api_key.secret_hash, _hash(secret)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke the key and deactivate its service account (see ``api_key_actor``)."""
    with transaction.atomic():
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        User.objects.filter(email=_actor_email(api_key)).update(is_active=False)


def _actor_email(api_key: ApiKey) -> str:
    return f"api-{api_key.prefix}@integraciones.invalid"


def api_key_actor(*, api_key: ApiKey) -> User:
    """The service account a key acts as on tickets (timeline actor, permission checks):
    one per key, no usable password, role "triage" in the key's institution (answers,
    status, area), deactivated with the key."""
    email = _actor_email(api_key)
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            email=email, defaults={"first_name": api_key.name[:150]})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(
            user=user, institution_id=api_key.institution_id, defaults={"role": Role.TRIAGE})
    return user


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with another body."""


def api_ticket_open(*, draft: TicketDraft, scope: str, key: str | None,
                    request_hash: str,
                    after_open: Callable[[Ticket], None] | None = None) -> tuple[Ticket, bool]:
    """Open a ticket through the intake service; with an Idempotency-Key, the same key and
    body return the first ticket (``created`` False) and another body raises
    ``IdempotencyConflict``. Concurrent duplicates meet on the unique (scope, key).
    ``after_open`` runs in the same transaction as the intake (e.g. Open311 keeps its extra
    data on the creation event)."""
    if key:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).select_related(
            "ticket").first()
        if record is not None:
            if record.request_hash != request_hash:
                raise IdempotencyConflict
            return record.ticket, False
        ticket_key = "api:" + hashlib.sha256(f"{scope}|{key}".encode()).hexdigest()[:60]
        draft = TicketDraft(**{**draft.__dict__, "idempotency_key": ticket_key})
    # The folio is taken before the transaction, so the counter row shared by every intake
    # of the institution is not locked until the commit (see ``folio_reserve``).
    draft = folio_reserve(draft)
    try:
        with transaction.atomic():
            ticket = ticket_open(draft=draft, caller_resolves_conflicts=True)
            if after_open is not None:
                after_open(ticket)
            if key:
                IdempotencyRecord.objects.create(scope=scope, key=key,
                                                 request_hash=request_hash, ticket=ticket)
    except IntegrityError:
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first() if key else None
        if record is None:
            raise
        if record.request_hash != request_hash:
            raise IdempotencyConflict from None
        return record.ticket, False
    return ticket, True


def api_answer_post(*, ticket: Ticket, actor, stage: str, body: str, root_cause: str = "",
                    corrective_action: str = ""):
    """Draft, submit and (unless it needs a supervisor's approval) send an answer, all or
    nothing."""
    with transaction.atomic():
        answer = answer_draft(ticket=ticket, actor=actor, stage=stage, body=body,
                              root_cause=root_cause, corrective_action=corrective_action)
        answer = answer_submit(answer=answer, actor=actor)
        if answer.status == AnswerStatus.APPROVED:
            answer = answer_send(answer=answer, actor=actor)
    return answer

