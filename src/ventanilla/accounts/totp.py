"""TOTP (RFC 6238) and recovery-code primitives, without database access.

pyotp computes the codes; this module adds what pyotp leaves to the caller: which time step
a code matched (so the caller can refuse reuse), the provisioning QR as inline SVG (segno,
rendered on the server, no JavaScript) and the recovery codes with their keyed hash.
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno
from django.utils.crypto import salted_hmac

ISSUER = "Ventanilla"
STEP_SECONDS = 30
DIGITS = 6
# Accept the previous and the next step too (clock drift of up to ±30 s).
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# 10 characters of Crockford-like base32 without look-alikes: 50 bits per code.
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
RECOVERY_CODE_LENGTH = 10
RECOVERY_HASH_SALT = "ventanilla.accounts.recovery-code"


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace() and ch != "-")


def matching_step(secret: str, code: str, *, after_step: int | None,
                  now: float | None = None) -> int | None:
    """The time step (within ±VALID_WINDOW of now) whose code equals ``code`` and that is
    later than ``after_step`` (the last one already used), or None."""
    code = normalize_code(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = _totp(secret)
    step_now = current_step(now)
    found = None
    for step in range(step_now - VALID_WINDOW, step_now + VALID_WINDOW + 1):
        if after_step is not None and step <= after_step:
            continue
        # Compare every candidate (no early exit) so timing does not tell which one matched.
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code) and found is None:
            found = step
    return found


def code_at(secret: str, now: float | None = None) -> str:
    """The code an authenticator app shows at ``now`` (used by tests and the demo)."""
    return _totp(secret).at(time.time() if now is None else now)


def provisioning_uri(secret: str, account: str) -> str:
    return _totp(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG (no XML declaration, scales with CSS)."""
    qr = segno.make(uri, error="m")
    return qr.svg_inline(scale=5, border=2, dark="#000", light="#fff", omitsize=True,
                         title="QR", svgclass="totp-qr")


def format_secret(secret: str) -> str:
    """Groups of four for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_code_hash(code: str) -> str:
    """Keyed hash (HMAC-SHA256 with SECRET_KEY): a leaked table alone cannot be brute-forced
    offline, and a fixed-cost hash lets the login look the code up in one query."""
    normalized = normalize_code(code).upper()
    return salted_hmac(RECOVERY_HASH_SALT, normalized, algorithm="sha256").hexdigest()
