"""The Meta webhook in: handshake, signature, WhatsApp/Messenger/Instagram messages into
tickets, delivery statuses, quarantine and replay. Media comes from a local fake Graph API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.channels import meta_payloads as meta
from tests.channels.fake_meta import FakeGraph
from tests.factories import MembershipFactory, make_endpoint
from tests.tickets.helpers import PDF_BYTES, image_bytes
from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.channels.services import inbound_reprocess
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import Attachment, EventKind, Interaction, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def meta_settings(settings):
    settings.META_APP_SECRET = meta.APP_SECRET
    settings.META_VERIFY_TOKEN = meta.VERIFY_TOKEN
    settings.META_ACCESS_TOKEN = meta.ACCESS_TOKEN
    return settings


@pytest.fixture
def graph(settings):
    with FakeGraph(token=meta.ACCESS_TOKEN) as server:
        settings.META_GRAPH_BASE_URL = server.base_url
        yield server


@pytest.fixture
def whatsapp(catalog):
    return make_endpoint(catalog, provider="whatsapp", address=meta.PHONE_NUMBER_ID,
                         channel_code="whatsapp")


def citizen_events(ticket):
    return list(ticket.events.filter(kind=EventKind.CITIZEN_MESSAGE).order_by("pk"))


def nothing_stored():
    return not (InboundMessage.objects.exists() or Ticket.objects.exists()
                or Citizen.objects.exists() or OutboundMessage.objects.exists())


# --- Handshake and signature ----------------------------------------------------------------


def test_handshake_answers_the_challenge_with_the_right_token(client):
    response = client.get(meta.WEBHOOK_URL, {"hub.mode": "subscribe",
                                             "hub.verify_token": meta.VERIFY_TOKEN,
                                             "hub.challenge": "1158201444"})
    assert response.status_code == 200
    assert response.content == b"1158201444"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "otro", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": meta.VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.challenge": "1"},
])
def test_handshake_refuses_a_wrong_token_or_mode(client, params):
    response = client.get(meta.WEBHOOK_URL, params)
    assert response.status_code == 403
    assert b"1" not in response.content


def test_handshake_refuses_everything_when_no_token_is_configured(client, settings):
    settings.META_VERIFY_TOKEN = ""
    response = client.get(meta.WEBHOOK_URL, {"hub.mode": "subscribe", "hub.verify_token": "",
                                             "hub.challenge": "1"})
    assert response.status_code == 403


@pytest.mark.parametrize("signature_for", [
    lambda body: None,
    lambda body: "",
    lambda body: "sha256=",
    lambda body: "sha256=" + "0" * 64,
    lambda body: "sha1=" + meta.sign(body)[7:],
    lambda body: meta.sign(body + b" "),
    lambda body: meta.sign(body, secret="another-secret"),
], ids=["missing", "empty", "prefix-only", "zeros", "wrong-algorithm", "other-body",
        "wrong-secret"])
def test_forged_or_missing_signature_is_403_and_stores_nothing(client, whatsapp, graph,
                                                              signature_for):
    graph.add_media("4001", image_bytes(), "image/png")
    body = json.dumps(meta.whatsapp_body(meta.wa_text("wamid.F1", "Hola"),
                                         meta.wa_image("wamid.F2", "4001"))).encode()
    signature = signature_for(body)
    headers = {"X-Hub-Signature-256": signature} if signature is not None else {}
    response = client.post(meta.WEBHOOK_URL, data=body, content_type="application/json",
                           headers=headers)
    assert response.status_code == 403
    assert nothing_stored()
    assert meta.post_signed(client, body).status_code == 200  # the same body, signed
    assert Ticket.objects.count() == 1


def test_an_unset_app_secret_refuses_every_body(client, whatsapp, settings):
    body = json.dumps(meta.whatsapp_body(meta.wa_text("wamid.F2", "Hola"))).encode()
    settings.META_APP_SECRET = ""
    response = meta.post_signed(client, body, secret="")
    assert response.status_code == 403
    assert nothing_stored()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"object": "permissions"}'])
def test_signed_body_that_is_not_a_meta_event_is_quarantined_with_200(client, body):
    response = meta.post_signed(client, body)
    assert response.status_code == 200
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.QUARANTINED
    assert record.reason
    with record.raw.open("rb") as raw:
        assert raw.read() == body
    assert not Ticket.objects.exists()


# --- WhatsApp messages ----------------------------------------------------------------------


def test_text_message_opens_a_ticket_for_the_whatsapp_identity(client, whatsapp):
    response = meta.post_signed(client, meta.whatsapp_body(
        meta.wa_text("wamid.HBgLNTY5MTIzNDU2NzgVAgASGBQzQUI", "Hola, no llegó la colación "
                     "a la escuela Los Aromos")))

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.channel.code == "whatsapp"
    assert ticket.institution == whatsapp.institution
    assert (ticket.reply_channel, ticket.reply_address) == ("whatsapp", meta.WA_ID)
    assert ticket.subject.startswith("Hola, no llegó la colación")
    identity = ChannelIdentity.objects.get(kind=IdentityKind.WHATSAPP, value=meta.WA_ID)
    assert identity.verified_at is not None and identity.last_inbound_at is not None
    assert identity.citizen == ticket.citizen
    assert ticket.citizen.full_name == "Juana Soto"
    assert ticket.citizen.phone == "+" + meta.WA_ID
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.PROCESSED
    assert record.provider_message_id == "wamid.HBgLNTY5MTIzNDU2NzgVAgASGBQzQUI"
    assert record.ticket == ticket and record.created_ticket


def test_timestamp_becomes_the_reception_time(client, whatsapp):
    sent = timezone.now().replace(microsecond=0) - timedelta(minutes=7)
    meta.post_signed(client, meta.whatsapp_body(
        meta.wa_text("wamid.T1", "Hola", timestamp=str(int(sent.timestamp())))))
    assert Ticket.objects.get().received_at == sent


def test_same_wamid_twice_is_one_interaction(client, whatsapp):
    body = meta.whatsapp_body(meta.wa_text("wamid.DUP", "Hola"))
    assert meta.post_signed(client, body).status_code == 200
    assert meta.post_signed(client, body).status_code == 200

    assert Ticket.objects.count() == 1
    assert InboundMessage.objects.count() == 1
    assert Interaction.objects.count() == 1
    assert len(citizen_events(Ticket.objects.get())) == 0  # the detail is the ticket itself


def test_second_message_joins_the_open_ticket(client, whatsapp):
    meta.post_signed(client, meta.whatsapp_body(meta.wa_text("wamid.A", "Primer mensaje")))
    meta.post_signed(client, meta.whatsapp_body(meta.wa_text("wamid.B", "Un dato más")))

    ticket = Ticket.objects.get()
    assert [event.body for event in citizen_events(ticket)] == ["Un dato más"]
    assert Interaction.objects.filter(ticket=ticket).count() == 2


def test_a_message_after_the_ticket_closed_opens_a_new_one(client, catalog):
    # A suggestion closes at once with its automatic answer (Type 1).
    make_endpoint(catalog, provider="whatsapp", address=meta.PHONE_NUMBER_ID,
                  channel_code="whatsapp", ticket_type=catalog["suggestion"])
    meta.post_signed(client, meta.whatsapp_body(meta.wa_text("wamid.S1", "Gracias por todo")))
    first = Ticket.objects.get()
    assert first.status == Status.CLOSED

    meta.post_signed(client, meta.whatsapp_body(meta.wa_text("wamid.S2", "Otro tema")))

    second = Ticket.objects.exclude(pk=first.pk).get()
    assert second.citizen == first.citizen and second.subject == "Otro tema"
    assert citizen_events(first) == []


def test_image_is_downloaded_checked_and_attached_with_its_caption(client, whatsapp, graph):
    graph.add_media("1037543291543636", image_bytes("JPEG"), "image/jpeg")
    meta.post_signed(client, meta.whatsapp_body(
        meta.wa_image("wamid.IMG", "1037543291543636", caption="Así llegó la colación")))

    ticket = Ticket.objects.get()
    assert "Así llegó la colación" in ticket.detail
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.content_type == "image/jpeg"
    assert InboundMessage.objects.get().reason == ""


def test_document_is_attached_under_its_file_name(client, whatsapp, graph):
    graph.add_media("2001", PDF_BYTES, "application/pdf")
    meta.post_signed(client, meta.whatsapp_body(
        meta.wa_document("wamid.DOC", "2001", "certificado alumno regular.pdf")))

    attachment = Attachment.objects.get()
    assert attachment.content_type == "application/pdf"
    assert attachment.original_name == "certificado alumno regular.pdf"


@pytest.mark.parametrize("setup", ["graph_error", "not_a_pdf", "too_big", "wrong_token"])
def test_failed_or_refused_download_leaves_a_note_and_the_ticket(client, whatsapp, graph,
                                                                 settings, setup):
    if setup == "graph_error":
        graph.fail_media("3001")
    elif setup == "not_a_pdf":
        graph.add_media("3001", b"MZ\x90\x00 this is an exe", "application/pdf")
    elif setup == "too_big":
        settings.ATTACHMENT_MAX_BYTES = 100
        graph.add_media("3001", PDF_BYTES, "application/pdf")
    else:
        graph.add_media("3001", PDF_BYTES, "application/pdf")
        settings.META_ACCESS_TOKEN = "expired"
    meta.post_signed(client, meta.whatsapp_body(
        meta.wa_document("wamid.BAD", "3001", "boleta.pdf", caption="Adjunto la boleta")))

    ticket = Ticket.objects.get()
    assert not Attachment.objects.exists()
    assert "Adjunto la boleta" in ticket.detail
    assert "No se guardó el adjunto de WhatsApp" in ticket.detail and "3001" in ticket.detail
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.PROCESSED and "3001" in record.reason
    with record.raw.open("rb") as raw:  # kept for an administrator
        assert json.loads(raw.read())["entry"][0]["changes"][0]["value"]["messages"][0][
            "id"] == "wamid.BAD"


def test_location_is_a_note_with_coordinates_and_an_openstreetmap_link(client, whatsapp):
    meta.post_signed(client, meta.whatsapp_body(meta.wa_location("wamid.LOC")))
    detail = Ticket.objects.get().detail
    assert "Escuela Básica Los Aromos" in detail and "Av. Matta 123" in detail
    assert "-33.448900, -70.669300" in detail
    assert "https://www.openstreetmap.org/?mlat=-33.448900&mlon=-70.669300" in detail


def test_sticker_and_unknown_types_are_kept_as_a_note(client, whatsapp, graph):
    meta.post_signed(client, meta.whatsapp_body(meta.wa_sticker("wamid.STK", "9001"),
                                                meta.wa_unsupported("wamid.UNK")))
    ticket = Ticket.objects.get()
    assert "«sticker»" in ticket.detail and "9001" in ticket.detail
    assert f"{graph.base_url}/9001" in ticket.detail  # the link to the media
    second = citizen_events(ticket)[0].body
    assert "«unsupported»" in second and "Message type unknown" in second
    assert not Attachment.objects.exists()
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == 2


def test_a_reaction_is_recorded_as_ignored_not_a_ticket(client, whatsapp):
    reaction = {"from": meta.WA_ID, "id": "wamid.R", "timestamp": meta.now_ts(),
                "type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}}
    meta.post_signed(client, meta.whatsapp_body(reaction))
    assert not Ticket.objects.exists()
    assert InboundMessage.objects.get().status == InboundStatus.IGNORED


def test_one_bad_message_is_quarantined_and_the_others_processed(client, whatsapp):
    body = meta.whatsapp_body(meta.wa_text("wamid.OK1", "Hola"), "not a message",
                              {"from": meta.WA_ID, "type": "text", "text": {"body": "sin id"}},
                              meta.wa_text("wamid.OK2", "Sigo aquí"))
    assert meta.post_signed(client, body).status_code == 200

    ticket = Ticket.objects.get()
    assert [event.body for event in citizen_events(ticket)] == ["Sigo aquí"]
    assert InboundMessage.objects.filter(status=InboundStatus.PROCESSED).count() == 2
    assert InboundMessage.objects.filter(status=InboundStatus.QUARANTINED).count() == 2


def test_unknown_endpoint_is_quarantined_then_reprocessed_after_adding_it(client, catalog):
    body = meta.whatsapp_body(meta.wa_text("wamid.NOEP", "Hola, ¿me ayudan?"))
    assert meta.post_signed(client, body).status_code == 200

    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.QUARANTINED
    assert meta.PHONE_NUMBER_ID in record.reason
    assert record.provider_message_id == "wamid.NOEP"
    assert not Ticket.objects.exists()

    # Meta redelivers before anyone fixed it: still one row.
    meta.post_signed(client, body)
    assert InboundMessage.objects.count() == 1

    make_endpoint(catalog, provider="whatsapp", address=meta.PHONE_NUMBER_ID,
                  channel_code="whatsapp")
    admin = MembershipFactory(institution=catalog["institution"], role="sysadmin").user
    result = inbound_reprocess(message=record, actor=admin)

    record.refresh_from_db()
    assert record.status == InboundStatus.PROCESSED
    assert result.ticket.subject == "Hola, ¿me ayudan?"
    assert result.ticket.reply_address == meta.WA_ID
    assert InboundMessage.objects.count() == 1


def test_reprocess_that_still_fails_stays_quarantined_with_the_new_reason(client, catalog):
    meta.post_signed(client, meta.whatsapp_body(meta.wa_text("wamid.NOEP2", "Hola")))
    record = InboundMessage.objects.get()
    # The endpoint exists now, but its default topic was retired: the intake refuses.
    endpoint = make_endpoint(catalog, provider="whatsapp", address=meta.PHONE_NUMBER_ID,
                             channel_code="whatsapp")
    endpoint.topic.is_active = False
    endpoint.topic.save()
    admin = MembershipFactory(institution=catalog["institution"], role="sysadmin").user

    inbound_reprocess(message=record, actor=admin)

    record.refresh_from_db()
    assert record.status == InboundStatus.QUARANTINED
    assert "no está disponible" in record.reason
    assert not Ticket.objects.exists()


def test_intake_refusal_is_quarantined(client, whatsapp):
    whatsapp.topic.is_active = False
    whatsapp.topic.save()
    meta.post_signed(client, meta.whatsapp_body(meta.wa_text("wamid.REF", "Hola")))
    assert not Ticket.objects.exists()
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.QUARANTINED
    assert record.endpoint == whatsapp and "no está disponible" in record.reason


# --- Statuses -------------------------------------------------------------------------------


def outbound(catalog, *, channel="whatsapp", provider_message_id="wamid.OUT1"):
    return OutboundMessage.objects.create(
        institution=catalog["institution"], channel=channel, dedupe_key=provider_message_id,
        recipient=meta.WA_ID, subject="s", body_text="b", status="sent",
        provider_message_id=provider_message_id)


def test_status_webhooks_update_the_delivery_status(client, catalog):
    message = outbound(catalog)
    meta.post_signed(client, meta.whatsapp_body(statuses=[meta.wa_status("wamid.OUT1", "sent")]))
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    meta.post_signed(client, meta.whatsapp_body(statuses=[
        meta.wa_status("wamid.OUT1", "read"), meta.wa_status("wamid.OUT1", "delivered")]))
    message.refresh_from_db()
    assert message.delivery_status == "read"
    assert not InboundMessage.objects.exists()


def test_failed_status_keeps_the_error(client, catalog):
    message = outbound(catalog)
    meta.post_signed(client, meta.whatsapp_body(statuses=[meta.wa_status(
        "wamid.OUT1", "failed", errors=[{"code": 131047, "title": "Re-engagement message",
                                         "message": "Re-engagement message"}])]))
    message.refresh_from_db()
    assert message.delivery_status == "failed"
    assert "131047" in message.delivery_error and "Re-engagement" in message.delivery_error


# --- Messenger and Instagram ----------------------------------------------------------------


@pytest.fixture
def messenger(catalog):
    return make_endpoint(catalog, provider="messenger", address=meta.PAGE_ID,
                         channel_code="social")


@pytest.fixture
def instagram(catalog):
    return make_endpoint(catalog, provider="instagram", address=meta.IG_ACCOUNT_ID,
                         channel_code="social")


def test_messenger_text_opens_a_ticket_for_the_page_scoped_id(client, messenger, graph):
    graph.profiles["6045958765432"] = {"first_name": "Pedro", "last_name": "Rojas",
                                       "id": "6045958765432"}
    meta.post_signed(client, meta.messenger_body(meta.social_message(
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM", "6045958765432", text="¿Cuándo pagan la beca?")))

    ticket = Ticket.objects.get()
    assert ticket.channel.code == "social"
    assert (ticket.reply_channel, ticket.reply_address) == ("messenger", "6045958765432")
    identity = ChannelIdentity.objects.get(kind=IdentityKind.SOCIAL)
    assert identity.value == "messenger:6045958765432" and identity.verified_at
    assert ticket.citizen.full_name == "Pedro Rojas"


def test_messenger_attachments_image_kept_others_as_notes(client, messenger, graph):
    url = graph.add_cdn("foto.png", image_bytes("PNG"), "image/png")
    meta.post_signed(client, meta.messenger_body(meta.social_message(
        "m_ATT", "6045958765432", attachments=[
            {"type": "image", "payload": {"url": url}},
            {"type": "video", "payload": {"url": "https://video.xx.fbcdn.net/v/clip.mp4"}},
            {"type": "file", "payload": {"url": graph.root + "/cdn/missing.pdf"}},
        ])))

    ticket = Ticket.objects.get()
    assert Attachment.objects.get(ticket=ticket).content_type == "image/png"
    assert "«video»" in ticket.detail and "https://video.xx.fbcdn.net/v/clip.mp4" in ticket.detail
    assert "No se guardó el adjunto de Messenger" in ticket.detail


def test_messenger_echo_is_ignored_and_delivery_updates_the_outbox(client, messenger, catalog):
    message = outbound(catalog, channel="messenger", provider_message_id="m_OUT")
    meta.post_signed(client, meta.messenger_body(
        meta.social_message("m_ECHO", "6045958765432", text="eco", is_echo=True),
        meta.social_delivery(["m_OUT"], "6045958765432")))

    assert not InboundMessage.objects.exists() and not Ticket.objects.exists()
    message.refresh_from_db()
    assert message.delivery_status == "delivered"


def test_instagram_text_opens_a_ticket(client, instagram, graph):
    meta.post_signed(client, meta.messenger_body(meta.social_message(
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx", "1234567890", text="Hola desde IG",
        account_id=meta.IG_ACCOUNT_ID), object_kind="instagram",
        account_id=meta.IG_ACCOUNT_ID))

    ticket = Ticket.objects.get()
    assert (ticket.reply_channel, ticket.reply_address) == ("instagram", "1234567890")
    assert ChannelIdentity.objects.filter(kind=IdentityKind.SOCIAL,
                                          value="instagram:1234567890").exists()
    assert InboundMessage.objects.get().provider == "instagram"


def test_instagram_read_receipt_with_a_mid_updates_the_outbox(client, instagram, catalog):
    message = outbound(catalog, channel="instagram", provider_message_id="aWdfOUT")
    meta.post_signed(client, meta.messenger_body(
        {"sender": {"id": "1234567890"}, "recipient": {"id": meta.IG_ACCOUNT_ID},
         "timestamp": 1700000000000, "read": {"mid": "aWdfOUT"}},
        object_kind="instagram", account_id=meta.IG_ACCOUNT_ID))
    message.refresh_from_db()
    assert message.delivery_status == "read"


def test_more_attachments_than_allowed_keep_the_rest_as_links(client, messenger, graph,
                                                              settings):
    settings.ATTACHMENT_MAX_FILES = 2
    urls = [graph.add_cdn(f"foto{n}.png", image_bytes(), "image/png") for n in range(3)]
    meta.post_signed(client, meta.messenger_body(meta.social_message(
        "m_MANY", "6045958765432", text="Tres fotos",
        attachments=[{"type": "image", "payload": {"url": url}} for url in urls])))

    ticket = Ticket.objects.get()
    assert Attachment.objects.filter(ticket=ticket).count() == 2
    assert urls[2] in ticket.detail


def test_a_whole_body_quarantine_cannot_be_replayed_as_a_message(client, catalog):
    meta.post_signed(client, b"not json")
    record = InboundMessage.objects.get()
    admin = MembershipFactory(institution=catalog["institution"], role="sysadmin").user

    inbound_reprocess(message=record, actor=admin)

    record.refresh_from_db()
    assert record.status == InboundStatus.QUARANTINED
    assert "no se puede reprocesar" in record.reason
    assert not Ticket.objects.exists()


def test_messenger_for_an_unknown_page_is_quarantined(client, catalog):
    meta.post_signed(client, meta.messenger_body(meta.social_message(
        "m_NOPAGE", "6045958765432", text="Hola")))
    record = InboundMessage.objects.get()
    assert record.status == InboundStatus.QUARANTINED and record.provider == "messenger"
    assert meta.PAGE_ID in record.reason
