"""Rate limits for the public web pages, counted like the API throttles.

``rate_limit(scope)`` decorates a view: each request of the limited methods adds one to a
fixed-window counter (``api.throttling.window_increment``: one atomic increment in Redis or
the database cache table) keyed by the client address — or by a target such as the folio
being looked up, to stop enumeration from many addresses. Over the limit the person gets
HTTP 429 with ``Retry-After`` and a page in Spanish (or, with ``block=False``, the view
learns it through ``request.rate_limited`` and re-renders its form with what was typed).

The client address is the one the outermost trusted proxy saw (``TRUSTED_PROXY_COUNT``),
never an X-Forwarded-For entry the client wrote itself. IPv6 clients are counted per /64,
the block one subscriber controls. Keys hold a hash, not the address.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from ventanilla.api.throttling import window_increment

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|m|min|h|hour|d|day)\s*$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600,
                 "d": 86400, "day": 86400}


@dataclass(frozen=True)
class Limited:
    """What a view learns when a request went over a limit (``request.rate_limited``)."""

    scope: str
    retry_after: int


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/h"`` → (20, 3600); ``"10/10m"`` → (10, 600)."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"invalid rate {rate!r}: expected '<count>/<period>', e.g. '20/h'")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNIT_SECONDS[unit]


def client_ip(request: HttpRequest) -> str:
    """The address the outermost trusted proxy saw (or REMOTE_ADDR without proxies)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        entries = [entry.strip() for entry in
                   request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
        # Each proxy appends the address it received the request from; the client may
        # have sent any entries of its own before them. Fewer entries than proxies means
        # the request did not come through them all: only REMOTE_ADDR is known for sure.
        if len(entries) >= proxies:
            remote = entries[-proxies]
    return remote or "unknown"


def client_key(request: HttpRequest) -> str:
    """The client address as a counting key: IPv6 by /64, anything unparsable as is."""
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def hit(scope: str, ident: str, *, now: float | None = None) -> Limited | None:
    """Count one request of ``ident`` in ``scope``; a ``Limited`` if it is over the limit."""
    if not settings.RATE_LIMIT_ENABLED:
        return None
    rate = settings.RATE_LIMITS.get(scope)
    if not rate:
        return None
    limit, duration = parse_rate(rate)
    now = time.time() if now is None else now
    window = int(now // duration)
    count = window_increment(f"rl:{scope}:{_digest(ident)}:{window}", timeout=duration + 1)
    if count <= limit:
        return None
    return Limited(scope=scope, retry_after=max(1, int((window + 1) * duration - now)))


def limited_response(request: HttpRequest, limited: Limited) -> HttpResponse:
    """The 429 page: what happened, when to try again, and that nothing was lost."""
    minutes = max(1, -(-limited.retry_after // 60))
    response = HttpResponse(
        render_to_string("429.html", {"minutes": minutes}, request=request), status=429)
    response["Retry-After"] = str(limited.retry_after)
    response["Cache-Control"] = "private, no-store"
    return response


def limited_json_response(request: HttpRequest, limited: Limited) -> HttpResponse:
    """429 for machine clients, in the Open311 error shape (a list of code + description)."""
    response = JsonResponse([{
        "code": 429,
        "description": _("Demasiadas solicitudes; intente de nuevo en %(s)d segundos.")
        % {"s": limited.retry_after},
    }], status=429, safe=False)
    response["Retry-After"] = str(limited.retry_after)
    return response


def rate_limit(scope: str, *, methods: tuple[str, ...] = ("POST",), target=None,
               block: bool = True, on_limit=limited_response):
    """Limit a view per client address, or per ``target(request, **view_kwargs)`` when
    given (a value such as a folio; requests where it returns "" are not counted).

    ``block=False`` lets the request through with ``request.rate_limited`` set, for views
    that answer with their own form (keeping what the person typed).
    """
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            limited = None
            if settings.RATE_LIMIT_ENABLED and request.method in methods:
                ident = target(request, **kwargs) if target else client_key(request)
                if ident:
                    limited = hit(scope, ident)
            if limited is not None and block:
                return on_limit(request, limited)
            if not hasattr(request, "rate_limited") or limited is not None:
                request.rate_limited = limited
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


def posted_folio(request: HttpRequest, **_kwargs) -> str:
    """Target for tracking lookups: the folio typed in the form, normalised."""
    return re.sub(r"\s+", "", request.POST.get("folio", ""))[:40].upper()


# --- duplicate submissions ---------------------------------------------------------------

def submission_fingerprint(request: HttpRequest, *parts: str) -> str:
    """Same content from the same address (normalised text) → same fingerprint."""
    normalised = "\x1f".join(" ".join(str(part).split()).casefold() for part in parts)
    return _digest(f"{client_key(request)}\x1e{normalised}")


def recent_submission(fingerprint: str) -> str | None:
    """The reference (e.g. a ticket's public id) stored for this content, if recent."""
    if settings.ANTISPAM_DUPLICATE_SECONDS <= 0:
        return None
    return cache.get(f"dup:{fingerprint}")


def remember_submission(fingerprint: str, reference: str) -> None:
    if settings.ANTISPAM_DUPLICATE_SECONDS > 0:
        cache.set(f"dup:{fingerprint}", reference,
                  timeout=settings.ANTISPAM_DUPLICATE_SECONDS)
