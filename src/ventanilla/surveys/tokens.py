"""The survey link: ``/encuesta/<token>/``. The token is the invitation's id and an HMAC of
it (salted for surveys, so no other signed value of the site opens a survey), truncated to
96 bits. Short on purpose, like ``portal.access_links``: it travels inside SMS and WhatsApp
messages. Expiry and single use are kept in the invitation row, not in the token."""

from __future__ import annotations

import base64

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "ventanilla.surveys.invitation-link"
SIGNATURE_BYTES = 12  # 96 bits: 16 characters in base64url
MAX_TOKEN_LENGTH = 64


def _signature(payload: str, *, salt: str = SALT) -> str:
    digest = salted_hmac(salt, payload, algorithm="sha256").digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def invitation_token(invitation_id: int, *, salt: str = SALT) -> str:
    payload = _base36(invitation_id)
    return f"{payload}.{_signature(payload, salt=salt)}"


def invitation_id_from_token(token: str) -> int | None:
    """The invitation id a genuine token names; None for anything else (tampered, another
    salt, garbage)."""
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not payload.isalnum() or not payload.isascii():
        return None
    if not constant_time_compare(signature, _signature(payload)):
        return None
    try:
        return int(payload, 36)
    except ValueError:
        return None


def invitation_url(invitation_id: int) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("survey-answer",
                                                   args=[invitation_token(invitation_id)])
