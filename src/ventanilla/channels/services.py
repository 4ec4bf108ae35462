"""The one path every provider message takes into the platform.

A channel adapter (``channels.email``, ``channels.whatsapp``, ``channels.sms``) checks the
provider's signature and format, turns the raw input into an ``InboundContent`` and calls
``inbound_receive``; whatever it cannot turn into one goes to ``inbound_record_unprocessed``
(quarantine with the reason, or ignored for auto-replies and bounces). Adapters never
write tables themselves.

``inbound_receive`` is idempotent on the provider's message id: the (provider, id) row is
inserted first, in the same transaction as the ticket work, so a redelivered message is
one interaction and a failure half-way leaves nothing (the provider's retry starts over).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.channels.models import ChannelEndpoint, InboundMessage, InboundStatus
from ventanilla.citizens.services import ContactData, citizen_for_identity
from ventanilla.tickets.models import Status, Ticket
from ventanilla.tickets.uploads import CheckedUpload

logger = logging.getLogger(__name__)

# Adapters that can re-read a quarantined message's raw bytes (``inbound_reprocess``).
REPROCESSORS = {
    "email": "ventanilla.channels.email",
    "whatsapp": "ventanilla.channels.whatsapp",
    "messenger": "ventanilla.channels.whatsapp",
    "instagram": "ventanilla.channels.whatsapp",
    "twilio": "ventanilla.channels.sms",
}
SUBJECT_FROM_TEXT_LENGTH = 80


@dataclass(frozen=True)
class InboundContent:
    """One message from a person, as its adapter understood it."""

    endpoint: ChannelEndpoint
    provider_message_id: str
    # Who wrote: an ``IdentityKind`` and its normalised value (lower-case e-mail, phone
    # digits with country code, wa_id, page-scoped id).
    identity_kind: str
    identity_value: str
    # The provider vouches for the identifier (WhatsApp, SMS, social), unlike a From: header.
    identity_verified: bool
    # Where answers to a ticket this message opens go (``Ticket.reply_channel``/address).
    reply_channel: str
    reply_address: str
    sender_name: str = ""
    email: str = ""
    phone: str = ""
    subject: str = ""
    text: str = ""
    attachments: list[CheckedUpload] = field(default_factory=list)
    # Lines added to the timeline entry: a shared location, a media type that could not be
    # kept (with its link), an attachment refused by the checks.
    notes: list[str] = field(default_factory=list)
    # Tickets the message says it answers (In-Reply-To/References of our own messages);
    # the service joins the first one that belongs to the same person.
    thread_ticket_ids: list[int] = field(default_factory=list)
    # A folio written in the subject or text.
    thread_folio: str = ""
    # Chat channels continue the person's open conversation on the channel; e-mail only
    # joins a ticket through an explicit thread reference or folio.
    join_open_conversation: bool = False
    received_at: datetime | None = None
    data: dict = field(default_factory=dict)
    # Something was left out (an attachment refused by the checks…): the message still
    # becomes a ticket message, and the row keeps this reason and the raw input for an
    # administrator.
    problem: str = ""
    raw: bytes = b""
    raw_name: str = "message.bin"


@dataclass(frozen=True)
class InboundResult:
    message: InboundMessage
    ticket: Ticket | None
    created_ticket: bool
    duplicate: bool


def _body(content: InboundContent) -> str:
    parts = [content.text.strip()] if content.text.strip() else []
    parts += [note for note in content.notes if note]
    if not parts:
        parts = [_("(Mensaje sin texto.)")]
    return "\n\n".join(parts)


def _owned_by(ticket: Ticket, citizen_id: int, content: InboundContent) -> bool:
    """A thread reference or folio only joins the ticket of the same person: anyone can
    write a folio in a subject."""
    if ticket.institution_id != content.endpoint.institution_id:
        return False
    if ticket.citizen_id == citizen_id:
        return True
    return bool(content.email) and ticket.contact_email.lower() == content.email.lower()


def _thread_ticket(content: InboundContent, citizen_id: int) -> Ticket | None:
    candidates = []
    if content.thread_ticket_ids:
        by_id = Ticket.objects.in_bulk(content.thread_ticket_ids)
        candidates += [by_id[pk] for pk in content.thread_ticket_ids if pk in by_id]
    if content.thread_folio:
        candidates += list(Ticket.objects.filter(folio=content.thread_folio.upper()))
    for ticket in candidates:
        if _owned_by(ticket, citizen_id, content):
            # A merged ticket continues in the one it was merged into.
            while ticket.merged_into_id:
                ticket = ticket.merged_into
            return ticket
    if content.join_open_conversation:
        return (
            Ticket.objects.filter(
                institution_id=content.endpoint.institution_id, citizen_id=citizen_id,
                reply_channel=content.reply_channel, merged_into__isnull=True,
            ).exclude(status=Status.CLOSED).order_by("-received_at", "-pk").first()
        )
    return None


def _subject(content: InboundContent) -> str:
    subject = " ".join(content.subject.split())
    if not subject:
        first_line = next((line for line in content.text.splitlines() if line.strip()), "")
        subject = " ".join(first_line.split())
        if len(subject) > SUBJECT_FROM_TEXT_LENGTH:
            subject = subject[: SUBJECT_FROM_TEXT_LENGTH - 1].rstrip() + "…"
    if not subject:
        subject = _("Mensaje recibido por %(channel)s") % {
            "channel": content.endpoint.channel.name}
    return subject[:200]


def inbound_receive(*, content: InboundContent,
                    retry_of: InboundMessage | None = None) -> InboundResult:
    """Turn one message into a new ticket or a message on the person's existing one.

    The person is found by the channel identity (``citizens.services.citizen_for_identity``).
    The message joins a ticket when it refers to one of the same person (thread headers or
    folio) or, on chat channels, when that person has an open conversation on the channel;
    otherwise it opens a ticket through the intake with the endpoint's default type and
    topic (triage corrects them). ``retry_of`` is a quarantined row being processed again.

    Raises ``ValidationError`` when the intake refuses the ticket (an inactive default
    topic, say): nothing is stored then, and the adapter quarantines the raw message with
    that reason.
    """
    from ventanilla.tickets.services import TicketDraft, ticket_add_citizen_message, ticket_open

    endpoint = content.endpoint
    received_at = content.received_at or timezone.now()
    with transaction.atomic():
        if retry_of is not None:
            record = InboundMessage.objects.select_for_update().get(pk=retry_of.pk)
            if record.status == InboundStatus.PROCESSED:
                return InboundResult(record, record.ticket, False, True)
            # A message quarantined before its endpoint existed (or unreadable then) gets
            # what this reading found.
            record.endpoint = endpoint
            record.institution_id = endpoint.institution_id
            record.sender = content.identity_value[:254]
            record.subject = content.subject[:250]
        else:
            try:
                with transaction.atomic():
                    record = InboundMessage.objects.create(
                        provider=endpoint.provider, provider_message_id=content.provider_message_id,
                        endpoint=endpoint, institution_id=endpoint.institution_id,
                        sender=content.identity_value[:254], subject=content.subject[:250],
                        status=InboundStatus.PROCESSED, received_at=received_at,
                    )
            except IntegrityError:
                existing = InboundMessage.objects.get(
                    provider=endpoint.provider, provider_message_id=content.provider_message_id)
                return InboundResult(existing, existing.ticket, False, True)

        citizen = citizen_for_identity(
            kind=content.identity_kind, value=content.identity_value,
            full_name=content.sender_name, email=content.email, phone=content.phone,
            verified=content.identity_verified, at=received_at,
        )
        ticket = _thread_ticket(content, citizen.pk)
        created = ticket is None
        event_data = {"provider": endpoint.provider, "inbound_id": record.pk}
        if ticket is not None:
            ticket_add_citizen_message(
                ticket=ticket, body=_body(content), channel=endpoint.channel,
                attachments=content.attachments, at=received_at, data=event_data,
            )
        else:
            ticket = ticket_open(draft=TicketDraft(
                institution=endpoint.institution, channel=endpoint.channel,
                ticket_type=endpoint.ticket_type, topic=endpoint.topic,
                subject=_subject(content), detail=_body(content),
                contact=ContactData(
                    full_name=content.sender_name.strip() or citizen.full_name
                    or content.identity_value,
                    email=content.email, phone=content.phone,
                ),
                attachments=content.attachments, received_at=received_at, citizen=citizen,
                reply_channel=content.reply_channel, reply_address=content.reply_address,
                idempotency_key=f"inbound-{record.pk}",
            ))
        record.ticket = ticket
        record.created_ticket = created
        record.status = InboundStatus.PROCESSED
        record.reason = content.problem[:300]
        record.data = {**record.data, **content.data, **event_data}
        if content.problem and content.raw and not record.raw:
            record.raw.save(content.raw_name, ContentFile(content.raw), save=False)
        record.save(update_fields=["ticket", "created_ticket", "status", "reason", "data",
                                   "raw", "endpoint", "institution", "sender", "subject"])
    return InboundResult(record, ticket, created, False)


def inbound_record_unprocessed(
    *, provider: str, status: str, reason: str, raw: bytes = b"", provider_message_id: str = "",
    endpoint: ChannelEndpoint | None = None, sender: str = "", subject: str = "",
    data: dict | None = None, raw_name: str = "message.bin",
    retry_of: InboundMessage | None = None,
) -> InboundMessage:
    """Keep a message that did not become a ticket message: quarantined (malformed, unknown
    sender format, oversized attachment, unknown endpoint…) with its raw bytes for an
    administrator, or ignored (auto-reply, bounce, loop) with its reason. The same
    provider message id twice gives the first row back. ``retry_of``: a quarantined row
    being reprocessed keeps its one row and gets the new status and reason."""
    provider_message_id = provider_message_id[:255]  # the column's size: lookups agree
    if status not in (InboundStatus.QUARANTINED, InboundStatus.IGNORED):
        raise ValueError(f"not an unprocessed status: {status}")
    if retry_of is not None:
        fields = {"status": status, "reason": reason[:300],
                  "data": {**retry_of.data, **(data or {})}}
        if endpoint is not None:
            fields.update(endpoint=endpoint, institution_id=endpoint.institution_id)
        InboundMessage.objects.filter(pk=retry_of.pk, status=InboundStatus.QUARANTINED).update(
            **fields)
        retry_of.refresh_from_db()
        return retry_of
    if provider_message_id:
        existing = InboundMessage.objects.filter(
            provider=provider, provider_message_id=provider_message_id).first()
        if existing is not None:
            return existing
    record = InboundMessage(
        provider=provider, provider_message_id=provider_message_id, endpoint=endpoint,
        institution_id=endpoint.institution_id if endpoint else None, sender=sender[:254],
        subject=subject[:250], status=status, reason=reason[:300], data=data or {},
    )
    try:
        with transaction.atomic():
            if raw and status == InboundStatus.QUARANTINED:
                record.raw.save(raw_name, ContentFile(raw), save=False)
            record.save()
    except IntegrityError:  # the same message, recorded concurrently
        return InboundMessage.objects.get(provider=provider,
                                          provider_message_id=provider_message_id)
    if status == InboundStatus.QUARANTINED:
        logger.warning("inbound %s message quarantined: %s", provider, reason)
    return record


def inbound_requarantine(*, message: InboundMessage, reason: str) -> InboundMessage:
    """A reprocessed message that still fails stays quarantined, with the new reason."""
    return inbound_record_unprocessed(provider=message.provider, reason=reason,
                                      status=InboundStatus.QUARANTINED, retry_of=message)


def inbound_reprocess(*, message: InboundMessage, actor) -> InboundResult | InboundMessage:
    """Read a quarantined message's raw bytes again (after fixing an endpoint or a setting).
    Returns the adapter's result; a message that still fails stays quarantined with the
    new reason."""
    from ventanilla.core.services import audit_record

    if message.status != InboundStatus.QUARANTINED:
        raise ValidationError(_("Solo se pueden reprocesar mensajes en cuarentena."))
    if not message.raw:
        raise ValidationError(_("El mensaje no conserva su contenido original."))
    module = importlib.import_module(REPROCESSORS[message.provider])
    result = module.inbound_reprocess(message)
    audit_record(actor=actor, action="inbound.reprocessed", obj=message,
                 institution=message.institution, data={"provider": message.provider})
    return result


def inbound_dismiss(*, message: InboundMessage, actor) -> InboundMessage:
    """An administrator looked at a quarantined message and closed it."""
    from ventanilla.core.services import audit_record

    with transaction.atomic():
        updated = InboundMessage.objects.filter(
            pk=message.pk, status=InboundStatus.QUARANTINED
        ).update(status=InboundStatus.DISMISSED, reviewed_by=actor, reviewed_at=timezone.now())
        if updated:
            audit_record(actor=actor, action="inbound.dismissed", obj=message,
                         institution=message.institution, data={})
    message.refresh_from_db()
    return message
