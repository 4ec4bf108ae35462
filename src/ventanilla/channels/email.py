"""The e-mail channel: one raw message (from the IMAP poller or the SMTP/LMTP receiver) in,
a ticket message, an ignored automatic message or a quarantined one out; and the headers
our own outgoing mail carries so that answers thread back.

What becomes of a message, in order:

1. Over ``INBOUND_MAIL_MAX_BYTES``, unparseable, or MIME so broken that its parts cannot
   be trusted → quarantined with the reason and the raw bytes.
2. Already seen (same Message-ID, or the same bytes when it has none) → the first result.
3. A bounce → ignored; when it returns one of our outbox messages, that message is marked
   failed (``outbox_delivery_update``).
4. No usable From, or no endpoint receiving at any of its recipient addresses →
   quarantined.
5. A loop (sent by ourselves or an endpoint address, or carrying our loop header) or an
   auto-reply (RFC 3834 and the usual vendor headers) → ignored, never answered.
6. More than ``SENDER_BURST_LIMIT`` messages from one address within
   ``SENDER_BURST_WINDOW`` → quarantined: probably a loop with an auto-responder that
   marks nothing, but it may be a person, so an administrator decides (reprocess).
7. Otherwise ``channels.services.inbound_receive``: a new ticket, or a message on the
   ticket it answers (our Message-IDs in In-Reply-To/References, an earlier inbound
   Message-ID, or the folio in the subject — the service checks it is the same person).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.channels import email_parse as parse
from ventanilla.channels.models import ChannelEndpoint, InboundMessage, InboundStatus
from ventanilla.channels.selectors import endpoint_for, endpoint_sending
from ventanilla.channels.services import (
    InboundContent,
    InboundResult,
    inbound_receive,
    inbound_record_unprocessed,
)
from ventanilla.citizens.models import IdentityKind
from ventanilla.tickets.uploads import check_upload

logger = logging.getLogger(__name__)

PROVIDER = "email"
RAW_NAME = "message.eml"
# A person rarely writes more than a few messages in ten minutes; an auto-responder
# looping with us writes one per answer we send. Past this, messages wait for a human.
SENDER_BURST_LIMIT = 20
SENDER_BURST_WINDOW = timedelta(minutes=10)
OUTBOX_MESSAGE_ID = re.compile(r"outbox-(\d+)@([A-Za-z0-9.\-]+)", re.IGNORECASE)
LOOP_HEADERS = ("X-Loop", "X-Ventanilla-Loop")


def outbound_domain() -> str:
    """The domain of our Message-IDs (``<outbox-{pk}@domain>``): the site's host."""
    return settings.SITE_URL.split("//")[-1].split("/")[0].split(":")[0].lower() or "localhost"


def platform_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].strip().lower()


def _platform_addresses() -> set[str]:
    """Addresses that are us: mail from them is our own mail coming back."""
    endpoints = ChannelEndpoint.objects.filter(provider=PROVIDER).values_list("address",
                                                                             flat=True)
    return ({address.lower() for address in endpoints} | {platform_address()}) - {""}


# --- inbound ------------------------------------------------------------------------------


@dataclass
class _Reception:
    """What is known about the message so far, for whichever row records it."""

    raw: bytes
    source: str
    retry_of: InboundMessage | None
    message_id: str = ""
    sender: str = ""
    subject: str = ""
    endpoint: ChannelEndpoint | None = None
    data: dict | None = None

    def unprocessed(self, status: str, reason: str, **extra) -> InboundMessage:
        data = {**(self.data or {}), **extra}
        return inbound_record_unprocessed(
            provider=PROVIDER, status=status, reason=reason, raw=self.raw,
            provider_message_id=self.message_id, endpoint=self.endpoint,
            sender=self.sender, subject=self.subject, data=data, raw_name=RAW_NAME,
            retry_of=self.retry_of,
        )

    def quarantine(self, reason: str, **extra) -> InboundMessage:
        return self.unprocessed(InboundStatus.QUARANTINED, reason, **extra)

    def ignore(self, reason: str, **extra) -> InboundMessage:
        return self.unprocessed(InboundStatus.IGNORED, reason, **extra)


