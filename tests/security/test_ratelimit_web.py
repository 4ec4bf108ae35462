"""Rate limits on the public pages and the API (issue 8, abuse)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import UserFactory, make_catalog, open_ticket
from tests.portal.helpers import request_payload
from ventanilla.core.ratelimit import client_ip, client_key, hit, parse_rate
from ventanilla.tickets.models import Ticket


@pytest.fixture(autouse=True)
def _limits_on(settings):
    settings.RATE_LIMIT_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()
    yield
    cache.clear()


def _limit(settings, scope: str, rate: str) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: rate}


# --- the client address ------------------------------------------------------------------------

@pytest.mark.parametrize(("proxies", "xff", "remote", "expected"), [
    (0, "6.6.6.6", "10.0.0.1", "10.0.0.1"),  # no proxy: the header is the client's own
    (1, "6.6.6.6, 203.0.113.7", "10.0.0.1", "203.0.113.7"),  # spoofed first entry ignored
    (1, "203.0.113.7", "10.0.0.1", "203.0.113.7"),
    (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "10.0.0.1", "203.0.113.7"),
    (2, "203.0.113.7", "10.0.0.1", "10.0.0.1"),  # did not pass every proxy
    (1, "", "10.0.0.1", "10.0.0.1"),
])
def test_client_ip_takes_what_the_trusted_proxy_saw(settings, proxies, xff, remote, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=xff, REMOTE_ADDR=remote)
    assert client_ip(request) == expected


def test_ipv6_clients_count_per_64_block(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    factory = RequestFactory()
    one = client_key(factory.get("/", REMOTE_ADDR="2001:db8:1:2:aaaa::1"))
    two = client_key(factory.get("/", REMOTE_ADDR="2001:db8:1:2:bbbb::9"))
    other = client_key(factory.get("/", REMOTE_ADDR="2001:db8:1:3::1"))
    assert one == two != other
    assert client_key(factory.get("/", REMOTE_ADDR="::ffff:192.0.2.5")) == "192.0.2.5"


@pytest.mark.parametrize(("rate", "parsed"), [("20/h", (20, 3600)), ("10/10m", (10, 600)),
                                              ("5/min", (5, 60)), ("100/d", (100, 86400))])
def test_parse_rate(rate, parsed):
    assert parse_rate(rate) == parsed


def test_bad_rate_is_an_error():
    with pytest.raises(ValueError):
        parse_rate("veinte por hora")


def test_window_resets(settings):
    _limit(settings, "track", "2/m")
    assert hit("track", "a", now=1200.0) is None
    assert hit("track", "a", now=1201.0) is None
    limited = hit("track", "a", now=1230.0)
    assert limited is not None and limited.retry_after == 30
    assert hit("track", "b", now=1230.0) is None  # another client
    assert hit("track", "a", now=1261.0) is None  # next window


# --- request form ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_request_form_over_the_limit_keeps_what_was_typed(client, settings):
    _limit(settings, "request_form", "2/h")
    catalog = make_catalog()
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    for number in range(2):
        response = client.post(url, request_payload(catalog, subject=f"Asunto {number}"))
        assert response.status_code == 302
    response = client.post(url, request_payload(catalog, subject="Mi tercer asunto único"))
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    text = response.content.decode()
    assert "Su solicitud todavía no se envió" in text
    assert 'value="Mi tercer asunto único"' in text  # the form keeps the data
    assert 'value="Juana Soto Pérez"' in text
    assert Ticket.objects.count() == 2
    # Another address is not affected; reading the form is never limited.
    assert client.get(url).status_code == 200
    other = client.post(url, request_payload(catalog, subject="Otro"), REMOTE_ADDR="192.0.2.9")
    assert other.status_code == 302


@pytest.mark.django_db
def test_spoofed_forwarded_for_does_not_reset_the_limit(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    _limit(settings, "request_form", "1/h")
    catalog = make_catalog()
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    first = client.post(url, request_payload(catalog, subject="a"),
                        HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.4", **proxy)
    second = client.post(url, request_payload(catalog, subject="b"),
                         HTTP_X_FORWARDED_FOR="2.2.2.2, 198.51.100.4", **proxy)
    assert (first.status_code, second.status_code) == (302, 429)


# --- tracking ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_tracking_lookups_are_limited_per_address(client, settings):
    _limit(settings, "track", "3/10m")
    url = reverse("portal:track")
    for number in range(3):
        response = client.post(url, {"folio": f"JUN-2026-00000{number}", "email": "a@b.cl"})
        assert response.status_code == 200
    response = client.post(url, {"folio": "JUN-2026-000009", "email": "a@b.cl"})
    assert response.status_code == 429
    assert "Demasiados intentos" in response.content.decode()
    assert response["Retry-After"]
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_one_folio_cannot_be_probed_from_many_addresses(client, settings):
    _limit(settings, "track_folio", "2/10m")
    catalog = make_catalog()
    ticket = open_ticket(catalog)
    url = reverse("portal:track")
    for number in range(2):
        response = client.post(url, {"folio": ticket.folio.lower(), "email": f"x{number}@b.cl"},
                               REMOTE_ADDR=f"192.0.2.{number + 1}")
        assert response.status_code == 200
    response = client.post(url, {"folio": f" {ticket.folio} ", "email": ticket.contact_email},
                           REMOTE_ADDR="192.0.2.50")
    assert response.status_code == 429  # even with the right e-mail, until the window ends
    other = client.post(url, {"folio": "JUN-2026-999999", "email": "a@b.cl"},
                        REMOTE_ADDR="192.0.2.51")
    assert other.status_code == 200


@pytest.mark.django_db
def test_tracking_pages_have_a_generous_limit(client, settings):
    _limit(settings, "track_view", "2/10m")
    url = reverse("portal:track-detail", args=["JUN-2026-000001"])
    assert client.get(url).status_code == 302
    assert client.get(url).status_code == 302
    assert client.get(url).status_code == 429
    link = reverse("portal:track-link", args=["token-inventado"])
    assert client.get(link).status_code == 429


# --- other public forms ------------------------------------------------------------------------

@pytest.mark.django_db
def test_signup_is_limited(client, settings):
    _limit(settings, "signup", "1/h")
    url = reverse("accounts:signup")
    assert client.post(url, {"email": "no-es-correo"}).status_code == 200
    assert client.post(url, {"email": "no-es-correo"}).status_code == 429
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_verification_resend_is_limited(client, settings):
    _limit(settings, "verify_resend", "1/h")
    client.force_login(UserFactory(email="ana@example.cl"))
    url = reverse("accounts:verify-resend")
    assert client.post(url).status_code == 302
    assert client.post(url).status_code == 429


@pytest.mark.django_db
def test_survey_posts_are_limited(client, settings):
    _limit(settings, "survey", "1/h")
    url = reverse("survey-answer", args=["token-invalido"])
    assert client.post(url, {}).status_code != 429
    assert client.post(url, {}).status_code == 429
    assert client.get(url).status_code != 429


@pytest.mark.django_db
def test_printable_form_is_limited(client, settings):
    _limit(settings, "paper_form", "1/h")
    url = reverse("paper-form-pdf", args=["no-existe"])
    assert client.get(url).status_code == 404
    assert client.get(url).status_code == 429


@pytest.mark.django_db
def test_open311_post_is_limited_per_address_with_json(client, settings):
    _limit(settings, "open311_post", "1/h")
    url = reverse("open311:requests", kwargs={"fmt": "json"})
    assert client.post(url, {}).status_code == 403  # no api_key
    response = client.post(url, {"api_key": "adivinando"})
    assert response.status_code == 429
    assert response.json()[0]["code"] == 429
    assert "Demasiadas solicitudes" in response.json()[0]["description"]
    assert response["Retry-After"]


@pytest.mark.django_db
def test_limits_off_lets_everything_through(client, settings):
    settings.RATE_LIMIT_ENABLED = False
    _limit(settings, "track", "1/h")
    url = reverse("portal:track")
    for _ in range(3):
        assert client.post(url, {"folio": "X", "email": "a@b.cl"}).status_code == 200


# --- API ---------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_api_anonymous_limit_is_429_json_and_ignores_spoofed_forwarded_for(client, monkeypatch):
    from ventanilla.api.throttling import AnonIpRateThrottle
    monkeypatch.setattr(AnonIpRateThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    url = reverse("api:ticket", args=["JUN-2026-000001"])
    statuses = [client.get(url, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
                for n in range(3)]
    assert 429 not in statuses[:2] and statuses[2] == 429
    response = client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "segundo" in detail  # Spanish, with the wait
    assert int(response["Retry-After"]) >= 1
