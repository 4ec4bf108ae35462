"""Personal tracking links: a signed, expiring, short link to one ticket's tracking page.

The tracking form asks for folio and e-mail, which a person who writes only by SMS or
WhatsApp may not have given. Messages on those channels carry this link instead. It holds
the ticket's random ``public_id`` (never the folio, which is guessable), the day it was
issued and an HMAC of both with the site's secret, truncated to 96 bits. It is kept short
on purpose: an SMS part is 160 characters and the link must fit beside the message.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from ventanilla.tickets.models import Ticket

SALT = "ventanilla.portal.tracking-link"
SIGNATURE_BYTES = 12  # 96 bits: 16 characters in base64url


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str) -> str:
    return _b64(salted_hmac(SALT, payload, algorithm="sha256").digest()[:SIGNATURE_BYTES])


def tracking_link_token(ticket: Ticket, *, issued: date | None = None) -> str:
    day = (issued or date.today()).toordinal()
    payload = f"{_b64(ticket.public_id.bytes)}.{day:x}"
    return f"{payload}.{_signature(payload)}"


def tracking_link_url(ticket: Ticket) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("portal:track-link",
                                                   args=[tracking_link_token(ticket)])


def tracking_link_ticket(token: str) -> Ticket | None:
    """The ticket of a valid, unexpired link; None for anything else."""
    try:
        uid, day_hex, signature = token.split(".")
        payload = f"{uid}.{day_hex}"
        if not constant_time_compare(signature, _signature(payload)):
            return None
        issued = int(day_hex, 16)
        public_id = uuid.UUID(bytes=_unb64(uid))
    except (ValueError, binascii.Error):
        return None
    age_days = date.today().toordinal() - issued
    if age_days < 0 or age_days > settings.TRACKING_LINK_MAX_AGE_DAYS:
        return None
    return Ticket.objects.filter(public_id=public_id).first()
