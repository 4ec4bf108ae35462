"""The office kiosk (a tablet paired once by staff): one touch on a face answers, a thank-you
screen follows and the question comes back after a few seconds, or at once on a touch.

The device is recognised by a random secret in a cookie (HttpOnly, SameSite=Strict, only
sent to /kiosco/); the database keeps its SHA-256. No login for the person, no session."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_safe

from ventanilla.surveys import selectors
from ventanilla.surveys.faces import faces_for
from ventanilla.surveys.services import kiosk_answer, kiosk_secret_hash, kiosk_seen

KIOSK_COOKIE = "ventanilla_kiosk"
KIOSK_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days; renewed on use
THANKS_SECONDS = 4
# The question page reloads itself now and then, so a forgotten half-filled screen or an
# expired CSRF token never lasts.
QUESTION_REFRESH_SECONDS = 600


def set_kiosk_cookie(response, secret: str) -> None:
    response.set_cookie(
        KIOSK_COOKIE, secret, max_age=KIOSK_COOKIE_MAX_AGE, path=reverse("kiosk-home"),
        httponly=True, samesite="Strict", secure=settings.SESSION_COOKIE_SECURE,
    )


def _kiosk(request):
    secret = request.COOKIES.get(KIOSK_COOKIE, "")
    if not secret or len(secret) > 200:
        return None
    return selectors.kiosk_for_secret(secret_hash=kiosk_secret_hash(secret))


def _screen(request, template: str, context: dict, *, status: int = 200, secret: str = ""):
    response = render(request, template, context, status=status)
    add_never_cache_headers(response)  # nothing of the previous person comes back
    if secret:
        set_kiosk_cookie(response, secret)
    return response


def _disabled(request):
    return _screen(request, "surveys/kiosk_disabled.html", {}, status=403)


@require_http_methods(["GET", "HEAD", "POST"])
def kiosk_home(request):
    kiosk = _kiosk(request)
    if kiosk is None:
        return _disabled(request)
    if request.method == "POST":
        try:
            kiosk_answer(kiosk=kiosk, score=request.POST.get("score"))
        except ValidationError:
            return redirect("kiosk-home")
        return redirect("kiosk-thanks")
    kiosk_seen(kiosk=kiosk)
    survey = selectors.survey_for_kiosk(kiosk=kiosk)
    return _screen(request, "surveys/kiosk.html", {
        "kiosk": kiosk, "survey": survey, "faces": faces_for(survey.scale) if survey else [],
        "refresh_seconds": QUESTION_REFRESH_SECONDS,
    }, secret=request.COOKIES[KIOSK_COOKIE])


@require_safe
def kiosk_thanks(request):
    kiosk = _kiosk(request)
    if kiosk is None:
        return _disabled(request)
    return _screen(request, "surveys/kiosk_thanks.html", {
        "kiosk": kiosk, "refresh_seconds": THANKS_SECONDS,
    })
