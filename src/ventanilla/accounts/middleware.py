"""Session rules for people who are logged in (after ``AuthenticationMiddleware``).

1. Session lifetime: an idle timeout (``STAFF_SESSION_IDLE_TIMEOUT`` for staff,
   ``CITIZEN_SESSION_IDLE_TIMEOUT`` for citizens) and an absolute maximum since the login
   (``SESSION_ABSOLUTE_MAX_AGE``). An expired session is logged out and the request goes on
   as anonymous (pages that need a login then send the person to it).
2. A password flagged ``must_change_password`` (after an administrator reset) must be changed
   before anything else.
3. Under ``/consola/``, ``/admin/`` and ``/api/`` a session counts only once fully
   authenticated: the second factor was checked, or the person has none and needs none.
   Someone who must have one and has not enrolled is sent to enrolment; an API call gets 403.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from ventanilla.accounts import session_state as state
from ventanilla.accounts.passwords import user_is_staff_member
from ventanilla.accounts.selectors import user_has_second_factor, user_requires_totp

SECOND_FACTOR_PREFIXES = ("/consola/", "/admin/", "/api/")
ALWAYS_ALLOWED_PREFIXES = ("/static/", "/media/", "/i18n/", "/healthz")
LAST_SEEN_RESOLUTION = 60  # seconds: refresh the idle clock at most this often


def _with_next(url: str, request) -> str:
    return f"{url}?{urlencode({'next': request.get_full_path()})}"


class StaffAuthenticationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._check(request)
        return response if response is not None else self.get_response(request)

    def _check(self, request):
        if request.path.startswith(ALWAYS_ALLOWED_PREFIXES):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self._expired(request, user):
            logout(request)
            messages.info(request, _("Su sesión se cerró por inactividad o porque llegó a su "
                                     "duración máxima. Ingrese de nuevo."))
            return None
        if user.must_change_password and not self._is_account_page(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": _("Debe cambiar su contraseña antes de "
                                                 "continuar.")}, status=403)
            return HttpResponseRedirect(_with_next(reverse("accounts:password-change"), request))
        if request.path.startswith(SECOND_FACTOR_PREFIXES) and not (
            state.session_second_factor_ok(request)
        ):
            return self._second_factor_gate(request, user)
        return None

    def _expired(self, request, user) -> bool:
        session = request.session
        now = int(time.time())
        auth_at = session.get(state.AUTH_AT_KEY)
        last_seen = session.get(state.LAST_SEEN_KEY)
        if not isinstance(auth_at, int) or not isinstance(last_seen, int):
            # A session made before these rules (or by a test shortcut): start the clocks now.
            session[state.AUTH_AT_KEY] = session[state.LAST_SEEN_KEY] = now
            return False
        staff = session.get(state.STAFF_KEY)
        if staff is None:
            staff = session[state.STAFF_KEY] = user_is_staff_member(user)
        idle_limit = (settings.STAFF_SESSION_IDLE_TIMEOUT if staff
                      else settings.CITIZEN_SESSION_IDLE_TIMEOUT)
        if now - auth_at > settings.SESSION_ABSOLUTE_MAX_AGE or now - last_seen > idle_limit:
            return True
        if now - last_seen >= LAST_SEEN_RESOLUTION:
            session[state.LAST_SEEN_KEY] = now
        return False

    @staticmethod
    def _is_account_page(request) -> bool:
        allowed = (reverse("accounts:password-change"), reverse("accounts:logout"),
                   reverse("accounts:reauth"))
        return request.path in allowed

    @staticmethod
    def _second_factor_gate(request, user):
        has_device = user_has_second_factor(user=user)
        if not has_device and not user_requires_totp(user=user):
            request.session[state.MFA_KEY] = state.MFA_NOT_REQUIRED
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": _("Esta cuenta debe completar el segundo factor de "
                                             "autenticación en la web.")}, status=403)
        if has_device:
            # Logged in by a path that did not ask for the code (e.g. enrolled meanwhile in
            # another session): ask for password and code now.
            return HttpResponseRedirect(_with_next(reverse("accounts:reauth"), request))
        messages.info(request, _("Para usar la consola debe activar el segundo factor de "
                                 "autenticación."))
        return HttpResponseRedirect(_with_next(reverse("accounts:totp-enrol"), request))
