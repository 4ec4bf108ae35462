"""The personal tracking link sent by SMS and WhatsApp (``portal.access_links``)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from tests.factories import open_ticket
from ventanilla.notifications.rendering import render_message
from ventanilla.portal.access_links import (
    tracking_link_ticket,
    tracking_link_token,
    tracking_link_url,
)
from ventanilla.tickets.models import Interaction, InteractionKind

pytestmark = pytest.mark.django_db


def test_the_link_opens_the_ticket_without_asking_for_an_email(client, catalog):
    ticket = open_ticket(catalog, email="")
    url = tracking_link_url(ticket)
    assert ticket.folio not in url  # the folio is guessable; the link is not

    response = client.get(url[url.index("/s/"):])
    assert len(url) < len(settings_site(url)) + 50  # fits beside an SMS text

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:track-detail", args=[ticket.folio])
    page = client.get(response["Location"])
    assert page.status_code == 200 and ticket.subject in page.content.decode()
    assert Interaction.objects.filter(ticket=ticket, kind=InteractionKind.TRACKING).count() == 1


def settings_site(url: str) -> str:
    return url[:url.index("/s/")]


@pytest.mark.parametrize("token", ["nada", "a" * 22 + ".b.cccccccccccccccc", "x.y.z", ""])
def test_a_forged_or_broken_link_gives_no_access(client, catalog, token):
    ticket = open_ticket(catalog)
    if token:
        response = client.get(reverse("portal:track-link", args=[token]), follow=True)
        assert "no es válido o expiró" in response.content.decode()
    assert tracking_link_ticket(token) is None
    assert client.get(reverse("portal:track-detail", args=[ticket.folio])).status_code == 302


def test_an_expired_link_gives_no_access(catalog, settings):
    ticket = open_ticket(catalog)
    settings.TRACKING_LINK_MAX_AGE_DAYS = 30
    fresh = tracking_link_token(ticket, issued=date.today() - timedelta(days=30))
    old = tracking_link_token(ticket, issued=date.today() - timedelta(days=31))
    future = tracking_link_token(ticket, issued=date.today() + timedelta(days=1))

    assert tracking_link_ticket(fresh) == ticket
    assert tracking_link_ticket(old) is None
    assert tracking_link_ticket(future) is None


def test_a_tampered_link_is_refused(catalog):
    ticket = open_ticket(catalog)
    other = open_ticket(catalog, email="otra@example.cl")
    uid, day, signature = tracking_link_token(ticket).split(".")
    other_uid = tracking_link_token(other).split(".")[0]

    assert tracking_link_ticket(f"{other_uid}.{day}.{signature}") is None
    assert tracking_link_ticket(f"{uid}.{int(day, 16) + 1:x}.{signature}") is None


def test_templates_get_the_personal_link(catalog):
    from ventanilla.notifications.models import MessageTemplate, TemplateKey

    ticket = open_ticket(catalog)
    MessageTemplate.objects.create(institution=ticket.institution, key=TemplateKey.TICKET_REPLY,
                                   subject="Folio {{ ticket.folio }}",
                                   body="Siga su caso en {{ ticket_url }}")
    rendered = render_message(template="ticket_reply", context={"ticket": ticket, "body": "x"},
                              ticket=ticket)

    assert tracking_link_url(ticket) in rendered.body
