"""The IMAP poller: for institutions whose mail already lands in a mailbox.

Each round logs in, reads the unseen messages with ``BODY.PEEK[]`` (reading does not mark
them), stores each through ``channels.email.email_process`` and only then flags it
``\\Seen``. A crash between the two leaves the message unseen; the next round reads it
again and the Message-ID dedupe keeps it one ticket. Nothing is deleted from the mailbox:
it stays the institution's archive.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl

from django.conf import settings
from django.db import DatabaseError

from ventanilla.channels.email import email_process
from ventanilla.channels.models import InboundMessage, InboundStatus

logger = logging.getLogger(__name__)

UID_IN_RESPONSE = re.compile(rb"UID (\d+)")


class MailboxError(Exception):
    """The mailbox could not be reached or read (network, TLS, login, mailbox name)."""


def _connect() -> imaplib.IMAP4:
    host, port = settings.IMAP_HOST, settings.IMAP_PORT
    timeout = settings.PROVIDER_HTTP_TIMEOUT
    try:
        if settings.IMAP_SSL:
            client = imaplib.IMAP4_SSL(host, port, ssl_context=ssl.create_default_context(),
                                       timeout=timeout)
        else:
            client = imaplib.IMAP4(host, port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"no se pudo conectar a {host}:{port}: {exc}") from exc
    try:
        client.login(settings.IMAP_USER, settings.IMAP_PASSWORD)
        status, detail = client.select(settings.IMAP_MAILBOX)
        if status != "OK":
            raise MailboxError(f"no se pudo abrir la casilla {settings.IMAP_MAILBOX!r}: "
                               f"{_text(detail)}")
    except (OSError, imaplib.IMAP4.error) as exc:
        _logout(client)
        raise MailboxError(f"{host}:{port} rechazó el acceso de {settings.IMAP_USER!r}: "
                           f"{exc}") from exc
    except MailboxError:
        _logout(client)
        raise
    return client


def _text(detail) -> str:
    return " ".join(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
                    for item in detail or [])


def _logout(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):
        client.logout()


def _fetch(client: imaplib.IMAP4, uid: bytes) -> bytes | None:
    status, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise MailboxError(f"no se pudo leer el mensaje UID {uid.decode()}: {_text(data)}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None  # expunged by someone else meanwhile


def fetch_mail_once() -> dict:
    """One round over the mailbox. Returns counts by outcome (``fetched``, ``processed``,
    ``duplicates``, ``ignored``, ``quarantined``, ``left_unseen``).

    Raises ``MailboxError`` when the mailbox cannot be reached; a database failure on one
    message leaves it (and the rest) unseen for the next round and re-raises.
    """
    if not settings.IMAP_HOST:
        raise MailboxError("IMAP_HOST no está configurado.")
    counts = {"fetched": 0, "processed": 0, "duplicates": 0, "ignored": 0, "quarantined": 0,
              "left_unseen": 0}
    client = _connect()
    try:
        status, data = client.uid("SEARCH", None, "UNSEEN")
        if status != "OK":
            raise MailboxError(f"la búsqueda de mensajes no leídos falló: {_text(data)}")
        uids = b" ".join(data or []).split()
        for position, uid in enumerate(uids):
            raw = _fetch(client, uid)
            if raw is None:
                continue
            counts["fetched"] += 1
            try:
                outcome = email_process(raw, source="imap")
            except DatabaseError:
                counts["left_unseen"] += len(uids) - position
                logger.exception("fetch-mail: database error; message UID %s left unseen",
                                 uid.decode())
                raise
            counts[_outcome_key(outcome)] += 1
            # Only now: the message is stored (processed, ignored or quarantined).
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    except (OSError, imaplib.IMAP4.error) as exc:  # TimeoutError is an OSError
        raise MailboxError(f"la conexión con {settings.IMAP_HOST} se interrumpió: {exc}"
                           ) from exc
    finally:
        _logout(client)
    return counts


def _outcome_key(outcome) -> str:
    if isinstance(outcome, InboundMessage):
        return {InboundStatus.IGNORED: "ignored"}.get(outcome.status, "quarantined")
    return "duplicates" if outcome.duplicate else "processed"
