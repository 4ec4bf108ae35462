"""Encryption at rest for the few secrets the platform must be able to read back (today the
authenticator secret: a TOTP check needs the secret itself, so it cannot be hashed).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``). The keys come from
``SECRET_ENCRYPTION_KEYS`` (comma-separated Fernet keys, newest first, so a key can be
rotated: values encrypted with an older key still open and ``reencrypt`` moves them to the
newest). Without it the key is derived from SECRET_KEY (HKDF), which ties the secrets to
SECRET_KEY: deployments set SECRET_ENCRYPTION_KEYS so that rotating SECRET_KEY does not lock
every staff member out of their second factor.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _derived_key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"ventanilla.accounts.secretbox")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    fernets = [Fernet(key.encode()) for key in keys] or [Fernet(_derived_key(secret_key))]
    return MultiFernet(fernets)


def _current_box() -> MultiFernet:
    return _box(tuple(settings.SECRET_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current_box().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext; raises ``InvalidToken`` when no configured key opens it."""
    return _current_box().decrypt(token.encode()).decode()


def reencrypt(token: str) -> str:
    """The same plaintext under the newest key (for key rotation)."""
    return _current_box().rotate(token.encode()).decode()


__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]
