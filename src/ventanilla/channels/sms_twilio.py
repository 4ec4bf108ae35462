"""Twilio, the first SMS provider: webhook signature, the inbound and status-callback form
bodies, the Messages REST call and media downloads. The provider-neutral rules live in
``channels.sms``.

Settings: ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` (signs webhooks and authenticates
REST calls), ``TWILIO_API_BASE_URL`` (a local fake server in tests),
``PROVIDER_HTTP_TIMEOUT``.

Signature (X-Twilio-Signature): base64 HMAC-SHA1, keyed with the auth token, of the URL
Twilio called followed by every POST parameter sorted by name, name and value
concatenated. The URL checked is the one Django sees (``request.build_absolute_uri()``)
and, because behind a reverse proxy the scheme or host Django sees differ from the public
ones Twilio called, also ``SITE_URL`` + the request path; each with and without the
default port, as Twilio's own libraries do. Configure the webhook in Twilio as
``{SITE_URL}/webhooks/twilio/sms/`` and let ``StatusCallback`` be set per message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from ventanilla.channels.sms import MediaUnavailable, SmsInbound, SmsMedia

logger = logging.getLogger(__name__)

NAME = "twilio"
SIGNATURE_HEADER = "HTTP_X_TWILIO_SIGNATURE"
MESSAGES_PATH = "/2010-04-01/Accounts/{account}/Messages.json"

# Twilio error codes that the same request will always get again (REST API errors):
# invalid To / From, not SMS-capable, unsubscribed recipient (STOP), region not enabled,
# message body too long, blocked or unreachable destination.
PERMANENT_ERROR_CODES = frozenset({
    21211, 21212, 21214, 21401, 21402, 21407, 21408, 21421, 21601, 21602, 21603, 21604,
    21606, 21608, 21610, 21612, 21614, 21617, 21659, 30003, 30004, 30005, 30006, 30007,
})

# MessageStatus of a status callback → delivery status of the outbox
# (``notifications.services.DELIVERY_ORDER``). Inbound statuses (receiving, received)
# are not about our messages and are ignored.
DELIVERY_STATUSES = {
    "accepted": "accepted", "scheduled": "accepted", "queued": "accepted",
    "sending": "accepted", "sent": "sent", "delivered": "delivered", "read": "read",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}
# Common delivery error codes, explained for the staff who read the delivery state.
DELIVERY_ERRORS = {
    "30001": "cola llena", "30002": "cuenta suspendida", "30003": "teléfono inalcanzable",
    "30004": "mensaje bloqueado", "30005": "destino desconocido", "30006": "teléfono fijo o "
    "red inalcanzable", "30007": "filtrado por el operador", "30008": "error desconocido",
}


class TwilioError(RuntimeError):
    """A Twilio failure worth retrying (429, 5xx, a malformed answer)."""


# --- signature ----------------------------------------------------------------------------

def compute_signature(auth_token: str, url: str, params) -> str:
    """Twilio's signature of ``url`` + ``params`` (a mapping, a QueryDict or pairs)."""
    if hasattr(params, "lists"):
        pairs = [(name, value) for name, values in params.lists() for value in values]
    elif hasattr(params, "items"):
        pairs = list(params.items())
    else:
        pairs = list(params)
    payload = url + "".join(name + value for name, value in sorted(pairs))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    without = urlunsplit(parts._replace(netloc=host))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default}"))
    if parts.port not in (None, default):
        return [url]
    return [without, with_port]


def signature_valid(*, url_candidates: list[str], params, signature: str) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    if not token or not signature:
        return False
    for url in url_candidates:
        for variant in _port_variants(url):
            if hmac.compare_digest(compute_signature(token, variant, params), signature):
                return True
    return False


def request_is_authentic(request) -> bool:
    """Signed by Twilio with our auth token, for our account."""
    candidates = [request.build_absolute_uri(),
                  settings.SITE_URL.rstrip("/") + request.get_full_path()]
    if not signature_valid(url_candidates=candidates, params=request.POST,
                           signature=request.META.get(SIGNATURE_HEADER, "")):
        return False
    account = settings.TWILIO_ACCOUNT_SID
    return bool(account) and hmac.compare_digest(request.POST.get("AccountSid", ""), account)


# --- inbound --------------------------------------------------------------------------------

class _Form:
    """A webhook form without NUL characters (PostgreSQL's text and jsonb columns refuse
    them; SQLite keeps them): a signed body carrying one must still be stored."""

    def __init__(self, form):
        self.form = form

    def get(self, key, default=None):
        value = self.form.get(key, default)
        return value.replace("\x00", "") if isinstance(value, str) else value