def email_process(raw: bytes, *, envelope_recipients: list[str] | None = None, source: str,
                  retry_of: InboundMessage | None = None) -> InboundResult | InboundMessage:
    """Store one raw e-mail as a ticket message, or as an ignored or quarantined row.

    Returns the ``InboundResult`` when it reached a ticket (also for a redelivered
    message), else the ``InboundMessage`` row recording why not. Only a database failure
    raises: the caller must then not acknowledge the message (IMAP leaves it unseen, SMTP
    answers 451) so that it comes again; the Message-ID dedupe keeps it one ticket.
    ``source`` says where it came from (``imap``, ``smtp``, ``lmtp``, ``reprocess``).
    """
    reception = _Reception(raw=raw, source=source, retry_of=retry_of,
                           message_id="sha256:" + hashlib.sha256(raw).hexdigest(),
                           data={"source": source})
    if envelope_recipients:
        reception.data["envelope_recipients"] = list(envelope_recipients)[:20]
    try:
        return _process(reception, envelope_recipients or [])
    except DatabaseError:
        raise
    except Exception as exc:  # a message we could not read must still be kept
        logger.exception("inbound e-mail could not be processed")
        return reception.quarantine(
            _("Error inesperado al leer el mensaje (%(error)s).")
            % {"error": type(exc).__name__})


def _parse(raw: bytes, *, headersonly: bool = False) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw, headersonly=headersonly)


