"""Answers out on WhatsApp, Messenger and Instagram through the Graph Send API."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ventanilla.channels import meta_graph
from ventanilla.channels.meta_graph import PermanentGraphError
from ventanilla.channels.selectors import endpoint_sending
from ventanilla.channels.whatsapp.units import dicts, digits
from ventanilla.citizens.models import ChannelIdentity, IdentityKind
from ventanilla.notifications.services import PermanentDeliveryError

# Longest text each channel accepts in one message (Instagram: 1000 bytes of UTF-8; kept in
# characters here, the Spanish templates are mostly ASCII).
TEXT_LIMITS = {"whatsapp": 4096, "messenger": 2000, "instagram": 1000}
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
TEMPLATE_TEXT_LENGTH = 160
URL_PATTERN = re.compile(r"https?://\S+")
FOLIO_PREFIX = re.compile(r"^\s*\[[^\]]*\]\s*")


def outbound_prepare(*, channel: str, subject: str, body: str, ticket) -> str:
    """The text to send: the subject line, then the body, cut to the channel's limit at a
    word boundary with "…", keeping the body's last link (the tracking page) when cut."""
    text = "\n\n".join(part for part in (subject.strip(), body.strip()) if part)
    return _shorten(text, TEXT_LIMITS.get(channel, TEXT_LIMITS["instagram"]))


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    links = URL_PATTERN.findall(text)
    link = links[-1] if links and len(links[-1]) < limit // 2 else ""
    tail = f"…\n\n{link}" if link else "…"
    room = limit - len(tail)
    cut = text[:room]
    if not text[room].isspace():
        # The limit falls inside a word: drop it, unless that drops most of the text.
        boundary = max(cut.rfind(" "), cut.rfind("\n"))
        if boundary > room // 2:
            cut = cut[:boundary]
    return cut.rstrip() + tail


def outbound_send(message) -> str:
    """Deliver an outbox row on WhatsApp, Messenger or Instagram; returns Meta's message id
    (status webhooks update the row through it)."""
    if message.channel == "whatsapp":
        return _send_whatsapp(message)
    if message.channel in ("messenger", "instagram"):
        return _send_social(message)
    raise PermanentDeliveryError(f"channel {message.channel!r} is not a Meta channel")


def _within_window(kind: str, value: str) -> bool:
    last = (ChannelIdentity.objects.filter(kind=kind, value=value)
            .values_list("last_inbound_at", flat=True).first())
    return last is not None and timezone.now() - last < CUSTOMER_SERVICE_WINDOW


def _sender_endpoint(message, provider: str):
    endpoint = endpoint_sending(institution_id=message.institution_id, provider=provider)
    if endpoint is None:
        raise PermanentDeliveryError(
            f"institution {message.institution_id} has no active {provider} endpoint")
    return endpoint


def _send_whatsapp(message) -> str:
    endpoint = _sender_endpoint(message, "whatsapp")
    wa_id = digits(message.recipient)
    if not wa_id:
        raise PermanentDeliveryError(f"not a WhatsApp id: {message.recipient!r}")
    path = f"{endpoint.address}/messages"
    if _within_window(IdentityKind.WHATSAPP, wa_id):
        try:
            answer = meta_graph.graph_post(path, {
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
                "type": "text", "text": {"preview_url": False, "body": message.body_text},
            })
        except PermanentGraphError as exc:
            # Our clock and Meta's disagree at the window's edge: the template still works.
            if exc.code != meta_graph.WHATSAPP_OUTSIDE_WINDOW:
                raise
            answer = meta_graph.graph_post(path, _whatsapp_template(message, wa_id))
    else:
        answer = meta_graph.graph_post(path, _whatsapp_template(message, wa_id))
    sent = dicts(answer.get("messages"))
    # Graph accepted the message: a missing id must not make the outbox send it again.
    return str(sent[0].get("id") or "") if sent else ""


def _whatsapp_template(message, wa_id: str) -> dict:
    folio = message.ticket.folio if message.ticket_id else ""
    # Template parameters may not hold line breaks, tabs or runs of spaces (Meta refuses
    # them with a 132000-series error), nor be empty.
    summary = " ".join(FOLIO_PREFIX.sub("", message.subject or "").split())
    if not summary:
        summary = " ".join((message.body_text or "").split())
    if len(summary) > TEMPLATE_TEXT_LENGTH:
        summary = summary[:TEMPLATE_TEXT_LENGTH - 1].rstrip() + "…"
    return {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id,
        "type": "template",
        "template": {
            "name": settings.WHATSAPP_NOTICE_TEMPLATE,
            "language": {"code": settings.WHATSAPP_NOTICE_TEMPLATE_LANGUAGE},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": folio or "—"},
                {"type": "text", "text": summary or "—"},
            ]}],
        },
    }


def _send_social(message) -> str:
    channel = message.channel
    endpoint = _sender_endpoint(message, channel)
    user_id = (message.recipient or "").strip()
    if not user_id:
        raise PermanentDeliveryError("no recipient id")
    payload = {"recipient": {"id": user_id}, "message": {"text": message.body_text}}
    if _within_window(IdentityKind.SOCIAL, f"{channel}:{user_id}"):
        payload["messaging_type"] = "RESPONSE"
    else:
        payload["messaging_type"] = "MESSAGE_TAG"
        payload["tag"] = "ACCOUNT_UPDATE" if channel == "messenger" else "HUMAN_AGENT"
    answer = meta_graph.graph_post(f"{endpoint.address}/messages", payload)
    return str(answer.get("message_id") or "")
