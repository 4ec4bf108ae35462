"""Meta's Graph API, as the WhatsApp, Messenger and Instagram adapters use it: the webhook
signature, media downloads and the Send API, with Graph errors sorted into "retry later"
and "no retry will help".

Base URL, token and app secret are settings (``META_GRAPH_BASE_URL``,
``META_ACCESS_TOKEN``, ``META_APP_SECRET``); tests point the base URL at a local fake
Graph server (``tests/channels/fake_meta.py``).
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

import requests
from django.conf import settings

from ventanilla.notifications.services import PermanentDeliveryError

SIGNATURE_PREFIX = "sha256="

# Graph error codes that a later attempt can fix: throttling, Meta-side outages, and an
# expired or revoked access token (code 190). The token is a deployment setting: when an
# operator replaces it, the messages still pending go out, instead of every message of the
# outage failing at once. After OUTBOX_MAX_ATTEMPTS attempts and OUTBOX_RETRY_HOURS they
# fail and can be retried from the admin. Any other Graph error on a 4xx (100 invalid
# parameter, 131026 undeliverable, 132000-series template errors, 131047 outside the
# 24-hour window, Messenger's 10/551 "person not available"…) is permanent.
RETRYABLE_GRAPH_CODES = frozenset({
    1, 2,  # unknown error, service temporarily unavailable
    4, 17, 32, 613, 80007, 130429, 131048, 131056, 133016,  # rate limits
    190,  # access token expired or invalid: fixed by an operator, see above
    131000, 131016, 131057, 133004,  # "something went wrong", service down, maintenance
})
# WhatsApp: a free-form message outside the customer-service window.
WHATSAPP_OUTSIDE_WINDOW = 131047


class GraphError(Exception):
    """A Graph call that failed for a reason a retry may fix (the outbox retries it)."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class PermanentGraphError(PermanentDeliveryError):
    """A Graph refusal that no retry will fix; carries Meta's error code."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class MediaUnavailable(Exception):
    """A media file that could not be fetched; the message keeps a note instead."""


def signature_valid(*, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`` with the app
    secret. Without a configured secret nothing is accepted."""
    secret = settings.META_APP_SECRET
    if not secret or not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX):].strip().lower())


def verify_token_valid(token: str | None) -> bool:
    expected = settings.META_VERIFY_TOKEN
    if not expected or token is None:
        return False
    return hmac.compare_digest(expected.encode(), token.encode())


def graph_url(path: str) -> str:
    """The Graph API address of ``path`` (a media id, a phone-number id + /messages…)."""
    return f"{settings.META_GRAPH_BASE_URL.rstrip('/')}/{path.lstrip('/')}"


def _auth_headers() -> dict:
    return {"Authorization": f"Bearer {settings.META_ACCESS_TOKEN}"}


def _graph_error(response: requests.Response) -> tuple[int | None, str]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None, response.text[:200]
    if not isinstance(error, dict):
        return None, str(error)[:200]
    code = error.get("code")
    detail = (error.get("error_data") or {}).get("details") if isinstance(
        error.get("error_data"), dict) else None
    text = " — ".join(str(part) for part in (error.get("message"), detail) if part)
    return (code if isinstance(code, int) else None), text or response.reason


def graph_post(path: str, payload: dict) -> dict:
    """POST to the Graph API; returns the JSON answer. Raises ``GraphError`` (retried) or
    ``PermanentGraphError`` (the outbox fails the message at once)."""
    try:
        response = requests.post(graph_url(path), json=payload, headers=_auth_headers(),
                                 timeout=settings.PROVIDER_HTTP_TIMEOUT)
    except requests.RequestException as exc:  # network, timeout: retried
        raise GraphError(f"Graph API unreachable: {exc}") from exc
    if response.status_code < 300:
        try:
            return response.json()
        except ValueError as exc:
            raise GraphError("Graph API answered without JSON") from exc
    code, text = _graph_error(response)
    message = f"Graph API {response.status_code} (code {code}): {text}"
    status = response.status_code
    # A 4xx without a Graph error body comes from something in between (a proxy, a wrong
    # base URL): a configuration problem an operator can fix, so it is retried.
    if status >= 500 or status == 429 or code is None or code in RETRYABLE_GRAPH_CODES:
        raise GraphError(message, status=status, code=code)
    raise PermanentGraphError(message, status=status, code=code)


def _download(url: str, *, headers: dict) -> tuple[bytes, str]:
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    if urlsplit(url).scheme not in ("http", "https"):
        raise MediaUnavailable("enlace no es http(s)")
    try:
        with requests.get(url, headers=headers, stream=True,
                          timeout=settings.PROVIDER_HTTP_TIMEOUT) as response:
            if response.status_code != 200:
                raise MediaUnavailable(f"el servidor respondió {response.status_code}")
            content = b""
            for chunk in response.iter_content(64 * 1024):
                content += chunk
                if len(content) > max_bytes:
                    raise MediaUnavailable(f"supera el máximo de {max_bytes} bytes")
            return content, response.headers.get("Content-Type", "").split(";")[0].strip()
    except requests.RequestException as exc:
        raise MediaUnavailable(f"no se pudo descargar: {exc}") from exc


def whatsapp_media_download(media_id: str) -> tuple[bytes, str]:
    """A WhatsApp media file: its URL from ``GET /{media-id}``, then the bytes, both with the
    access token. Returns (bytes, content type)."""
    try:
        response = requests.get(graph_url(media_id), headers=_auth_headers(),
                                timeout=settings.PROVIDER_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise MediaUnavailable(f"no se pudo consultar el medio: {exc}") from exc
    if response.status_code != 200:
        code, text = _graph_error(response)
        raise MediaUnavailable(f"Graph respondió {response.status_code} ({code}): {text}")
    try:
        info = response.json()
        url = info["url"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MediaUnavailable("Graph no entregó el enlace del medio") from exc
    content, content_type = _download(str(url), headers=_auth_headers())
    return content, str(info.get("mime_type") or content_type)


def attachment_download(url: str) -> tuple[bytes, str]:
    """A Messenger/Instagram attachment: its payload URL is a signed CDN link, fetched
    without the token (the token must not leak to a CDN)."""
    return _download(url, headers={})


def social_profile_name(user_id: str, *, instagram: bool) -> str:
    """Best effort: the name Messenger/Instagram shows for a page-scoped id ("" when Graph
    does not give it; the webhook itself carries no name)."""
    fields = "name,username" if instagram else "first_name,last_name"
    try:
        response = requests.get(graph_url(user_id), params={"fields": fields},
                                headers=_auth_headers(), timeout=settings.PROVIDER_HTTP_TIMEOUT)
        data = response.json() if response.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        return ""
    if not isinstance(data, dict):
        return ""
    if instagram:
        return str(data.get("name") or data.get("username") or "")[:200]
    return " ".join(str(data.get(key) or "") for key in ("first_name", "last_name")).strip()[:200]