def _process(reception: _Reception, envelope_recipients: list[str]):
    raw = reception.raw
    if len(raw) > settings.INBOUND_MAIL_MAX_BYTES:
        headers = _parse(raw[:65536], headersonly=True)
        reception.message_id = (parse.normalize_message_id(parse.header_text(headers, "Message-ID"))
                                or reception.message_id)
        reception.sender = parse.header_text(headers, "From")[:254]
        reception.subject = parse.header_text(headers, "Subject")[:250]
        return reception.quarantine(
            _("El mensaje pesa %(size)s; el máximo que se acepta es %(max)s.")
            % {"size": filesizeformat(len(raw)),
               "max": filesizeformat(settings.INBOUND_MAIL_MAX_BYTES)})
    try:
        message = _parse(raw)
    except Exception as exc:
        return reception.quarantine(
            _("Mensaje MIME mal formado: no se pudo leer (%(error)s).")
            % {"error": type(exc).__name__})

    reception.message_id = (parse.normalize_message_id(parse.header_text(message, "Message-ID"))
                            or reception.message_id)
    reception.subject = parse.header_text(message, "Subject")[:250]
    reception.sender = parse.header_text(message, "From")[:254]
    if reception.retry_of is None:
        existing = InboundMessage.objects.filter(
            provider=PROVIDER, provider_message_id=reception.message_id).first()
        if existing is not None:
            if existing.status == InboundStatus.PROCESSED:
                return InboundResult(existing, existing.ticket, False, True)
            return existing
    reception.endpoint, recipients = _endpoint(message, envelope_recipients)

    defects = parse.serious_defects(message)
    if defects or not raw.strip():
        return reception.quarantine(
            _("Mensaje MIME mal formado (%(defects)s).")
            % {"defects": ", ".join(sorted(set(defects))) or _("vacío")})
    if parse.is_bounce(message):
        return _record_bounce(reception, message)

    sender = parse.sender_of(message)
    if sender is None:
        if not reception.sender:
            return reception.quarantine(_("El mensaje no tiene remitente (From)."))
        return reception.quarantine(
            _("Formato de remitente desconocido: «%(sender)s».") % {"sender": reception.sender})
    reception.sender = sender.address
    if reception.endpoint is None:
        return reception.quarantine(
            _("Ningún punto de entrada recibe en %(addresses)s.")
            % {"addresses": ", ".join(recipients)[:200] or _("(sin destinatarios)")})

    loop = _loop_reason(message, sender.address)
    if loop:
        return reception.ignore(loop)
    references = _references(message)
    auto_reply = parse.auto_reply_reason(message)
    if not auto_reply and parse.looks_out_of_office(reception.subject) and _outbox_ids(references):
        auto_reply = _("Asunto de respuesta automática a un mensaje nuestro")
    if auto_reply:
        return reception.ignore(_("Respuesta automática (%(signal)s).") % {"signal": auto_reply})
    if reception.retry_of is None and _sender_burst(sender.address):
        return reception.quarantine(
            _("Posible bucle de correo: más de %(limit)d mensajes de %(sender)s en "
              "%(minutes)d minutos. Reprocese si lo escribió una persona.")
            % {"limit": SENDER_BURST_LIMIT, "sender": sender.address,
               "minutes": int(SENDER_BURST_WINDOW.total_seconds() // 60)})

    content = _content(reception, message, sender, references)
    try:
        return inbound_receive(content=content, retry_of=reception.retry_of)
    except ValidationError as exc:
        return reception.quarantine(
            _("La admisión rechazó el mensaje: %(error)s") % {"error": " ".join(exc.messages)})


def _endpoint(message: EmailMessage, envelope_recipients: list[str]
              ) -> tuple[ChannelEndpoint | None, list[str]]:
    candidates = []
    for address in [parseaddr(value)[1] for value in envelope_recipients]:
        if address and address.lower() not in candidates:
            candidates.append(address.lower())
    candidates += [address for address in parse.recipient_addresses(message)
                   if address not in candidates]
    for address in candidates:
        endpoint = endpoint_for(provider=PROVIDER, address=address)
        if endpoint is not None:
            return endpoint, candidates
    return None, candidates


def _loop_reason(message: EmailMessage, sender: str) -> str:
    ours = _platform_addresses()
    if sender in ours:
        return _("Bucle de correo: el remitente %(sender)s es una dirección de la "
                 "plataforma.") % {"sender": sender}
    for header in LOOP_HEADERS:
        for value in parse.header_texts(message, header):
            if any(address in value.lower() for address in ours):
                return _("Bucle de correo: el encabezado %(header)s nombra a la plataforma.") % {
                    "header": header}
    return ""


def _sender_burst(sender: str) -> bool:
    since = timezone.now() - SENDER_BURST_WINDOW
    recent = InboundMessage.objects.filter(provider=PROVIDER, sender=sender,
                                           received_at__gte=since)
    return recent.count() >= SENDER_BURST_LIMIT


def _references(message: EmailMessage) -> list[str]:
    """Message-IDs the message answers, the most direct first."""
    found = parse.message_ids_in(parse.header_text(message, "In-Reply-To"))
    found += reversed(parse.message_ids_in(parse.header_text(message, "References")))
    return list(dict.fromkeys(found))


def _outbox_ids(references: list[str]) -> list[int]:
    domain = outbound_domain()
    ids = []
    for reference in references:
        match = OUTBOX_MESSAGE_ID.fullmatch(reference)
        if match and match.group(2).lower() == domain:
            ids.append(int(match.group(1)))
    return ids


def _thread_ticket_ids(references: list[str]) -> list[int]:
    """Tickets of the messages this one answers: our outbox messages and earlier inbound
    e-mails, in the order of the references."""
    from ventanilla.notifications.models import OutboundMessage

    by_reference: dict[str, int] = {}
    outbox = dict(OutboundMessage.objects.filter(
        pk__in=_outbox_ids(references), ticket__isnull=False).values_list("pk", "ticket_id"))
    for reference in references:
        match = OUTBOX_MESSAGE_ID.fullmatch(reference)
        if match and int(match.group(1)) in outbox:
            by_reference[reference] = outbox[int(match.group(1))]
    inbound = InboundMessage.objects.filter(
        provider=PROVIDER, provider_message_id__in=references, ticket__isnull=False,
    ).values_list("provider_message_id", "ticket_id")
    for reference, ticket_id in inbound:
        by_reference.setdefault(reference, ticket_id)
    ticket_ids = [by_reference[ref] for ref in references if ref in by_reference]
    return list(dict.fromkeys(ticket_ids))


def _record_bounce(reception: _Reception, message: EmailMessage) -> InboundMessage:
    from ventanilla.notifications.models import OutboundMessage
    from ventanilla.notifications.services import outbox_delivery_update

    domain = outbound_domain()
    returned = sorted({
        int(match.group(1))
        for match in OUTBOX_MESSAGE_ID.finditer(parse.searchable_text(message))
        if match.group(2).lower().rstrip(".") == domain
    })
    report = parse.delivery_report(message)
    marked = []
    if report.failed and returned:
        rows = (OutboundMessage.objects.filter(pk__in=returned, channel=PROVIDER)
                .exclude(provider_message_id=""))
        for row in rows:
            if outbox_delivery_update(channel=PROVIDER, provider_message_id=row.provider_message_id,
                                      status="failed", error=report.error):
                marked.append(row.pk)
    if marked:
        reason = _("Aviso de no entrega: el mensaje saliente %(ids)s quedó como fallido "
                   "(%(error)s).") % {"ids": ", ".join(f"#{pk}" for pk in marked),
                                      "error": report.error}
    elif report.failed:
        reason = _("Aviso de no entrega de un mensaje que no es de la plataforma (%(error)s).") % {
            "error": report.error}
    else:
        reason = _("Aviso de demora en la entrega (%(error)s).") % {"error": report.error}
    return reception.ignore(reason, bounced_outbound_ids=returned)


def _content(reception: _Reception, message: EmailMessage, sender: parse.Sender,
             references: list[str]) -> InboundContent:
    full_text = parse.body_text(message)
    text = parse.strip_quoted_reply(full_text)
    attachments, refused = _attachments(message)
    notes, problem = [], ""
    if refused:
        notes.append(_("Archivos adjuntos no guardados:") + "\n"
                     + "\n".join(f"- {line}" for line in refused))
        problem = _("Adjuntos rechazados: %(files)s") % {"files": "; ".join(refused)}
    reply_to = parse.sender_of(message, "Reply-To")
    endpoint = reception.endpoint
    return InboundContent(
        endpoint=endpoint, provider_message_id=reception.message_id,
        identity_kind=IdentityKind.EMAIL, identity_value=sender.address,
        identity_verified=False,  # anyone can write any From:
        reply_channel=PROVIDER, reply_address=(reply_to or sender).address,
        sender_name=sender.name, email=sender.address, subject=reception.subject,
        text=text, attachments=attachments, notes=notes,
        thread_ticket_ids=_thread_ticket_ids(references),
        thread_folio=parse.folio_in(reception.subject),
        data={**(reception.data or {}),
              "email": {"from": sender.address, "message_id": reception.message_id,
                        "in_reply_to": references[:1], "quote_trimmed": text != full_text}},
        problem=problem[:300], raw=reception.raw if problem else b"", raw_name=RAW_NAME,
    )


def _attachments(message: EmailMessage):
    """The files worth keeping, checked like a portal upload, and a line per refused one."""
    kept, refused = [], []
    max_files = settings.ATTACHMENT_MAX_FILES
    for part in parse.attachment_parts(message):
        name = part.filename
        if len(kept) >= max_files:
            refused.append(_("«%(name)s»: se superó el máximo de %(max)d archivos por "
                             "mensaje.") % {"name": name, "max": max_files})
            continue
        try:
            kept.append(check_upload(SimpleUploadedFile(name, part.content, part.content_type)))
        except ValidationError as exc:
            refused.append(" ".join(exc.messages))
    return kept, refused


def inbound_reprocess(message: InboundMessage) -> InboundResult | InboundMessage:
    """Read a quarantined message's raw bytes again (``channels.services.inbound_reprocess``
    calls this after an administrator fixed an endpoint or a setting). The same row is
    updated: it becomes processed, or stays quarantined with the new reason."""
    with message.raw.open("rb") as stored:
        raw = stored.read()
    recipients = (message.data or {}).get("envelope_recipients") or None
    return email_process(raw, envelope_recipients=recipients, source="reprocess",
                         retry_of=message)


# --- outbound -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundEnvelope:
    subject: str
    headers: dict[str, str]
    reply_to: list[str]


def outbound_envelope(message) -> OutboundEnvelope:
    """Subject and headers of an outbox e-mail so the citizen's answer comes back to the
    ticket: a stable Message-ID, Reply-To the institution's mailbox, In-Reply-To the
    person's latest e-mail on the ticket, the folio in the subject (for clients that drop
    the headers) and the marks that stop auto-responders answering us."""
    headers = {
        "Message-ID": f"<outbox-{message.pk}@{outbound_domain()}>",
        "Auto-Submitted": "auto-generated",
        "X-Ventanilla-Loop": platform_address() or outbound_domain(),
    }
    reply_to = []
    if message.institution_id:
        endpoint = endpoint_sending(institution_id=message.institution_id, provider=PROVIDER)
        if endpoint is not None:
            name = endpoint.display_name or message.institution.name
            reply_to = [formataddr((name, endpoint.address))]
    subject = message.subject
    if message.ticket_id:
        folio = message.ticket.folio
        if folio.lower() not in subject.lower():
            subject = f"[{folio}] {subject}"
        latest = (
            InboundMessage.objects.filter(provider=PROVIDER, ticket_id=message.ticket_id)
            .exclude(provider_message_id="").exclude(provider_message_id__startswith="sha256:")
            .order_by("-received_at", "-pk").values_list("provider_message_id", flat=True)
            .first()
        )
        if latest:
            headers["In-Reply-To"] = f"<{latest}>"
            headers["References"] = f"<{latest}>"
            headers["Auto-Submitted"] = "auto-replied"
    return OutboundEnvelope(subject=subject[:250], headers=headers, reply_to=reply_to)
