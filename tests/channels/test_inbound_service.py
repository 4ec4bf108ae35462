"""The one inbound path every channel adapter uses (``channels.services``), the outbox's
routing of answers to the ticket's channel and the providers' delivery callbacks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import MembershipFactory, make_endpoint, open_ticket
from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.channels.services import (
    InboundContent,
    inbound_dismiss,
    inbound_receive,
    inbound_record_unprocessed,
)
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.notifications.models import OutboundMessage
from ventanilla.notifications.services import outbox_delivery_update, outbox_enqueue_for_ticket
from ventanilla.tickets.models import EventKind, Interaction, Status, Ticket
from ventanilla.tickets.services import ticket_change_status, ticket_reply

pytestmark = pytest.mark.django_db


def staff(catalog):
    return MembershipFactory(institution=catalog["institution"], role="sysadmin").user


@pytest.fixture
def whatsapp(catalog):
    return make_endpoint(catalog, provider="whatsapp", address="106540352242922",
                         channel_code="whatsapp")


def chat(endpoint, message_id: str, text: str = "Hola, no llegó la colación", **overrides):
    fields = {
        "endpoint": endpoint, "provider_message_id": message_id,
        "identity_kind": IdentityKind.WHATSAPP, "identity_value": "56912345678",
        "identity_verified": True, "reply_channel": "whatsapp", "reply_address": "56912345678",
        "sender_name": "Juana Soto", "phone": "+56912345678", "text": text,
        "join_open_conversation": True,
    }
    fields.update(overrides)
    return InboundContent(**fields)


def test_first_message_opens_a_ticket_for_a_new_person_answered_on_the_channel(whatsapp):
    result = inbound_receive(content=chat(whatsapp, "wamid.1"))

    assert result.created_ticket and not result.duplicate
    ticket = result.ticket
    assert ticket.channel.code == "whatsapp"
    assert (ticket.reply_channel, ticket.reply_address) == ("whatsapp", "56912345678")
    assert ticket.subject == "Hola, no llegó la colación"
    assert ticket.ticket_type == whatsapp.ticket_type and ticket.topic == whatsapp.topic
    identity = ChannelIdentity.objects.get(kind=IdentityKind.WHATSAPP, value="56912345678")
    assert identity.citizen == ticket.citizen and identity.verified_at is not None
    assert identity.last_inbound_at is not None
    record = result.message
    assert (record.status, record.ticket, record.institution) == (
        InboundStatus.PROCESSED, ticket, whatsapp.institution)
    # The acknowledgement goes back on WhatsApp, not by e-mail.
    ack = OutboundMessage.objects.get(ticket=ticket)
    assert (ack.channel, ack.recipient) == ("whatsapp", "56912345678")


def test_next_message_joins_the_open_conversation_and_a_redelivery_is_one_interaction(whatsapp):
    first = inbound_receive(content=chat(whatsapp, "wamid.1")).ticket
    second = inbound_receive(content=chat(whatsapp, "wamid.2", text="¿Alguna novedad?"))
    again = inbound_receive(content=chat(whatsapp, "wamid.2", text="¿Alguna novedad?"))

    assert second.ticket == first and not second.created_ticket
    assert again.duplicate and again.ticket == first
    assert InboundMessage.objects.filter(provider="whatsapp").count() == 2
    assert Interaction.objects.filter(ticket=first).count() == 2
    assert first.events.filter(kind=EventKind.CITIZEN_MESSAGE).count() == 1


def test_a_closed_conversation_is_not_continued(whatsapp, catalog):
    first = inbound_receive(content=chat(whatsapp, "wamid.1")).ticket
    sysadmin = staff(catalog)
    Ticket.objects.filter(pk=first.pk).update(root_cause="x", corrective_action="y")
    ticket_change_status(ticket=first, actor=sysadmin, to_status=Status.CLOSED, reason="listo")

    later = inbound_receive(content=chat(whatsapp, "wamid.3", text="Otro problema"))

    assert later.created_ticket and later.ticket != first
    assert later.ticket.citizen == first.citizen


def test_a_folio_only_joins_the_ticket_of_the_same_person(catalog):
    email = make_endpoint(catalog, provider="email", address="oirs@inst.example.cl",
                          channel_code="email")
    ticket = open_ticket(catalog, email="juana@example.cl")

    def mail(message_id, sender):
        return InboundContent(
            endpoint=email, provider_message_id=message_id, identity_kind=IdentityKind.EMAIL,
            identity_value=sender, identity_verified=False, reply_channel="email",
            reply_address=sender, email=sender, subject=f"Re: {ticket.folio}",
            text="Adjunto más antecedentes", thread_folio=ticket.folio,
        )

    own = inbound_receive(content=mail("m1@x", "juana@example.cl"))
    stranger = inbound_receive(content=mail("m2@x", "otra@example.cl"))

    assert own.ticket == ticket and not own.created_ticket
    assert stranger.created_ticket and stranger.ticket != ticket


def test_an_identity_is_not_joined_to_a_record_that_only_typed_that_phone(whatsapp, catalog):
    typed = open_ticket(catalog, contact=None)  # Juana, phone +56 9 1234 5678 typed on the web
    result = inbound_receive(content=chat(whatsapp, "wamid.9"))

    assert result.ticket.citizen != typed.citizen
    assert Citizen.objects.filter(merged_into__isnull=True).count() == 2


def test_refused_intake_leaves_nothing_behind(whatsapp):
    whatsapp.topic.is_active = False
    whatsapp.topic.save()

    with pytest.raises(ValidationError):
        inbound_receive(content=chat(whatsapp, "wamid.1"))

    assert not InboundMessage.objects.exists()
    assert not Ticket.objects.exists()


def test_a_problem_keeps_the_raw_input_on_the_processed_row(whatsapp):
    result = inbound_receive(content=chat(whatsapp, "wamid.1", problem="Adjunto rechazado",
                                          raw=b'{"x": 1}', raw_name="m.json",
                                          notes=["Adjunto «virus.exe» rechazado."]))

    record = result.message
    assert record.status == InboundStatus.PROCESSED
    assert record.reason == "Adjunto rechazado" and record.raw.read() == b'{"x": 1}'
    assert "virus.exe" in result.ticket.detail


def test_quarantine_keeps_the_raw_bytes_once_per_provider_id(catalog):
    first = inbound_record_unprocessed(provider="email", status=InboundStatus.QUARANTINED,
                                       reason="MIME ilegible", raw=b"garbage",
                                       provider_message_id="bad@x", raw_name="m.eml")
    second = inbound_record_unprocessed(provider="email", status=InboundStatus.QUARANTINED,
                                        reason="MIME ilegible", raw=b"garbage",
                                        provider_message_id="bad@x")

    assert first.pk == second.pk
    assert first.raw.read() == b"garbage"
    with pytest.raises(ValueError):
        inbound_record_unprocessed(provider="email", status=InboundStatus.PROCESSED, reason="")


def test_dismiss_only_touches_quarantined_rows(catalog):
    admin = staff(catalog)
    quarantined = inbound_record_unprocessed(provider="twilio", reason="x", raw=b"x",
                                             status=InboundStatus.QUARANTINED)
    ignored = inbound_record_unprocessed(provider="email", reason="auto", raw=b"x",
                                         status=InboundStatus.IGNORED)

    assert inbound_dismiss(message=quarantined, actor=admin).status == InboundStatus.DISMISSED
    assert inbound_dismiss(message=ignored, actor=admin).status == InboundStatus.IGNORED
    assert not ignored.raw  # only quarantined rows keep their raw input


def test_answers_follow_the_ticket_channel_and_web_tickets_stay_on_email(whatsapp, catalog):
    web = open_ticket(catalog, email="juana@example.cl")
    chat_ticket = inbound_receive(content=chat(whatsapp, "wamid.1")).ticket
    actor = staff(catalog)

    ticket_reply(ticket=web, actor=actor, body="Estamos revisando.")
    ticket_reply(ticket=chat_ticket, actor=actor, body="Estamos revisando.")

    assert set(OutboundMessage.objects.filter(ticket=web).values_list("channel", flat=True)) == {
        "email"}
    reply = OutboundMessage.objects.filter(ticket=chat_ticket).latest("pk")
    assert (reply.channel, reply.recipient) == ("whatsapp", "56912345678")
    assert "Estamos revisando." in reply.body_text


def test_no_address_means_no_message(catalog):
    ticket = open_ticket(catalog, email="")
    Ticket.objects.filter(pk=ticket.pk).update(reply_channel="sms", reply_address="")
    ticket.refresh_from_db()

    assert outbox_enqueue_for_ticket(ticket=ticket, dedupe_key="k", template="ticket_reply",
                                     context={"ticket": ticket, "body": "x"}) is None


def test_delivery_callbacks_only_move_forward(catalog):
    ticket = open_ticket(catalog)
    message = OutboundMessage.objects.filter(ticket=ticket).first()
    OutboundMessage.objects.filter(pk=message.pk).update(channel="sms",
                                                         provider_message_id="SM1")
    now = timezone.now()

    assert outbox_delivery_update(channel="sms", provider_message_id="SM1", status="delivered",
                                  at=now) == 1
    assert outbox_delivery_update(channel="sms", provider_message_id="SM1", status="sent",
                                  at=now + timedelta(seconds=1)) == 0
    assert outbox_delivery_update(channel="sms", provider_message_id="SM1", status="delivered",
                                  at=now + timedelta(seconds=2)) == 0
    assert outbox_delivery_update(channel="sms", provider_message_id="unknown",
                                  status="read") == 0
    assert outbox_delivery_update(channel="sms", provider_message_id="SM1",
                                  status="bogus") == 0
    message.refresh_from_db()
    assert (message.delivery_status, message.delivery_updated_at) == ("delivered", now)

    assert outbox_delivery_update(channel="sms", provider_message_id="SM1", status="failed",
                                  error="30003 Unreachable") == 1
    message.refresh_from_db()
    assert (message.delivery_status, message.delivery_error) == ("failed", "30003 Unreachable")


def test_a_person_with_only_a_phone_is_answered_by_sms_when_the_institution_has_a_number(
        catalog):
    from ventanilla.citizens.services import ContactData

    phone_only = ContactData(full_name="Pedro Rojas", phone="+56 9 8765 4321")
    before = open_ticket(catalog, contact=phone_only)
    make_endpoint(catalog, provider="twilio", address="56227123456", channel_code="sms")
    after = open_ticket(catalog, contact=phone_only)
    with_email = open_ticket(catalog, email="juana@example.cl")

    assert (before.reply_channel, before.reply_address) == ("", "")
    assert (after.reply_channel, after.reply_address) == ("sms", "+56987654321")
    assert OutboundMessage.objects.get(ticket=after).channel == "sms"
    assert with_email.reply_channel == ""


def test_staff_see_where_answers_go(client, whatsapp, catalog):
    chat_ticket = inbound_receive(content=chat(whatsapp, "wamid.1")).ticket
    web = open_ticket(catalog, email="juana@example.cl")
    silent = open_ticket(catalog, email="")
    client.force_login(staff(catalog))

    def page(ticket):
        return client.get(f"/consola/r/{ticket.folio}/").content.decode()

    assert "se envían por WhatsApp · 56912345678" in page(chat_ticket)
    assert "se envían por Correo electrónico · juana@example.cl" in page(web)
    assert "quedan solo en el historial" in page(silent)
