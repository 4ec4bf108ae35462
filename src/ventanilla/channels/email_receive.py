"""The SMTP/LMTP receiver: the institution's MX (or its mail server's LMTP transport)
hands messages straight to Ventanilla.

A recipient is accepted only if an active e-mail endpoint receives at it (``550 5.1.1``
otherwise, so the sending server bounces at once instead of us quarantining spam to
random addresses). ``250`` is answered only after the message is stored; a failure
answers ``451 4.3.0`` and the sending server retries later (the Message-ID dedupe makes a
second delivery one ticket).
"""

from __future__ import annotations

import asyncio
import logging
from email.utils import parseaddr

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections, connections

from ventanilla.channels.email import PROVIDER, email_process
from ventanilla.channels.selectors import endpoint_for

logger = logging.getLogger(__name__)


def _in_worker_thread(function, *args, **kwargs):
    """Run a database function in a thread of its own connection, closed afterwards (the
    event loop's thread never touches the database)."""
    close_old_connections()
    try:
        return function(*args, **kwargs)
    finally:
        connections.close_all()


def _receiving(address: str) -> bool:
    return endpoint_for(provider=PROVIDER, address=address) is not None


class InboundMailHandler:
    """aiosmtpd handler shared by the SMTP and the LMTP server."""

    def __init__(self, *, lmtp: bool = False) -> None:
        self.lmtp = lmtp

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        normalized = parseaddr(address)[1].strip().lower()
        try:
            known = await asyncio.to_thread(_in_worker_thread, _receiving, normalized)
        except Exception:
            logger.exception("receive-mail: could not check recipient %s", normalized)
            return "451 4.3.0 Temporary failure, try again later"
        if not known:
            return "550 5.1.1 Recipient address rejected: no such mailbox here"
        envelope.rcpt_tos.append(normalized)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        # What a final delivery agent adds: the envelope sender, so that a bounce (null
        # sender) is recognisable even when its From: looks like a person.
        raw = f"Return-Path: <{envelope.mail_from or ''}>\r\n".encode() + raw
        source = "lmtp" if self.lmtp else "smtp"
        try:
            outcome = await asyncio.to_thread(
                _in_worker_thread, email_process, raw,
                envelope_recipients=list(envelope.rcpt_tos), source=source)
        except Exception:
            # The sender's address is personal data: the log names the size only.
            logger.exception("receive-mail: a message of %s bytes was not stored; asked to "
                             "retry", len(raw))
            reply = "451 4.3.0 Temporary failure storing the message, try again later"
        else:
            record = getattr(outcome, "message", outcome)
            reply = f"250 2.0.0 Stored as inbound message {record.pk}"
        if self.lmtp:
            # LMTP answers DATA once per accepted recipient (RFC 2033 §4.2).
            return "\r\n".join([reply] * max(len(envelope.rcpt_tos), 1))
        return reply


class LmtpController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def mail_receiver(*, host: str, port: int, lmtp: bool = False) -> Controller:
    """A started-on-demand receiver (``.start()`` / ``.stop()``, runs in its own thread)."""
    handler = InboundMailHandler(lmtp=lmtp)
    controller_class = LmtpController if lmtp else Controller
    return controller_class(
        handler, hostname=host, port=port,
        data_size_limit=settings.INBOUND_MAIL_MAX_BYTES,
        # Addresses and headers may be UTF-8 (RFC 6531).
        enable_SMTPUTF8=True,
        ident="Ventanilla",
    )
