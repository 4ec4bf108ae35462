"""Re-authentication for sensitive actions ("sudo mode").

A view decorated with ``@require_recent_auth`` runs only when the person confirmed their
password (and their second factor, when they have one) within ``REAUTH_MAX_AGE`` seconds.
Otherwise they are sent to ``/cuenta/confirmar/?next=<page>``. The ``next`` is always a
page that answers GET (this page, or for a POST the same-site page holding the form): a
POST that arrives without fresh authentication is not replayed after confirming (its form
data is dropped and the person submits the form again), so a forged or stale POST can never
ride on the confirmation.

Usage (other parts of the project)::

    from ventanilla.accounts.reauth import require_recent_auth

    @login_required            # optional: require_recent_auth also sends anonymous users to login
    @require_recent_auth
    def citizen_export_view(request, pk): ...

The login itself counts as a confirmation, so a person who has just logged in is not
asked again. The time of the last confirmation lives in the session only.
"""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

# Session key: UNIX time (int seconds) of the last password (+ second factor) confirmation.
REAUTH_SESSION_KEY = "ventanilla_reauth_at"
DEFAULT_REAUTH_MAX_AGE = 600


def reauth_max_age() -> int:
    return int(getattr(settings, "REAUTH_MAX_AGE", DEFAULT_REAUTH_MAX_AGE))


def mark_recent_auth(request) -> None:
    """Record that the person has just proved who they are (login or confirmation page)."""
    request.session[REAUTH_SESSION_KEY] = int(time.time())


def clear_recent_auth(request) -> None:
    request.session.pop(REAUTH_SESSION_KEY, None)


def has_recent_auth(request) -> bool:
    if not request.user.is_authenticated:
        return False
    at = request.session.get(REAUTH_SESSION_KEY)
    if not isinstance(at, int | float):
        return False
    age = time.time() - at
    # A timestamp in the future (clock skew, tampering with a signed-cookie backend) is refused.
    return 0 <= age <= reauth_max_age()


def reauth_url(next_path: str) -> str:
    return f"{reverse('accounts:reauth')}?{urlencode({'next': next_path})}"


def _safe_next_for(request) -> str:
    """The page to come back to, always one that answers GET: this page for GET/HEAD; for a
    POST, the same-site page the form was on (Referer), else the site's start page. The POST
    body is never replayed: the person submits the form again."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("accounts:after-login")


def require_recent_auth(view_func):
    """Decorator for function views: demand a fresh confirmation of the password."""

    @wraps(view_func)
    def _wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if has_recent_auth(request):
            return view_func(request, *args, **kwargs)
        target = reauth_url(_safe_next_for(request))
        if request.headers.get("HX-Request"):
            # htmx would swap the confirmation page into a fragment; ask it to navigate.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        # 303: the browser follows with GET, never re-sending a POST body.
        response = HttpResponseRedirect(target)
        response.status_code = 303
        return response

    _wrapped.requires_recent_auth = True
    return _wrapped
