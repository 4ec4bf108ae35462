"""SMS, independent of the provider: the text rules (GSM-7 or UCS-2, segments), the
inbound path every SMS provider shares, and the outbound adapter the outbox calls for
channel "sms" (``channels.outbound``).

A provider lives in its own module (``sms_twilio`` today) and offers:

- ``NAME``: its ``channels.models.Provider`` value;
- ``send(*, to, sender, body) -> str``: deliver one SMS, return the provider's message id
  (raise ``notifications.services.PermanentDeliveryError`` when no retry can help);
- ``fetch_media(url, *, max_bytes) -> bytes``: download an MMS attachment (raise
  ``MediaUnavailable`` when it cannot);
- ``inbound_from_raw(raw: bytes) -> SmsInbound``: re-read a kept webhook body.

Its webhook views check the provider's signature and turn the request into an
``SmsInbound`` for ``sms_inbound_process``. A second provider is one new module plus a
line in ``PROVIDERS``.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.translation import gettext as _

from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.channels.selectors import endpoint_for, endpoint_sending
from ventanilla.channels.services import (
    InboundContent,
    InboundResult,
    inbound_receive,
    inbound_record_unprocessed,
    inbound_requarantine,
)
from ventanilla.citizens.models import IdentityKind
from ventanilla.citizens.services import normalize_phone
from ventanilla.portal.access_links import tracking_link_url
from ventanilla.tickets.uploads import check_upload

logger = logging.getLogger(__name__)

# Provider name (``Provider`` value) → module. The first with an active endpoint of the
# institution sends its SMS.
PROVIDERS = {"twilio": "ventanilla.channels.sms_twilio"}

# --- encoding and segments -------------------------------------------------------------------

# 3GPP TS 23.038 default alphabet (without the escape code 0x1B) and its extension table,
# whose characters take two septets (escape + character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7 = "gsm7"
UCS2 = "ucs2"
# (characters in a single message, characters per part of a concatenated one): the user
# data header of a multi-part message takes 7 septets (GSM-7) or 3 code units (UCS-2).
SEGMENT_LIMITS = {GSM7: (160, 153), UCS2: (70, 67)}

# Closest GSM-7 spelling of common characters that are not in it; accented letters not
# listed here lose their accent (NFKD) when that gives GSM-7 characters.
TRANSLITERATION = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "´": "'", "`": "'", "′": "'",
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "″": '"',
    "…": "...", "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "•": "-", "·": ".",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\t": " ", "°": "o", "º": "o", "ª": "a",
    "ç": "c",
}
ELLIPSIS = "..."


def _gsm7_units(char: str) -> int | None:
    if char in GSM7_BASIC:
        return 1
    if char in GSM7_EXTENSION:
        return 2
    return None


def _units(text: str) -> tuple[str, list[int]]:
    gsm = [_gsm7_units(char) for char in text]
    if all(units is not None for units in gsm):
        return GSM7, gsm
    # UCS-2 as carriers send it today is UTF-16: characters past the BMP (emoji) take a
    # surrogate pair, two code units that cannot be split between parts.
    return UCS2, [2 if ord(char) > 0xFFFF else 1 for char in text]


def sms_segments(text: str) -> tuple[str, int, int]:
    """(encoding, segments, length) of ``text`` as a network sends it: the encoding is
    "gsm7" or "ucs2", the length counts septets (an extension character such as € counts
    two) or UTF-16 code units. A character pair that cannot be split (escape + character,
    a surrogate pair) moves whole to the next part, as phones do."""
    encoding, units = _units(text)
    length = sum(units)
    single, per_part = SEGMENT_LIMITS[encoding]
    if length <= single:
        return encoding, (1 if text else 0), length
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return encoding, parts, length


def sms_transliterate(text: str) -> str:
    """``text`` in GSM-7 when every character outside it has a close GSM-7 form (á → a,
    “ → ", … → ...); otherwise ``text`` unchanged, since it goes as UCS-2 anyway and
    keeps its accents there (an emoji, say)."""
    out = []
    for char in text:
        if _gsm7_units(char) is not None:
            out.append(char)
            continue
        if char in TRANSLITERATION:
            out.append(TRANSLITERATION[char])
            continue
        stripped = "".join(part for part in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(part))
        if stripped and all(_gsm7_units(part) is not None for part in stripped):
            out.append(stripped)
            continue
        return text
    return "".join(out)


def _transliterate_enabled() -> bool:
    return settings.SMS_TRANSLITERATE


def sms_fit(head: str, link: str = "", *, max_segments: int | None = None) -> str:
    """``head`` and then ``link`` on its own line, within ``max_segments``
    (settings.SMS_MAX_SEGMENTS): the head is cut at a word boundary and ends in "...";
    the link is never cut (a cut link is worse than none)."""
    max_segments = max(1, max_segments or settings.SMS_MAX_SEGMENTS)
    head = head.strip()

    def compose(text: str) -> str:
        return f"{text}\n{link}" if text and link else (text or link)

    def fits(text: str) -> bool:
        return sms_segments(text)[1] <= max_segments

    whole = compose(head)
    if fits(whole):
        return whole
    # Longest cut first: at spaces, then (one endless word) anywhere.
    cuts = [index for index in range(len(head) - 1, 0, -1) if head[index].isspace()]
    cuts += list(range(len(head) - 1, 0, -1))
    for cut in cuts:
        kept = head[:cut].rstrip(" \t\n,;:.-")
        if not kept:
            continue
        candidate = compose(kept + ELLIPSIS)
        if fits(candidate):
            return candidate
    if link and fits(link):
        return link
    # Not even the link fits (an absurd SITE_URL or budget): cut the characters.
    text = compose(head)
    while text and not fits(text):
        text = text[:-1]
    return text


# --- outbound ---------------------------------------------------------------------------------

def _tracking_link(ticket) -> str:
    # A personal signed link: the tracking form asks for an e-mail an SMS-only person may
    # not have given.
    if getattr(ticket, "public_id", None):
        return tracking_link_url(ticket)
    return settings.SITE_URL.rstrip("/") + reverse("portal:track")


def outbound_prepare(*, channel: str, subject: str, body: str, ticket) -> str:
    """The SMS for a rendered message: who writes (the institution), the subject line
    (it names the folio and what happened) and the tracking link; the e-mail body is
    left out, an SMS is not an e-mail. Kept in GSM-7 when transliteration can (settings
    ``SMS_TRANSLITERATE``, default True) and cut to ``SMS_MAX_SEGMENTS``."""
    headline = " ".join(subject.split()) or next(
        (" ".join(line.split()) for line in body.splitlines() if line.strip()), "")
    institution = getattr(ticket, "institution", None)
    sender_name = str(institution) if institution is not None else ""
    if sender_name and sender_name.lower() not in headline.lower():
        headline = f"{sender_name}: {headline}"
    link = _tracking_link(ticket) if ticket is not None else ""
    if _transliterate_enabled():
        headline = sms_transliterate(headline)
    return sms_fit(headline, link)


def e164(number: str) -> str:
    """'+56 9 1234 5678', '56912345678' → '+56912345678'."""
    return "+" + normalize_phone(number)


def provider_module(name: str):
    return importlib.import_module(PROVIDERS[name])


def outbound_send(message) -> str:
    """Send one outbox row through the provider the institution has an SMS number on;
    returns the provider's message id."""
    from ventanilla.notifications.services import PermanentDeliveryError

    if not message.recipient.strip() or not normalize_phone(message.recipient):
        raise PermanentDeliveryError("SMS sin número de destino.")
    for name in PROVIDERS:
        endpoint = (endpoint_sending(institution_id=message.institution_id, provider=name)
                    if message.institution_id else None)
        if endpoint is not None:
            return provider_module(name).send(to=e164(message.recipient),
                                              sender=e164(endpoint.address),
                                              body=message.body_text)
    raise PermanentDeliveryError("La institución no tiene un número de SMS activo.")


# --- inbound ----------------------------------------------------------------------------------

class MediaUnavailable(Exception):
    """An MMS attachment could not be downloaded (gone, refused, too big)."""


@dataclass(frozen=True)
class SmsMedia:
    url: str
    content_type: str


@dataclass(frozen=True)
class SmsInbound:
    """One SMS/MMS as a provider delivered it, already authenticated by the provider's
    view (signature, account)."""

    provider: str
    message_id: str
    to: str
    sender: str
    text: str = ""
    media: list[SmsMedia] = field(default_factory=list)
    raw: bytes = b""
    raw_name: str = "sms.txt"
    received_at: datetime | None = None
    data: dict = field(default_factory=dict)


# A phone number in international form; short codes (4 to 6 digits) and alphanumeric sender
# ids cannot be answered and are not a person's identity.
PHONE_SENDER = re.compile(r"^\+?[1-9]\d{7,14}$")
MEDIA_EXTENSIONS = {
    "image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/gif": "gif",
    "image/webp": "webp", "application/pdf": "pdf",
}


def _preview(text: str) -> str:
    return " ".join(text.split())[:80]


def _quarantine(inbound: SmsInbound, reason: str, *, endpoint=None,
                retry_of: InboundMessage | None = None) -> InboundMessage:
    if retry_of is not None:
        # Still failing: the row stays quarantined, with the new reason.
        logger.warning("reprocessed %s message %s still fails: %s", inbound.provider,
                       retry_of.pk, reason)
        return inbound_requarantine(message=retry_of, reason=reason)
    # A message without the provider's id is keyed by its body's digest, so a redelivery
    # of it is kept once too.
    message_id = inbound.message_id or (
        "sha256:" + hashlib.sha256(inbound.raw).hexdigest() if inbound.raw else "")
    return inbound_record_unprocessed(
        provider=inbound.provider, status=InboundStatus.QUARANTINED, reason=reason,
        raw=inbound.raw, provider_message_id=message_id, endpoint=endpoint,
        sender=inbound.sender, subject=_preview(inbound.text), data=inbound.data,
        raw_name=inbound.raw_name,
    )


def _already_received(inbound: SmsInbound) -> InboundMessage | None:
    # Read only: spares a redelivered MMS its downloads; inbound_receive's unique row is
    # what actually keeps the message single.
    if not inbound.message_id:
        return None
    return InboundMessage.objects.filter(provider=inbound.provider,
                                         provider_message_id=inbound.message_id).first()


def _media_attachments(inbound: SmsInbound) -> tuple[list, list[str], list[str]]:
    """(checked uploads, timeline notes, problems) for the message's media."""
    provider = provider_module(inbound.provider)
    attachments, notes, problems = [], [], []
    for index, media in enumerate(inbound.media, start=1):
        content_type = media.content_type.split(";")[0].strip().lower()
        extension = MEDIA_EXTENSIONS.get(content_type)
        reason = ""
        if extension is None:
            reason = _("tipo de archivo no admitido (%(type)s)") % {"type": content_type or "?"}
        elif len(attachments) >= settings.ATTACHMENT_MAX_FILES:
            reason = _("se superó el máximo de %(max)s archivos")
            reason %= {"max": settings.ATTACHMENT_MAX_FILES}
        else:
            try:
                content = provider.fetch_media(media.url,
                                               max_bytes=settings.ATTACHMENT_MAX_BYTES)
                upload = SimpleUploadedFile(f"sms-{index}.{extension}", content,
                                            content_type=content_type)
                attachments.append(check_upload(upload))
                continue
            except MediaUnavailable as exc:
                reason = str(exc)
            except ValidationError as exc:
                reason = " ".join(exc.messages)
        notes.append(_("Archivo adjunto no conservado (%(reason)s): %(url)s")
                     % {"reason": reason, "url": media.url})
        problems.append(reason)
    return attachments, notes, problems


def sms_inbound_process(inbound: SmsInbound, *,
                        retry_of: InboundMessage | None = None
                        ) -> InboundResult | InboundMessage:
    """Turn one authenticated SMS into a ticket message, or quarantine it with the reason.

    Returns the ``InboundResult`` (new ticket, message on the person's open ticket, or a
    duplicate) or the quarantined ``InboundMessage``."""
    if retry_of is None:
        existing = _already_received(inbound)
        if existing is not None:
            return InboundResult(existing, existing.ticket, False, True)
    if not inbound.message_id:
        return _quarantine(inbound, _("mensaje sin identificador del proveedor"),
                           retry_of=retry_of)
    endpoint = endpoint_for(provider=inbound.provider, address=normalize_phone(inbound.to))
    if endpoint is None:
        return _quarantine(
            inbound, _("número de destino sin punto de entrada activo: %(to)s")
            % {"to": inbound.to}, retry_of=retry_of)
    sender = inbound.sender.replace(" ", "")
    if not PHONE_SENDER.match(sender):
        return _quarantine(inbound, _("formato de remitente desconocido"), endpoint=endpoint,
                           retry_of=retry_of)
    attachments, notes, problems = _media_attachments(inbound)
    content = InboundContent(
        endpoint=endpoint, provider_message_id=inbound.message_id,
        identity_kind=IdentityKind.PHONE, identity_value=normalize_phone(sender),
        identity_verified=True, reply_channel="sms", reply_address=e164(sender),
        phone=e164(sender), text=inbound.text, attachments=attachments, notes=notes,
        join_open_conversation=True, received_at=inbound.received_at,
        data={**inbound.data, "media": len(inbound.media)},
        problem="; ".join(problems), raw=inbound.raw, raw_name=inbound.raw_name,
    )
    try:
        return inbound_receive(content=content, retry_of=retry_of)
    except ValidationError as exc:
        return _quarantine(inbound, " ".join(exc.messages), endpoint=endpoint,
                           retry_of=retry_of)


def inbound_reprocess(message: InboundMessage) -> InboundResult | InboundMessage:
    """Replay a quarantined SMS from its kept webhook body (after an administrator added
    the missing endpoint, say). Its signature was checked when it arrived."""
    with message.raw.open("rb") as handle:
        raw = handle.read()
    inbound = provider_module(message.provider).inbound_from_raw(raw)
    return sms_inbound_process(inbound, retry_of=message)
