"""What the session remembers about how its person authenticated.

Keys (all in the server-side session, never in a cookie of their own):
- ``MFA_KEY``: ``"verified"`` once the second factor was checked in this session,
  ``"not_required"`` when the person has no authenticator and need not have one. Absent: a
  person who must enrol has not done it yet (the middleware sends them to enrolment).
- ``AUTH_AT_KEY``: when the login happened (for the absolute session lifetime).
- ``LAST_SEEN_KEY``: last request time (for the idle timeout), refreshed at most once a minute
  so that ordinary page views do not write the session.
- ``STAFF_KEY``: whether the idle timeout of staff or of citizens applies.
- ``PENDING_KEY``: between the password step and the code step of a login: who, with which
  backend, since when, and where to go afterwards. The person is *not* logged in meanwhile.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import login

from ventanilla.accounts.passwords import user_is_staff_member
from ventanilla.accounts.reauth import mark_recent_auth
from ventanilla.accounts.selectors import user_has_second_factor, user_requires_totp

MFA_KEY = "ventanilla_mfa"
MFA_VERIFIED = "verified"
MFA_NOT_REQUIRED = "not_required"
AUTH_AT_KEY = "ventanilla_auth_at"
LAST_SEEN_KEY = "ventanilla_last_seen"
STAFF_KEY = "ventanilla_staff"
PENDING_KEY = "ventanilla_pending_login"


def pending_login_max_age() -> int:
    return int(getattr(settings, "LOGIN_SECOND_STEP_MAX_AGE", 300))


def begin_pending_login(request, *, user, backend: str, next_url: str) -> None:
    request.session[PENDING_KEY] = {
        "user": user.pk, "backend": backend, "at": int(time.time()), "next": next_url,
    }


def pending_login(request) -> dict | None:
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - data.get("at", 0) > pending_login_max_age():
        request.session.pop(PENDING_KEY, None)
        return None
    return data


def clear_pending_login(request) -> None:
    request.session.pop(PENDING_KEY, None)


def mark_session_authenticated(request, *, user, second_factor_checked: bool) -> None:
    """Fill the session keys after a login (``django.contrib.auth.login`` has already rotated
    the session key)."""
    now = int(time.time())
    request.session[AUTH_AT_KEY] = now
    request.session[LAST_SEEN_KEY] = now
    request.session[STAFF_KEY] = user_is_staff_member(user)
    if second_factor_checked:
        request.session[MFA_KEY] = MFA_VERIFIED
    elif not user_requires_totp(user=user) and not user_has_second_factor(user=user):
        request.session[MFA_KEY] = MFA_NOT_REQUIRED
    else:
        request.session.pop(MFA_KEY, None)
    mark_recent_auth(request)


def complete_login(request, *, user, backend: str, second_factor_checked: bool) -> None:
    login(request, user, backend=backend)
    mark_session_authenticated(request, user=user, second_factor_checked=second_factor_checked)


def mark_second_factor_verified(request) -> None:
    request.session[MFA_KEY] = MFA_VERIFIED
    mark_recent_auth(request)


def session_second_factor_ok(request) -> bool:
    return request.session.get(MFA_KEY) in (MFA_VERIFIED, MFA_NOT_REQUIRED)