def inbound_from_form(form, *, raw: bytes) -> SmsInbound:
    """An incoming-message webhook body (MessageSid, From, To, Body, NumMedia,
    MediaUrl{N}, MediaContentType{N}…) as an ``SmsInbound``."""
    form = _Form(form)
    try:
        media_count = min(int(form.get("NumMedia") or 0), 10)  # Twilio sends at most 10
    except ValueError:
        media_count = 0
    media = [
        SmsMedia(url=form.get(f"MediaUrl{index}", ""),
                 content_type=form.get(f"MediaContentType{index}", ""))
        for index in range(media_count) if form.get(f"MediaUrl{index}")
    ]
    data = {key: form.get(key) for key in ("NumSegments", "FromCountry", "MessagingServiceSid")
            if form.get(key)}
    return SmsInbound(
        # Cut to the stored column's length, so the redelivery lookups find the stored row.
        provider=NAME, message_id=(form.get("MessageSid") or form.get("SmsMessageSid") or "")
        .strip()[:255], to=form.get("To", ""), sender=form.get("From", ""),
        text=form.get("Body", ""), media=media, raw=raw, raw_name="twilio-sms.txt",
        data=data,
    )


def inbound_from_raw(raw: bytes) -> SmsInbound:
    """The kept body of a webhook, read again (``sms.inbound_reprocess``)."""
    form = QueryDict(raw, encoding="utf-8") if raw else QueryDict()
    return inbound_from_form(form, raw=raw)


def _auth() -> tuple[str, str]:
    return settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN


def _same_origin(url: str, base: str) -> bool:
    first, second = urlsplit(url), urlsplit(base)
    return (first.scheme, first.netloc.lower()) == (second.scheme, second.netloc.lower())


def fetch_media(url: str, *, max_bytes: int) -> bytes:
    """Download an MMS attachment with the account's credentials. Only from Twilio's API
    host: the credentials never go anywhere else (a redirect to Twilio's storage drops
    them, ``requests`` strips Authorization on a change of host)."""
    if not _same_origin(url, settings.TWILIO_API_BASE_URL):
        raise MediaUnavailable(_("el archivo no está en el servidor del proveedor"))
    try:
        with requests.get(url, auth=_auth(), timeout=settings.PROVIDER_HTTP_TIMEOUT,
                          stream=True) as response:
            if response.status_code != 200:
                raise MediaUnavailable(_("el proveedor respondió %(status)s")
                                       % {"status": response.status_code})
            content = b""
            for chunk in response.iter_content(64 * 1024):
                content += chunk
                if len(content) > max_bytes:
                    raise MediaUnavailable(_("el archivo supera el máximo permitido"))
            return content
    except requests.RequestException as exc:
        logger.warning("twilio media download failed: %s", exc)
        raise MediaUnavailable(_("no se pudo descargar el archivo")) from exc


# --- status callbacks ---------------------------------------------------------------------------

def delivery_from_form(form) -> tuple[str, str, str] | None:
    """(message sid, outbox delivery status, error) of a status callback, or None when it
    is not about a message we send."""
    form = _Form(form)
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    status = DELIVERY_STATUSES.get((form.get("MessageStatus") or form.get("SmsStatus") or "")
                                   .strip().lower())
    if not sid or status is None:
        return None
    code = (form.get("ErrorCode") or "").strip()
    error = ""
    if code:
        error = f"Twilio {code}"
        if code in DELIVERY_ERRORS:
            error += f": {DELIVERY_ERRORS[code]}"
    return sid, status, error


# --- outbound ----------------------------------------------------------------------------------

def _error_of(response) -> tuple[int | None, str]:
    try:
        payload = response.json()
    except ValueError:
        return None, response.text[:200]
    if not isinstance(payload, dict):
        return None, str(payload)[:200]
    code = payload.get("code")
    return (code if isinstance(code, int) else None), str(payload.get("message", ""))[:300]


def send(*, to: str, sender: str, body: str) -> str:
    """POST one message to Twilio's Messages resource; returns its sid ("SM…")."""
    from ventanilla.notifications.services import PermanentDeliveryError

    account, token = _auth()
    if not account or not token:
        raise TwilioError("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set.")
    url = settings.TWILIO_API_BASE_URL.rstrip("/") + MESSAGES_PATH.format(account=account)
    data = {"To": to, "From": sender, "Body": body,
            "StatusCallback": settings.SITE_URL.rstrip("/") + reverse("twilio-status")}
    response = requests.post(url, data=data, auth=(account, token),
                             timeout=settings.PROVIDER_HTTP_TIMEOUT)
    if 200 <= response.status_code < 300:
        try:
            sid = response.json().get("sid")
        except (ValueError, AttributeError):
            sid = None
        if not sid:
            raise TwilioError(f"Twilio answered {response.status_code} without a sid.")
        return str(sid)
    code, message = _error_of(response)
    description = f"Twilio {response.status_code} {code or ''}: {message}".replace("  ", " ")
    # A refused request (400) is refused again as it is; a known permanent code too.
    # 401/403/404 (credentials, account) are configuration: retried while it is fixed.
    if code in PERMANENT_ERROR_CODES or response.status_code == 400:
        raise PermanentDeliveryError(description)
    raise TwilioError(description)
