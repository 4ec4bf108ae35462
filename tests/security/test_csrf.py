"""CSRF everywhere: every URL of the project is walked, and each view is either protected by
Django's CSRF middleware (or DRF's session authentication, which enforces the same check)
or on a short documented allow-list of views that no browser session can drive."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from tests.factories import MembershipFactory, UserFactory, open_ticket
from ventanilla.accounts.models import Role

# View (module.function) → why it may skip the CSRF check. Keep it short: each entry is a
# door a forged cross-site form could otherwise open.
CSRF_EXEMPT_ALLOWED = {
    # Provider webhooks: authenticated by the provider's HMAC signature of the body
    # (X-Hub-Signature-256, X-Twilio-Signature); no cookie is read.
    "ventanilla.channels.views_meta.webhook": "Meta signature",
    "ventanilla.channels.views_sms.twilio_sms": "Twilio signature",
    "ventanilla.channels.views_sms.twilio_status": "Twilio signature",
    # Open311 GeoReport v2: writes need the api_key parameter (the specification's
    # authentication); the session is never used.
    "ventanilla.open311.views.requests_collection": "Open311 api_key",
}
# DRF authentication classes that read no cookie (a forged cross-site request cannot carry
# the header). Session authentication is fine: DRF enforces CSRF for it.
HEADER_AUTHENTICATION = {"ventanilla.api.authentication.ApiKeyAuthentication"}


def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _name(callback) -> str:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None:
        return f"{view_class.__module__}.{view_class.__qualname__}"
    # __name__, not __qualname__: some decorators rename the wrapper but not its qualname.
    return f"{callback.__module__}.{callback.__name__}"


def _own_views():
    for route, callback in _walk(get_resolver()):
        module = (getattr(callback, "cls", None) or getattr(callback, "view_class", None)
                  or callback).__module__
        if module.startswith("ventanilla."):
            yield route, callback


def test_the_csrf_middleware_is_on():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert settings.CSRF_COOKIE_HTTPONLY and settings.CSRF_COOKIE_SAMESITE == "Lax"


def test_the_walk_sees_the_whole_site():
    routes = {route for route, _callback in _own_views()}
    # A sample of each audience, so a broken walk (an empty list) cannot pass.
    for expected in ("cuenta/ingresar/", "consola/r/<str:folio>/nota/", "webhooks/meta/",
                     "api/v1/tickets/", "open311/v2/^requests", "encuesta/"):
        assert any(route.startswith(expected) for route in routes), expected


def test_every_view_is_csrf_protected_or_allowed():
    unexpected = []
    for route, callback in _own_views():
        api_class = getattr(callback, "cls", None)
        if api_class is not None and issubclass(api_class, APIView):
            # DRF marks its views exempt and checks CSRF in SessionAuthentication instead.
            for authentication in api_class.authentication_classes:
                name = f"{authentication.__module__}.{authentication.__qualname__}"
                if not (issubclass(authentication, SessionAuthentication)
                        or name in HEADER_AUTHENTICATION):
                    unexpected.append(f"{route}: {name} may read a cookie without CSRF")
            continue
        if getattr(callback, "csrf_exempt", False) and _name(callback) not in (
                CSRF_EXEMPT_ALLOWED):
            unexpected.append(f"{route}: {_name(callback)} is csrf_exempt")
    assert unexpected == []


def test_the_allow_list_has_no_stale_entries():
    exempt = {_name(callback) for _route, callback in _own_views()
              if getattr(callback, "csrf_exempt", False)}
    assert set(CSRF_EXEMPT_ALLOWED) <= exempt


@pytest.mark.django_db
def test_forged_posts_are_refused_with_a_spanish_page(catalog):
    staff = UserFactory(email="canal@example.cl")
    MembershipFactory(user=staff, institution=catalog["institution"], role=Role.TRIAGE)
    ticket = open_ticket(catalog)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    slug = catalog["institution"].slug
    for path in ("/cuenta/ingresar/", "/cuenta/salir/", "/i18n/setlang/", "/seguimiento/",
                 f"/{slug}/solicitud/", f"/consola/r/{ticket.folio}/nota/"):
        response = browser.post(path, {"text": "nota", "language": "en"})
        assert response.status_code == 403, path
        assert "El formulario expiró" in response.content.decode(), path
    ticket.refresh_from_db()
    assert not ticket.events.filter(kind="note").exists()


@pytest.mark.django_db
def test_the_api_refuses_a_session_write_without_the_csrf_token(catalog):
    staff = UserFactory(email="canal@example.cl")
    MembershipFactory(user=staff, institution=catalog["institution"], role=Role.TRIAGE)
    ticket = open_ticket(catalog)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    response = browser.post(f"/api/v1/tickets/{ticket.folio}/messages/",
                            {"text": "desde otro sitio"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
