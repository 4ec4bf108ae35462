"""Splitting a Meta webhook body into independent units: one per message (with a copy of
the body holding only that message, kept as the raw for a replay), one per delivery status,
and one per part whose shape is unknown (quarantined on its own)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

WHATSAPP_OBJECT = "whatsapp_business_account"
# Webhook ``object`` → provider of the Messenger Platform.
SOCIAL_OBJECTS = {"page": "messenger", "instagram": "instagram"}
# A provider timestamp this far in the future is a clock problem, not a reception time.
CLOCK_SKEW = timedelta(minutes=5)
WHATSAPP_STATUSES = {"sent", "delivered", "read", "failed"}


class Unprocessable(Exception):
    """A message that cannot become a ticket message (quarantined with this reason)."""

    def __init__(self, reason: str, *, endpoint=None):
        super().__init__(reason)
        self.reason = reason
        self.endpoint = endpoint


class NotARequest(Exception):
    """A message that is deliberately not a ticket message (a reaction): recorded as
    ignored with this reason."""


@dataclass(frozen=True)
class MessageUnit:
    provider: str
    body: dict  # a webhook body holding this message only: the raw kept for a replay
    message_id: str
    sender: str

    @property
    def raw(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False, indent=1).encode()

    @property
    def raw_name(self) -> str:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.message_id)[-80:] or "mensaje"
        return f"{self.provider}-{safe}.json"


@dataclass(frozen=True)
class StatusUnit:
    channel: str
    provider_message_id: str
    status: str
    at: datetime | None
    error: str = ""


@dataclass(frozen=True)
class MalformedUnit:
    provider: str
    body: dict
    reason: str


def without_nul(value):
    """The parsed body without NUL characters, which PostgreSQL's text and jsonb columns
    refuse (SQLite keeps them): a signed body carrying one must still be stored."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def dicts(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def as_list(value) -> list:
    return value if isinstance(value, list) else []


def as_dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def epoch_time(value, *, millis: bool = False) -> datetime | None:
    """A provider's epoch timestamp; None when absent, unreadable or in the future."""
    try:
        seconds = float(value) / (1000 if millis else 1)
        at = datetime.fromtimestamp(seconds, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return None if at > timezone.now() + CLOCK_SKEW else at


def digits(value) -> str:
    return re.sub(r"\D", "", str(value or ""))


def whatsapp_units(payload: dict) -> Iterator:
    for entry in dicts(payload.get("entry")):
        for change in dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field", "messages") != "messages" or not isinstance(value, dict):
                continue  # account, template and quality updates: not for this platform
            metadata = as_dict(value.get("metadata"))
            contacts = dicts(value.get("contacts"))
            for message in as_list(value.get("messages")):
                single = {"object": WHATSAPP_OBJECT, "entry": [{"id": entry.get("id"), "changes": [
                    {"field": "messages", "value": {
                        "messaging_product": "whatsapp", "metadata": metadata,
                        "contacts": _contact_for(contacts, message), "messages": [message]}}]}]}
                if not isinstance(message, dict):
                    yield MalformedUnit("whatsapp", single,
                                         _("Mensaje de WhatsApp con formato desconocido."))
                    continue
                yield MessageUnit("whatsapp", single, str(message.get("id") or "")[:255],
                                   digits(message.get("from")))
            for status in dicts(value.get("statuses")):
                name = str(status.get("status") or "")
                if name not in WHATSAPP_STATUSES or not status.get("id"):
                    continue  # "deleted", "warning"…: nothing to record on the outbox
                errors = dicts(status.get("errors"))
                error = ""
                if errors:
                    first = errors[0]
                    error = " — ".join(str(part) for part in (
                        first.get("code"), first.get("title"), first.get("message"),
                        as_dict(first.get("error_data")).get("details")) if part)
                yield StatusUnit("whatsapp", str(status["id"]), name,
                                  epoch_time(status.get("timestamp")), error)


def _contact_for(contacts: list[dict], message) -> list[dict]:
    sender = digits(message.get("from")) if isinstance(message, dict) else ""
    for contact in contacts:
        if digits(contact.get("wa_id")) == sender:
            return [contact]
    return contacts[:1] if len(contacts) == 1 else []


def social_units(payload: dict, *, provider: str) -> Iterator:
    for entry in dicts(payload.get("entry")):
        for event in as_list(entry.get("messaging")):
            single = {"object": payload.get("object"), "entry": [
                {"id": entry.get("id"), "time": entry.get("time"), "messaging": [event]}]}
            if not isinstance(event, dict):
                yield MalformedUnit(provider, single,
                                     _("Evento de %(provider)s con formato desconocido.")
                                     % {"provider": provider})
                continue
            if isinstance(event.get("message"), dict):
                message = event["message"]
                if message.get("is_echo"):
                    continue  # our own page's message, echoed back
                yield MessageUnit(provider, single, str(message.get("mid") or "")[:255],
                                   str(as_dict(event.get("sender")).get("id") or ""))
            elif isinstance(event.get("delivery"), dict) or isinstance(event.get("read"), dict):
                if isinstance(event.get("delivery"), dict):
                    status, receipt = "delivered", event["delivery"]
                else:
                    status, receipt = "read", event["read"]
                mids = [str(mid) for mid in as_list(receipt.get("mids")) if mid]
                if receipt.get("mid"):
                    mids.append(str(receipt["mid"]))
                at = epoch_time(receipt.get("watermark") or event.get("timestamp"), millis=True)
                for mid in mids:  # Messenger "read" carries only a watermark: nothing to map
                    yield StatusUnit(provider, mid, status, at)
            # Postbacks, reactions, referrals, opt-ins: not a person's request.


def units_of(payload: dict) -> Iterator | None:
    """The units of a parsed body, or None when its ``object`` is not one of Meta's."""
    kind = payload.get("object")
    if kind == WHATSAPP_OBJECT:
        return whatsapp_units(payload)
    if kind in SOCIAL_OBJECTS:
        return social_units(payload, provider=SOCIAL_OBJECTS[kind])
    return None
