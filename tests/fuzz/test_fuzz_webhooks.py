"""Properties of the provider webhooks (Meta: WhatsApp, Messenger, Instagram; Twilio SMS)
through Django's test client: a correctly signed body of any shape is answered 200 (the
providers retry anything else for days) and never a 500, and delivering it again stores
nothing new."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.channels import meta_payloads as meta
from tests.channels.test_sms_twilio import ACCOUNT_SID, AUTH_TOKEN, twilio_signature
from tests.factories import make_endpoint
from tests.fuzz.settings import FUZZ
from ventanilla.channels.models import InboundMessage
from ventanilla.tickets.models import Attachment, Interaction, Ticket

pytestmark = pytest.mark.django_db

# Nothing listens there: a media download fails at once instead of leaving the machine.
UNREACHABLE = "http://127.0.0.1:9"
SMS_PATH = "/webhooks/twilio/sms/"
STATUS_PATH = "/webhooks/twilio/estado/"

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(max_size=10), children, max_size=3)),
    max_leaves=10,
)


def _stored() -> tuple[int, int, int, int]:
    return (InboundMessage.objects.count(), Ticket.objects.count(),
            Interaction.objects.count(), Attachment.objects.count())


@pytest.fixture
def providers(settings, catalog):
    settings.META_APP_SECRET = meta.APP_SECRET
    settings.META_ACCESS_TOKEN = meta.ACCESS_TOKEN
    settings.META_GRAPH_BASE_URL = UNREACHABLE
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_API_BASE_URL = UNREACHABLE
    settings.PROVIDER_HTTP_TIMEOUT = 1
    make_endpoint(catalog, provider="whatsapp", address=meta.PHONE_NUMBER_ID,
                  channel_code="whatsapp")
    make_endpoint(catalog, provider="messenger", address=meta.PAGE_ID, channel_code="social")
    make_endpoint(catalog, provider="twilio", address="56227123456", channel_code="sms")


# --- Meta -------------------------------------------------------------------------------------

@st.composite
def whatsapp_messages(draw):
    """A message of a documented type with any field replaced by any JSON value."""
    wamid = draw(st.sampled_from(["wamid.A", "wamid.B", "", "x" * 300]))
    message = draw(st.sampled_from([
        meta.wa_text(wamid, "Hola, no llegó la colación"),
        meta.wa_image(wamid, "MEDIA1", "foto"),
        meta.wa_document(wamid, "MEDIA2", "informe.pdf"),
        meta.wa_location(wamid),
        meta.wa_sticker(wamid, "MEDIA3"),
        meta.wa_unsupported(wamid),
        {"from": meta.WA_ID, "id": wamid, "type": "reaction",
         "reaction": {"message_id": "wamid.X", "emoji": "👍"}},
        {"from": meta.WA_ID, "id": wamid, "type": "interactive",
         "interactive": {"type": "button_reply", "button_reply": {"id": "1", "title": "Sí"}}},
    ]))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        key = draw(st.sampled_from([*message.keys(), "text", "image", "context", "timestamp"]))
        message[key] = draw(json_values)
    return message


@st.composite
def meta_bodies(draw):
    kind = draw(st.sampled_from(["whatsapp", "social", "status", "anything", "mixed"]))
    if kind == "whatsapp":
        return meta.whatsapp_body(*draw(st.lists(whatsapp_messages(), min_size=1, max_size=3)),
                                  name=draw(st.text(max_size=20)))
    if kind == "status":
        statuses = [meta.wa_status(draw(st.sampled_from(["wamid.S", "", "1"])),
                                   draw(st.sampled_from(["sent", "read", "failed", "deleted"])),
                                   errors=draw(st.one_of(st.none(), json_values)))]
        return meta.whatsapp_body(statuses=statuses)
    if kind == "social":
        event = meta.social_message(draw(st.sampled_from(["m_1", "m_2", ""])),
                                    draw(st.sampled_from(["4321", "", "x"])),
                                    text=draw(st.text(max_size=40)),
                                    attachments=draw(st.one_of(st.none(), json_values)))
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            event[draw(st.sampled_from(["message", "sender", "delivery", "read", "timestamp"]))] \
                = draw(json_values)
        return meta.messenger_body(event, object_kind=draw(st.sampled_from(["page",
                                                                            "instagram"])))
    if kind == "mixed":
        body = meta.whatsapp_body(meta.wa_text("wamid.M", "hola"))
        path = draw(st.sampled_from(["entry", "changes", "value", "messages", "metadata"]))
        value = draw(json_values)
        if path == "entry":
            body["entry"] = value
        elif path == "changes":
            body["entry"][0]["changes"] = value
        elif path == "value":
            body["entry"][0]["changes"][0]["value"] = value
        else:
            body["entry"][0]["changes"][0]["value"][path] = value
        return body
    return draw(json_values)


def _post_meta(client, body: bytes):
    return client.post(meta.WEBHOOK_URL, data=body, content_type="application/json",
                       headers={"X-Hub-Signature-256": meta.sign(body)})


@FUZZ
@given(payload=meta_bodies())
@example(payload={"object": "whatsapp_business_account", "entry": [{"changes": [
    {"field": "messages", "value": {"messages": [{"id": "", "type": "text",
                                                  "text": {"body": "sin id"}}]}}]}]})
@example(payload=[1, 2])
@example(payload=meta.whatsapp_body(meta.wa_text("wamid.\x00", "texto\x00con NUL"),
                                    name="Juana\x00"))  # PostgreSQL refuses NUL in text
def test_meta_webhook_signed_bodies_are_accepted_once(client, providers, caplog, payload):
    body = json.dumps(payload).encode()
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        first = _post_meta(client, body)
    assert first.status_code == 200
    stored = _stored()
    assert _post_meta(client, body).status_code == 200
    assert _stored() == stored
    # No unit fell through to the "unexpected error" quarantine.
    assert not [r for r in caplog.records if r.name.startswith("ventanilla")], caplog.text


@FUZZ
@given(body=st.binary(max_size=300))
@example(body=b"\xff\xfe{")
@example(body=b'{"object": "page", "entry": {"messaging": 1}}')
def test_meta_webhook_signed_garbage_is_kept_once(client, providers, body):
    assert _post_meta(client, body).status_code == 200
    stored = _stored()
    assert _post_meta(client, body).status_code == 200
    assert _stored() == stored


@FUZZ
@given(body=st.binary(max_size=300), signature=st.text(max_size=80))
def test_meta_webhook_unsigned_bodies_store_nothing(client, providers, body, signature):
    response = client.post(meta.WEBHOOK_URL, data=body, content_type="application/json",
                           headers={"X-Hub-Signature-256": signature})
    assert response.status_code == 403
    assert _stored() == (0, 0, 0, 0)


# --- Twilio -----------------------------------------------------------------------------------

form_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@st.composite
def twilio_forms(draw) -> list[tuple[str, str]]:
    sid = draw(st.sampled_from(["SM" + "a" * 32, "SM" + "b" * 32, "", " ", "x" * 300]))
    pairs = [
        ("MessageSid", sid), ("AccountSid", ACCOUNT_SID),
        ("From", draw(st.sampled_from(["+56912345678", "+56 9 1234 5678", "", "VENTANILLA",
                                       "12345", "+0000"]))),
        ("To", draw(st.sampled_from(["+56227123456", "+56999999999", "", "abc"]))),
        ("Body", draw(form_text)),
        ("NumMedia", draw(st.sampled_from(["0", "1", "2", "11", "-1", "x", "99999999999"]))),
        ("MediaUrl0", draw(st.sampled_from([f"{UNREACHABLE}/2010-04-01/Media/ME1",
                                            "https://evil.example/ME1", "", "::"]))),
        ("MediaContentType0", draw(st.sampled_from(["image/jpeg", "text/html", "",
                                                    "image/png;x"]))),
        ("MessageStatus", draw(st.sampled_from(["delivered", "failed", "undelivered", "", "??"]))),
        ("ErrorCode", draw(st.sampled_from(["", "30003", "x"]))),
    ]
    extra = draw(st.lists(st.tuples(form_text, form_text), max_size=3))
    kept = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    # AccountSid stays: without it the request is refused before anything is parsed.
    return [pair for pair, keep in zip(pairs, kept, strict=True)
            if keep or pair[0] == "AccountSid"] + extra


def _post_twilio(client, path, pairs):
    signature = twilio_signature(f"http://testserver{path}", pairs)
    return client.post(path, data=urlencode(pairs),
                       content_type="application/x-www-form-urlencoded",
                       HTTP_X_TWILIO_SIGNATURE=signature)


@FUZZ
@given(pairs=twilio_forms(), path=st.sampled_from([SMS_PATH, STATUS_PATH]))
@example(pairs=[("AccountSid", ACCOUNT_SID), ("From", "+56912345678"),
                ("To", "+56227123456"), ("Body", "sin identificador")], path=SMS_PATH)
@example(pairs=[("AccountSid", ACCOUNT_SID), ("MessageSid", "SM\x00"), ("From", "+56912345678"),
                ("To", "+56227123456"), ("Body", "texto\x00con NUL")], path=SMS_PATH)
@example(pairs=[("AccountSid", ACCOUNT_SID), ("MessageSid", "SM\x00"),
                ("MessageStatus", "delivered")], path=STATUS_PATH)
def test_twilio_webhooks_signed_forms_are_accepted_once(client, providers, caplog, pairs,
                                                         path):
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        first = _post_twilio(client, path, pairs)
    # Forms that Django itself cannot read (invalid percent-encoded UTF-8 is replaced, never
    # raised) still reach the view; the only refusal is a wrong signature or account.
    assert first.status_code == 200, first.content
    stored = _stored()
    assert _post_twilio(client, path, pairs).status_code == 200
    assert _stored() == stored
    assert not [r for r in caplog.records if r.name.startswith("ventanilla")], caplog.text
