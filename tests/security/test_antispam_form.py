"""Anti-spam on the anonymous request form: honeypot, signed timing, duplicate guard. A person
with a keyboard or a screen reader must always get through (issue 8, abuse)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import make_catalog
from tests.portal.helpers import request_payload
from ventanilla.portal import forms as portal_forms
from ventanilla.portal.forms import antispam_token
from ventanilla.tickets.models import Ticket

NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def _antispam_on(settings, monkeypatch):
    settings.ANTISPAM_REQUIRE_TOKEN = True
    settings.ANTISPAM_MIN_SECONDS = 3
    settings.ANTISPAM_MAX_AGE_SECONDS = 7200
    settings.ANTISPAM_DUPLICATE_SECONDS = 600
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setattr(portal_forms, "_clock", lambda: NOW)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def catalog(db):
    return make_catalog()


@pytest.fixture
def url(catalog):
    return reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})


def payload(catalog, *, age: float = 60, **overrides):
    return request_payload(catalog, form_started=antispam_token(NOW - age), **overrides)


def errors_text(response) -> str:
    return " ".join(str(error) for error in response.context["form"].non_field_errors())


def test_form_renders_an_accessible_honeypot_and_a_signed_timestamp(client, url):
    text = client.get(url).content.decode()
    hidden = re.search(r'<div class="visually-hidden" aria-hidden="true">(.*?)</div>', text,
                       re.S)
    assert hidden, "honeypot wrapper hidden from sight and from assistive technology"
    block = hidden.group(1)
    assert '<label for="id_sitio_web">No escriba nada en este campo' in block
    assert 'tabindex="-1"' in block and 'autocomplete="off"' in block
    token = re.search(r'name="form_started" value="([^"]+)"', text).group(1)
    assert token and "style=" not in text


def test_keyboard_or_screen_reader_path_gets_through(client, url, catalog, monkeypatch):
    # A person reads the page, fills only the fields they can reach (the honeypot is out of
    # the tab order and hidden from screen readers) and sends after a human delay.
    text = client.get(url).content.decode()
    token = re.search(r'name="form_started" value="([^"]+)"', text).group(1)
    monkeypatch.setattr(portal_forms, "_clock", lambda: NOW + 45)
    data = request_payload(catalog, form_started=token, sitio_web="")
    response = client.post(url, data)
    assert response.status_code == 302
    assert Ticket.objects.count() == 1


def test_filled_honeypot_is_refused_and_keeps_the_data(client, url, catalog):
    response = client.post(url, payload(catalog, sitio_web="http://spam.example",
                                        subject="Mi asunto"))
    assert response.status_code == 200
    assert "deje vacío el campo" in errors_text(response)
    assert 'value="Mi asunto"' in response.content.decode()
    assert Ticket.objects.count() == 0


def test_too_fast_is_refused_then_passes_when_sent_again(client, url, catalog, monkeypatch):
    data = payload(catalog, age=1, subject="Rápido")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "demasiado rápido" in errors_text(response)
    assert Ticket.objects.count() == 0
    # The same timestamp comes back in the page: a human who presses "Enviar" again passes.
    kept = re.search(r'name="form_started" value="([^"]+)"', response.content.decode()).group(1)
    assert kept == data["form_started"]
    monkeypatch.setattr(portal_forms, "_clock", lambda: NOW + 10)
    assert client.post(url, {**data, "form_started": kept}).status_code == 302
    assert Ticket.objects.count() == 1


def test_expired_form_keeps_the_data_and_gets_a_fresh_timestamp(client, url, catalog,
                                                                 monkeypatch):
    old = antispam_token(NOW - 3 * 3600)
    data = request_payload(catalog, form_started=old, subject="Escribí con calma")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "caducó" in errors_text(response)
    text = response.content.decode()
    assert 'value="Escribí con calma"' in text
    fresh = re.search(r'name="form_started" value="([^"]+)"', text).group(1)
    assert fresh != old
    monkeypatch.setattr(portal_forms, "_clock", lambda: NOW + 20)
    assert client.post(url, {**data, "form_started": fresh}).status_code == 302


# Explicit ids: the tampered token differs per process (signing salt and time), and xdist
# needs every worker to collect the same test names.
@pytest.mark.parametrize("token", ["", "no-firmado", antispam_token(NOW)[:-3] + "xyz"],
                         ids=["empty", "unsigned", "tampered"])
def test_missing_or_forged_timestamp_is_refused(client, url, catalog, token, monkeypatch):
    response = client.post(url, request_payload(catalog, form_started=token))
    assert response.status_code == 200
    assert "llegó incompleto" in errors_text(response)
    assert Ticket.objects.count() == 0


def test_same_content_twice_from_one_address_returns_the_first_folio(client, url, catalog,
                                                                     monkeypatch):
    first = client.post(url, payload(catalog))
    assert first.status_code == 302
    # A reload of the page gives a new idempotency key; the content is the same.
    second = client.post(url, payload(catalog, detail="  El lunes 3 NO llegó la colación "
                                                      "a la escuela. "))
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Ticket.objects.count() == 1
    # Another address, or other content, is another request.
    assert client.post(url, payload(catalog), REMOTE_ADDR="192.0.2.77").status_code == 302
    assert client.post(url, payload(catalog, subject="Otra cosa")).status_code == 302
    assert Ticket.objects.count() == 3


def test_duplicate_guard_does_not_open_the_tracking_page(client, url, catalog, monkeypatch):
    from django.test import Client
    assert client.post(url, payload(catalog)).status_code == 302
    ticket = Ticket.objects.get()
    stranger = Client()
    response = stranger.post(url, payload(catalog))
    assert response.status_code == 302  # the confirmation page of the first folio
    detail = stranger.get(reverse("portal:track-detail", args=[ticket.folio]))
    assert detail.status_code == 302 and detail["Location"] == reverse("portal:track")


def test_operator_and_paper_forms_are_not_affected():
    from ventanilla.console.forms_operator import OperatorTicketForm
    from ventanilla.paper.forms import PaperTranscriptionForm
    for form_class in (OperatorTicketForm, PaperTranscriptionForm):
        assert "sitio_web" not in form_class.base_fields
        assert "form_started" not in form_class.base_fields
