"""Answers out through the outbox on WhatsApp, Messenger and Instagram, against a local fake
Graph API; and the end-to-end path from a signed webhook back out to the person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.channels import meta_payloads as meta
from tests.channels.fake_meta import FakeGraph
from tests.factories import MembershipFactory, make_endpoint
from ventanilla.channels.whatsapp import TEXT_LIMITS, outbound_prepare
from ventanilla.citizens.models import ChannelIdentity, IdentityKind
from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.notifications.services import outbox_deliver
from ventanilla.tickets.models import EventKind, Ticket
from ventanilla.tickets.services import ticket_reply


@pytest.fixture(autouse=True)
def meta_settings(settings):
    settings.META_APP_SECRET = meta.APP_SECRET
    settings.META_VERIFY_TOKEN = meta.VERIFY_TOKEN
    settings.META_ACCESS_TOKEN = meta.ACCESS_TOKEN
    settings.WHATSAPP_NOTICE_TEMPLATE = "aviso_requerimiento"
    settings.WHATSAPP_NOTICE_TEMPLATE_LANGUAGE = "es_CL"
    return settings


@pytest.fixture
def graph(settings):
    with FakeGraph(token=meta.ACCESS_TOKEN) as server:
        settings.META_GRAPH_BASE_URL = server.base_url
        yield server


def staff(catalog):
    return MembershipFactory(institution=catalog["institution"], role="sysadmin").user


def whatsapp_ticket(client, catalog, text="Hola, no llegó la colación"):
    make_endpoint(catalog, provider="whatsapp", address=meta.PHONE_NUMBER_ID,
                  channel_code="whatsapp")
    assert meta.post_signed(client, meta.whatsapp_body(meta.wa_text("wamid.IN1", text))
                            ).status_code == 200
    return Ticket.objects.get()


def reply_message(ticket, catalog, body="Revisamos su caso: la colación llega el martes."):
    # No job runs in these tests, so the intake's acknowledgement is still queued and the
    # reply would wait behind it (delivery keeps the order per recipient): as sent.
    OutboundMessage.objects.filter(ticket=ticket).update(status=OutboundStatus.SENT)
    ticket_reply(ticket=ticket, actor=staff(catalog), body=body)
    return OutboundMessage.objects.get(ticket=ticket, dedupe_key__contains="-reply-")


# --- Preparing the text ---------------------------------------------------------------------


def test_prepare_keeps_short_text_whole():
    text = outbound_prepare(channel="whatsapp", subject="[T-1] Respuesta",
                            body="Hola.\n\nVea http://x.cl/seguimiento/", ticket=None)
    assert text == "[T-1] Respuesta\n\nHola.\n\nVea http://x.cl/seguimiento/"


@pytest.mark.parametrize("channel", ["whatsapp", "messenger", "instagram"])
def test_prepare_cuts_long_text_at_a_word_and_keeps_the_tracking_link(channel):
    body = ("palabra " * 1000) + "\nSiga su caso en https://ventanilla.example.cl/seguimiento/\n"
    text = outbound_prepare(channel=channel, subject="[T-1] Respuesta", body=body, ticket=None)

    assert len(text) <= TEXT_LIMITS[channel]
    assert text.endswith("…\n\nhttps://ventanilla.example.cl/seguimiento/")
    head = text.split("…")[0]
    assert head.startswith("[T-1] Respuesta") and head.endswith("palabra")


# --- WhatsApp -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reply_within_24_hours_goes_out_as_whatsapp_text(client, catalog, graph):
    ticket = whatsapp_ticket(client, catalog)
    message = reply_message(ticket, catalog)
    assert (message.channel, message.recipient) == ("whatsapp", meta.WA_ID)

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT

    post = graph.posts[-1]
    assert post.path == f"/v21.0/{meta.PHONE_NUMBER_ID}/messages"
    assert post.headers["Authorization"] == f"Bearer {meta.ACCESS_TOKEN}"
    assert post.json["messaging_product"] == "whatsapp"
    assert post.json["recipient_type"] == "individual"
    assert post.json["to"] == meta.WA_ID and post.json["type"] == "text"
    assert post.json["text"]["preview_url"] is False
    assert "la colación llega el martes" in post.json["text"]["body"]
    assert post.json["text"]["body"] == message.body_text
    message.refresh_from_db()
    assert message.provider_message_id.startswith("wamid.FAKE")


@pytest.mark.django_db
def test_reply_after_24_hours_goes_out_as_the_notice_template(client, catalog, graph):
    ticket = whatsapp_ticket(client, catalog)
    ChannelIdentity.objects.filter(kind=IdentityKind.WHATSAPP, value=meta.WA_ID).update(
        last_inbound_at=timezone.now() - timedelta(hours=25))
    message = reply_message(ticket, catalog)

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT

    sent = graph.posts[-1].json
    assert sent["type"] == "template" and "text" not in sent
    template = sent["template"]
    assert template["name"] == "aviso_requerimiento"
    assert template["language"] == {"code": "es_CL"}
    folio, summary = template["components"][0]["parameters"]
    assert folio == {"type": "text", "text": ticket.folio}
    assert summary["type"] == "text" and summary["text"]
    assert "\n" not in summary["text"] and ticket.folio not in summary["text"]


@pytest.mark.django_db
def test_window_closed_on_metas_side_falls_back_to_the_template(client, catalog, graph):
    ticket = whatsapp_ticket(client, catalog)
    message = reply_message(ticket, catalog)
    graph.fail_next(400, 131047, "Re-engagement message",
                    details="More than 24 hours have passed since the recipient last replied")

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT
    assert [post.json["type"] for post in graph.posts] == ["text", "template"]


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "code", "expected"), [
    (400, 131026, OutboundStatus.FAILED),  # undeliverable
    (400, 100, OutboundStatus.FAILED),  # invalid parameter
    (400, 132001, OutboundStatus.FAILED),  # template does not exist
    (500, 131000, OutboundStatus.PENDING),  # something went wrong at Meta
    (400, 130429, OutboundStatus.PENDING),  # throughput reached
    (401, 190, OutboundStatus.PENDING),  # token expired: an operator renews it
    (429, 80007, OutboundStatus.PENDING),
])
def test_graph_errors_fail_permanently_or_stay_for_retry(client, catalog, graph, status, code,
                                                         expected):
    ticket = whatsapp_ticket(client, catalog)
    message = reply_message(ticket, catalog)
    graph.fail_next(status, code, "Graph says no")

    assert outbox_deliver(message_id=message.pk) == expected
    message.refresh_from_db()
    assert str(code) in message.last_error
    assert message.provider_message_id == ""


@pytest.mark.django_db
def test_graph_unreachable_is_retried(client, catalog, settings):
    ticket = whatsapp_ticket(client, catalog)
    message = reply_message(ticket, catalog)
    settings.META_GRAPH_BASE_URL = "http://127.0.0.1:9/v21.0"  # nothing listens there

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.PENDING


@pytest.mark.django_db
def test_institution_without_a_whatsapp_endpoint_fails_permanently(client, catalog, graph):
    ticket = whatsapp_ticket(client, catalog)
    message = reply_message(ticket, catalog)
    ticket.institution.channel_endpoints.update(is_active=False)

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.FAILED
    assert graph.posts == []


# --- Messenger and Instagram ----------------------------------------------------------------


def social_ticket(client, catalog, provider):
    account = meta.PAGE_ID if provider == "messenger" else meta.IG_ACCOUNT_ID
    make_endpoint(catalog, provider=provider, address=account, channel_code="social")
    meta.post_signed(client, meta.messenger_body(
        meta.social_message("m_IN1", "6045958765432", text="Hola", account_id=account),
        object_kind="page" if provider == "messenger" else "instagram", account_id=account))
    return Ticket.objects.get(), account


@pytest.mark.django_db
@pytest.mark.parametrize("provider", ["messenger", "instagram"])
def test_social_reply_within_24_hours_is_a_response(client, catalog, graph, provider):
    ticket, account = social_ticket(client, catalog, provider)
    message = reply_message(ticket, catalog)
    assert (message.channel, message.recipient) == (provider, "6045958765432")

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT

    post = graph.posts[-1]
    assert post.path == f"/v21.0/{account}/messages"
    assert post.json == {"recipient": {"id": "6045958765432"}, "messaging_type": "RESPONSE",
                         "message": {"text": message.body_text}}
    message.refresh_from_db()
    assert message.provider_message_id.startswith("m_FAKE")


@pytest.mark.django_db
@pytest.mark.parametrize(("provider", "tag"), [("messenger", "ACCOUNT_UPDATE"),
                                               ("instagram", "HUMAN_AGENT")])
def test_social_reply_after_24_hours_uses_a_message_tag(client, catalog, graph, provider, tag):
    ticket, _account = social_ticket(client, catalog, provider)
    ChannelIdentity.objects.filter(kind=IdentityKind.SOCIAL).update(
        last_inbound_at=timezone.now() - timedelta(days=2))
    message = reply_message(ticket, catalog)

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT
    sent = graph.posts[-1].json
    assert (sent["messaging_type"], sent["tag"]) == ("MESSAGE_TAG", tag)


@pytest.mark.django_db
def test_messenger_outside_the_allowed_window_fails_permanently(client, catalog, graph):
    ticket, _account = social_ticket(client, catalog, "messenger")
    message = reply_message(ticket, catalog)
    graph.fail_next(400, 10, "This message is sent outside of allowed window.")

    assert outbox_deliver(message_id=message.pk) == OutboundStatus.FAILED


# --- End to end -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_signed_webhook_to_ticket_to_answer_on_whatsapp_and_its_status(client, graph):
    """Meta's documented text-message webhook, signed → ticket with the right person and
    timeline → acknowledgement and staff answer delivered by the outbox to the (fake) Graph
    API → delivery status webhooks update the rows."""
    from tests.factories import make_catalog

    catalog = make_catalog()
    make_endpoint(catalog, provider="whatsapp", address=meta.PHONE_NUMBER_ID,
                  channel_code="whatsapp")

    response = meta.post_signed(client, meta.whatsapp_body(meta.wa_text(
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
        "Buenas tardes, mi hijo no recibió la colación del PAE esta semana.")))
    assert response.status_code == 200

    ticket = Ticket.objects.get()
    assert ticket.citizen.full_name == "Juana Soto"
    assert ticket.citizen.identities.get().value == meta.WA_ID
    assert ticket.events.filter(kind=EventKind.CREATED).exists()
    assert "no recibió la colación" in ticket.detail

    # The acknowledgement (Type 2) left on WhatsApp as soon as the intake committed.
    ack = OutboundMessage.objects.get(ticket=ticket)
    assert (ack.channel, ack.status) == ("whatsapp", OutboundStatus.SENT)
    assert ticket.folio in graph.posts[0].json["text"]["body"]

    ticket_reply(ticket=ticket, actor=staff(catalog),
                 body="Hablamos con la escuela: desde el lunes recibe su colación.")
    answer = OutboundMessage.objects.filter(ticket=ticket).exclude(pk=ack.pk).get()
    assert answer.status == OutboundStatus.SENT
    sent = graph.posts[-1].json
    assert sent["to"] == meta.WA_ID and "desde el lunes recibe su colación" in sent["text"][
        "body"]

    meta.post_signed(client, meta.whatsapp_body(statuses=[
        meta.wa_status(answer.provider_message_id, "delivered"),
        meta.wa_status(answer.provider_message_id, "read")]))
    answer.refresh_from_db()
    assert answer.delivery_status == "read"
