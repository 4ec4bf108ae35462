"""SMS through Twilio, against a local fake Twilio REST server (``fake_twilio``): the
signed webhooks (inbound SMS/MMS, status callbacks) and outbound delivery from the outbox.

Webhook requests are signed here independently of the code under test, following
Twilio's documented algorithm, and their bodies follow Twilio's documented incoming
message format."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from PIL import Image

from tests.channels.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, running_fake_twilio
from tests.factories import MembershipFactory, make_endpoint
from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.channels.services import inbound_reprocess
from ventanilla.channels.sms import sms_segments
from ventanilla.channels.sms_twilio import compute_signature
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.notifications.services import outbox_deliver
from ventanilla.portal.access_links import tracking_link_ticket
from ventanilla.tickets.models import Attachment, EventKind, Interaction, Ticket
from ventanilla.tickets.services import ticket_reply

pytestmark = pytest.mark.django_db

SITE_URL = "https://ventanilla.example.cl"
SMS_PATH = "/webhooks/twilio/sms/"
STATUS_PATH = "/webhooks/twilio/estado/"
PERSON = "+56912345678"
NUMBER = "+56227123456"


@pytest.fixture
def twilio(settings):
    settings.SITE_URL = SITE_URL
    with running_fake_twilio(settings) as server:
        yield server


@pytest.fixture
def endpoint(catalog):
    return make_endpoint(catalog, provider="twilio", address="56227123456",
                         channel_code="sms")


def staff(catalog):
    return MembershipFactory(institution=catalog["institution"], role="sysadmin").user


def twilio_signature(url: str, pairs: list[tuple[str, str]], token: str = AUTH_TOKEN) -> str:
    payload = url + "".join(name + value for name, value in sorted(pairs))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1)
                            .digest()).decode()


def incoming(sid: str = "SM" + "a" * 32, body: str = "Hola, no llegó la colación a la escuela",
             sender: str = PERSON, to: str = NUMBER, account: str = ACCOUNT_SID,
             media: tuple[tuple[str, str], ...] = ()) -> list[tuple[str, str]]:
    """An incoming-message webhook body, field for field as Twilio documents it."""
    pairs = [
        ("ToCountry", "CL"), ("ToState", ""), ("SmsMessageSid", sid),
        ("NumMedia", str(len(media))), ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid),
        ("FromState", ""), ("SmsStatus", "received"), ("FromCity", ""), ("Body", body),
        ("FromCountry", "CL"), ("To", to), ("ToZip", ""), ("NumSegments", "1"),
        ("MessageSid", sid), ("AccountSid", account), ("From", sender),
        ("ApiVersion", "2010-04-01"),
    ]
    for index, (url, content_type) in enumerate(media):
        pairs += [(f"MediaContentType{index}", content_type), (f"MediaUrl{index}", url)]
    return pairs


def status(sid: str, message_status: str, error_code: str = "") -> list[tuple[str, str]]:
    pairs = [("SmsSid", sid), ("SmsStatus", message_status), ("MessageStatus", message_status),
             ("To", PERSON), ("MessageSid", sid), ("AccountSid", ACCOUNT_SID),
             ("From", NUMBER), ("ApiVersion", "2010-04-01")]
    if error_code:
        pairs.append(("ErrorCode", error_code))
    return pairs


def post(client, path, pairs, *, signature=None, url=None):
    if signature is None:
        signature = twilio_signature(url or f"http://testserver{path}", pairs)
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if signature else {}
    return client.post(path, data=urlencode(pairs),
                       content_type="application/x-www-form-urlencoded", **headers)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


# --- signature ---------------------------------------------------------------------------------

def test_the_signature_matches_twilios_documented_examples():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    docs = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234",
            "From": "+12349013030", "To": "+18005551212"}
    # twilio.com/docs/usage/webhooks/webhooks-security (the worked example).
    assert compute_signature("12345", url, docs) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    # The vector of Twilio's own SDK tests (twilio-csharp RequestValidatorTest).
    sdk = {**docs, "Caller": "+14158675309", "From": "+14158675309"}
    assert compute_signature("12345", url, sdk) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert compute_signature("54321", url, docs) != "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


# --- the whole way: a signed SMS to a ticket and back out through the outbox --------------------

def test_a_signed_sms_becomes_a_ticket_and_its_answers_go_back_by_sms(
    client, catalog, twilio, endpoint, settings, django_capture_on_commit_callbacks,
):
    text = "Hola, no llegó la colación a la escuela de mi hijo"
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, SMS_PATH, incoming("SM" + "1" * 32, body=text))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.endswith(b"<Response/>")
    ticket = Ticket.objects.get()
    identity = ChannelIdentity.objects.get(kind=IdentityKind.PHONE, value="56912345678")
    assert identity.verified_at is not None
    assert ticket.citizen_id == identity.citizen_id
    assert ticket.institution == catalog["institution"] and ticket.channel.code == "sms"
    assert (ticket.reply_channel, ticket.reply_address) == ("sms", PERSON)
    assert ticket.detail == text
    assert ticket.events.filter(kind=EventKind.CREATED).exists()
    inbound = InboundMessage.objects.get()
    assert (inbound.provider, inbound.provider_message_id) == ("twilio", "SM" + "1" * 32)
    assert (inbound.status, inbound.ticket) == (InboundStatus.PROCESSED, ticket)

    # The acknowledgement left by SMS, from the institution's number.
    [acknowledgement] = twilio.messages
    assert acknowledgement.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert acknowledgement.form["To"] == PERSON
    assert acknowledgement.form["From"] == NUMBER
    assert acknowledgement.form["StatusCallback"] == SITE_URL + STATUS_PATH
    assert ticket.folio in acknowledgement.form["Body"]
    # The personal link: an SMS-only person has no e-mail for the tracking form.
    link = acknowledgement.form["Body"].rsplit("\n", 1)[-1]
    assert link.startswith(f"{SITE_URL}/s/")
    assert tracking_link_ticket(link.rstrip("/").rsplit("/", 1)[-1]) == ticket
    assert sms_segments(acknowledgement.form["Body"])[1] <= settings.SMS_MAX_SEGMENTS

    # A staff reply goes the same way.
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=staff(catalog),
                     body="La colación se repondrá el jueves en la escuela.")
    reply = twilio.messages[-1]
    assert len(twilio.messages) == 2 and reply.form["To"] == PERSON
    assert f"[{ticket.folio}] Respuesta a su requerimiento" in reply.form["Body"]
    row = OutboundMessage.objects.get(provider_message_id=reply.sid)
    assert (row.channel, row.status, row.recipient) == ("sms", OutboundStatus.SENT, PERSON)
    assert row.body_text == reply.form["Body"]

    # Twilio's status callback, signed for the public URL (Django sees another host
    # behind the proxy), records the delivery.
    response = post(client, STATUS_PATH, status(reply.sid, "delivered"),
                    url=SITE_URL + STATUS_PATH)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.delivery_status == "delivered"


def test_a_second_sms_of_the_person_joins_the_open_ticket(client, twilio, endpoint):
    post(client, SMS_PATH, incoming("SM" + "1" * 32))
    response = post(client, SMS_PATH, incoming("SM" + "2" * 32, body="¿Alguna novedad?"))

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.events.filter(kind=EventKind.CITIZEN_MESSAGE,
                                body__contains="¿Alguna novedad?").exists()
    assert Interaction.objects.filter(ticket=ticket).count() == 2
    assert Citizen.objects.count() == 1


def test_the_same_message_delivered_twice_is_one_interaction(client, twilio, endpoint):
    first = post(client, SMS_PATH, incoming("SM" + "1" * 32))
    again = post(client, SMS_PATH, incoming("SM" + "1" * 32))

    assert first.status_code == again.status_code == 200
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1
    assert Interaction.objects.count() == 1
    assert Ticket.objects.get().events.filter(kind=EventKind.CITIZEN_MESSAGE).count() == 0


def test_an_sms_without_text_is_still_a_message(client, twilio, endpoint):
    post(client, SMS_PATH, incoming(body=""))
    assert Ticket.objects.get().detail == "(Mensaje sin texto.)"


# --- refused webhooks: 403 and nothing stored ------------------------------------------------

def _nothing_stored() -> bool:
    return not (InboundMessage.objects.exists() or Ticket.objects.exists()
                or Citizen.objects.exists())


@pytest.mark.parametrize("signature", ["bm90IHRoZSBzaWduYXR1cmU=", ""])
def test_a_forged_or_missing_signature_is_refused(client, twilio, endpoint, signature):
    response = post(client, SMS_PATH, incoming(), signature=signature)
    assert response.status_code == 403
    assert _nothing_stored()


def test_a_body_changed_after_signing_is_refused(client, twilio, endpoint):
    pairs = incoming()
    signature = twilio_signature(f"http://testserver{SMS_PATH}", pairs)
    tampered = [(name, "Otro texto" if name == "Body" else value) for name, value in pairs]

    assert post(client, SMS_PATH, tampered, signature=signature).status_code == 403
    assert _nothing_stored()


def test_without_an_auth_token_every_webhook_is_refused(client, twilio, endpoint, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    pairs = incoming()
    response = post(client, SMS_PATH, pairs,
                    signature=twilio_signature(f"http://testserver{SMS_PATH}", pairs, token=""))
    assert response.status_code == 403
    assert _nothing_stored()


def test_another_twilio_account_is_refused(client, twilio, endpoint):
    response = post(client, SMS_PATH, incoming(account="AC" + "9" * 32))
    assert response.status_code == 403
    assert _nothing_stored()


def test_the_public_url_is_accepted_with_or_without_the_default_port(client, twilio,
                                                                     endpoint):
    pairs = incoming()
    signature = twilio_signature("https://ventanilla.example.cl:443" + SMS_PATH, pairs)

    assert post(client, SMS_PATH, pairs, signature=signature).status_code == 200
    assert Ticket.objects.count() == 1


def test_only_post_is_accepted(client, twilio):
    assert client.get(SMS_PATH).status_code == 405


# --- quarantine ---------------------------------------------------------------------------

def test_an_sms_to_an_unknown_number_is_quarantined_and_can_be_reprocessed(
    client, catalog, twilio, endpoint,
):
    pairs = incoming(to="+56221111111")
    response = post(client, SMS_PATH, pairs)
    post(client, SMS_PATH, pairs)  # Twilio retrying changes nothing

    assert response.status_code == 200  # so that Twilio does not retry for ever
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.QUARANTINED
    assert "+56221111111" in message.reason
    assert message.raw.read() == urlencode(pairs).encode()
    assert not Ticket.objects.exists()

    make_endpoint(catalog, provider="twilio", address="56221111111", channel_code="sms")
    result = inbound_reprocess(message=message, actor=staff(catalog))

    message.refresh_from_db()
    assert message.status == InboundStatus.PROCESSED
    assert result.ticket == message.ticket == Ticket.objects.get()
    assert result.ticket.citizen.identities.get().value == "56912345678"


def test_a_reprocessed_message_that_still_fails_stays_quarantined(client, catalog, twilio,
                                                                   endpoint):
    post(client, SMS_PATH, incoming(to="+56221111111"))
    message = InboundMessage.objects.get()

    result = inbound_reprocess(message=message, actor=staff(catalog))

    assert result.pk == message.pk and result.status == InboundStatus.QUARANTINED
    assert InboundMessage.objects.count() == 1
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("sender", ["VENTANILLA", "24273", "whatsapp:+56912345678"])
def test_a_sender_that_is_not_a_phone_number_is_quarantined(client, twilio, endpoint, sender):
    response = post(client, SMS_PATH, incoming(sender=sender))

    assert response.status_code == 200
    message = InboundMessage.objects.get()
    assert (message.status, message.reason) == (InboundStatus.QUARANTINED,
                                                "formato de remitente desconocido")
    assert message.sender == sender and message.endpoint == endpoint
    assert not Ticket.objects.exists() and not Citizen.objects.exists()


def test_an_sms_the_intake_refuses_is_quarantined(client, twilio, endpoint):
    endpoint.topic.is_active = False
    endpoint.topic.save(update_fields=["is_active"])

    response = post(client, SMS_PATH, incoming())

    assert response.status_code == 200
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.QUARANTINED and message.reason
    assert message.raw
    assert not Ticket.objects.exists()


# --- MMS media ----------------------------------------------------------------------------------

def test_an_mms_image_is_kept_as_an_attachment(client, twilio, endpoint):
    url = twilio.add_media("image/png", png())

    post(client, SMS_PATH, incoming("MM" + "1" * 32, body="Foto de la bandeja",
                                    media=((url, "image/png"),)))

    ticket = Ticket.objects.get()
    attachment = Attachment.objects.get(ticket=ticket)
    assert (attachment.content_type, attachment.extension) == ("image/png", "png")
    assert attachment.file.read() == png()
    assert twilio.media_requests == [url.removeprefix(twilio.base_url)]
    assert InboundMessage.objects.get().reason == ""


def test_media_that_cannot_be_kept_becomes_a_note_with_its_link(client, twilio, endpoint):
    broken = twilio.add_media("image/jpeg", b"this is not a jpeg")
    card = twilio.add_media("text/vcard", b"BEGIN:VCARD\nEND:VCARD\n")
    gone = f"{twilio.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MMx/Media/MEx"
    elsewhere = "https://media.example.net/imagen.png"

    post(client, SMS_PATH, incoming("MM" + "2" * 32, body="Adjunto", media=(
        (broken, "image/jpeg"), (card, "text/vcard"), (gone, "image/png"),
        (elsewhere, "image/png"))))

    ticket = Ticket.objects.get()
    assert not Attachment.objects.exists()
    for url in (broken, card, gone, elsewhere):
        assert url in ticket.detail
    assert ticket.detail.count("Archivo adjunto no conservado") == 4
    # Only the provider's own media were requested (never the other host), and the
    # vCard not at all.
    assert card.removeprefix(twilio.base_url) not in twilio.media_requests
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.PROCESSED and message.reason and message.raw


# --- status callbacks ------------------------------------------------------------------------

@pytest.fixture
def sent_sms(client, twilio, endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, SMS_PATH, incoming())
    return OutboundMessage.objects.get(channel="sms", status=OutboundStatus.SENT)


def test_a_failed_delivery_is_recorded_with_its_error(client, sent_sms):
    assert post(client, STATUS_PATH, status(sent_sms.provider_message_id, "sent")
                ).status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.delivery_status == "sent"

    post(client, STATUS_PATH, status(sent_sms.provider_message_id, "undelivered", "30003"))

    sent_sms.refresh_from_db()
    assert sent_sms.delivery_status == "undelivered"
    assert sent_sms.delivery_error.startswith("Twilio 30003")


def test_a_callback_for_an_unknown_message_changes_nothing(client, sent_sms):
    response = post(client, STATUS_PATH, status("SM" + "f" * 32, "delivered"))

    assert response.status_code == 200
    sent_sms.refresh_from_db()
    assert sent_sms.delivery_status == ""


def test_a_forged_callback_is_refused(client, sent_sms):
    response = post(client, STATUS_PATH, status(sent_sms.provider_message_id, "failed"),
                    signature="bm90IHRoZSBzaWduYXR1cmU=")

    assert response.status_code == 403
    sent_sms.refresh_from_db()
    assert sent_sms.delivery_status == ""


# --- outbound failures -----------------------------------------------------------------------

def _acknowledgement_after(client, twilio, failures, capture) -> OutboundMessage:
    twilio.failures = list(failures)
    with capture(execute=True):
        post(client, SMS_PATH, incoming())
    return OutboundMessage.objects.get(channel="sms")


def test_an_invalid_number_fails_at_once(client, twilio, endpoint,
                                         django_capture_on_commit_callbacks):
    row = _acknowledgement_after(client, twilio, [21211], django_capture_on_commit_callbacks)

    assert (row.status, row.attempts) == (OutboundStatus.FAILED, 1)
    assert "21211" in row.last_error
    assert twilio.messages == []


@pytest.mark.parametrize("failure", [20500, 20429])
def test_a_provider_outage_is_retried_and_sent_once(client, twilio, endpoint, failure,
                                                    django_capture_on_commit_callbacks):
    row = _acknowledgement_after(client, twilio, [failure], django_capture_on_commit_callbacks)

    assert (row.status, row.attempts) == (OutboundStatus.PENDING, 1)
    assert str(failure) in row.last_error and row.next_attempt_at > timezone.now()

    OutboundMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox_deliver(message_id=row.pk) == OutboundStatus.SENT
    assert outbox_deliver(message_id=row.pk) == OutboundStatus.SENT  # not sent again
    assert len(twilio.messages) == 1
    row.refresh_from_db()
    assert row.provider_message_id == twilio.messages[0].sid


def test_an_unreachable_provider_is_retried(client, twilio, endpoint):
    post(client, SMS_PATH, incoming())  # no commit here: the row waits in the outbox
    row = OutboundMessage.objects.get(channel="sms")
    twilio.stop()

    assert outbox_deliver(message_id=row.pk) == OutboundStatus.PENDING
    row.refresh_from_db()
    assert row.last_error and row.attempts == 1


def test_an_institution_without_an_sms_number_fails_at_once(client, twilio, endpoint):
    post(client, SMS_PATH, incoming())
    row = OutboundMessage.objects.get(channel="sms")
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active"])

    assert outbox_deliver(message_id=row.pk) == OutboundStatus.FAILED
    assert twilio.messages == []
