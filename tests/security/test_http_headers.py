"""The security headers every response carries, the API docs' single relaxation, HSTS and the
HTTPS redirect, and the error pages (Spanish, on the site's layout, no stack trace)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client, override_settings
from django.urls import include, path

pytestmark = pytest.mark.django_db


def directives(policy: str) -> dict[str, str]:
    found = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            found[name] = value
    return found


@pytest.mark.parametrize("url", ["/", "/cuenta/ingresar/", "/seguimiento/", "/admin/login/",
                                 "/api/v1/catalog/regions/", "/no-existe/"])
def test_every_response_carries_the_security_headers(client, url):
    response = client.get(url)
    policy = directives(response["Content-Security-Policy"])
    assert policy == {
        "default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
        "img-src": "'self'", "font-src": "'self'", "connect-src": "'self'",
        "object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    features = {item.strip() for item in response["Permissions-Policy"].split(",")}
    assert {"camera=()", "microphone=()", "geolocation=()"} <= features


def test_only_the_api_docs_may_show_data_images(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    policy = directives(docs["Content-Security-Policy"])
    assert policy["img-src"] == "'self' data:"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    html = docs.content.decode()
    # The init script is a file of its own (?script) and no style is inline.
    assert "<script>" not in html and "<style" not in html and "?script=" in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()

    assert client.get("/api/redoc/").status_code == 404  # see api/urls.py

def test_cookies_are_http_only_and_same_site(client):
    response = client.get("/cuenta/ingresar/")
    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_cookies_are_secure_when_configured_for_production(client):
    assert client.get("/cuenta/ingresar/").cookies["csrftoken"]["secure"]


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000,
                   SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_https_redirect_and_hsts(client):
    plain = client.get("/seguimiento/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/seguimiento/"
    secure = client.get("/seguimiento/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Load balancers probe the health endpoint over plain HTTP.
    assert client.get("/healthz").status_code != 301
    assert client.get("/healthz/live").status_code != 301


# --- error pages ---------------------------------------------------------------------------

def _bad_request(request):
    raise SuspiciousOperation("secreto-interno-400")


def _forbidden(request):
    raise PermissionDenied("secreto-interno-403")


def _crash(request):
    raise RuntimeError("secreto-interno-500")


urlpatterns = [
    path("prueba/400/", _bad_request),
    path("prueba/403/", _forbidden),
    path("prueba/500/", _crash),
    path("", include("ventanilla.urls")),
]


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
@pytest.mark.parametrize(("url", "status", "title"), [
    ("/prueba/400/", 400, "Solicitud no válida"),
    ("/prueba/403/", 403, "Acceso no permitido"),
    ("/no-existe/", 404, "Página no encontrada"),
    ("/prueba/500/", 500, "Tuvimos un problema"),
])
def test_error_pages_are_spanish_and_reveal_nothing(url, status, title):
    client = Client(raise_request_exception=False)
    response = client.get(url)
    assert response.status_code == status
    html = response.content.decode()
    assert f"<h1>{title}</h1>" in html
    assert 'class="site-header"' in html  # the site's layout (base.html)
    assert "secreto-interno" not in html and "Traceback" not in html
    assert response["Content-Security-Policy"]
