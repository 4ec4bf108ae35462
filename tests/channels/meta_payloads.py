"""Webhook bodies in the shapes Meta documents (WhatsApp Cloud API "messages" webhook,
Messenger Platform and Instagram messaging webhooks), and how Meta signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "token-de-verificacion"
ACCESS_TOKEN = "test-access-token"
PHONE_NUMBER_ID = "106540352242922"
WA_ID = "56912345678"
PAGE_ID = "1234567890123"
IG_ACCOUNT_ID = "17841400000000000"
WEBHOOK_URL = "/webhooks/meta/"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_signed(client, payload, *, secret: str = APP_SECRET, signature: str | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-Hub-Signature-256": signature if signature is not None else sign(body, secret)}
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", headers=headers)


def now_ts() -> str:
    return str(int(time.time()))


def whatsapp_body(*messages, statuses=None, phone_number_id: str = PHONE_NUMBER_ID,
                  wa_id: str = WA_ID, name: str = "Juana Soto") -> dict:
    """The "messages" webhook: entry → changes → value with metadata, contacts, messages."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "56226001234", "phone_number_id": phone_number_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def wa_text(wamid: str, body: str, *, sender: str = WA_ID, timestamp: str | None = None):
    return {"from": sender, "id": wamid, "timestamp": timestamp or now_ts(), "type": "text",
            "text": {"body": body}}


def wa_image(wamid: str, media_id: str, caption: str = "", *, sender: str = WA_ID):
    image = {"mime_type": "image/jpeg", "sha256": "IMAGE_HASH", "id": media_id}
    if caption:
        image["caption"] = caption
    return {"from": sender, "id": wamid, "timestamp": now_ts(), "type": "image", "image": image}


def wa_document(wamid: str, media_id: str, filename: str, caption: str = ""):
    return {"from": WA_ID, "id": wamid, "timestamp": now_ts(), "type": "document",
            "document": {"caption": caption, "filename": filename, "mime_type": "application/pdf",
                         "sha256": "DOC_HASH", "id": media_id}}


def wa_location(wamid: str):
    return {"from": WA_ID, "id": wamid, "timestamp": now_ts(), "type": "location",
            "location": {"latitude": -33.4489, "longitude": -70.6693,
                         "name": "Escuela Básica Los Aromos", "address": "Av. Matta 123"}}


def wa_sticker(wamid: str, media_id: str):
    return {"from": WA_ID, "id": wamid, "timestamp": now_ts(), "type": "sticker",
            "sticker": {"mime_type": "image/webp", "sha256": "STICKER_HASH", "id": media_id,
                        "animated": False}}


def wa_unsupported(wamid: str):
    return {"from": WA_ID, "id": wamid, "timestamp": now_ts(), "type": "unsupported",
            "errors": [{"code": 131051, "title": "Message type unknown",
                        "message": "Message type unknown",
                        "error_data": {"details": "Message type is currently not supported."}}]}


def wa_status(wamid: str, status: str, *, errors=None):
    entry = {"id": wamid, "status": status, "timestamp": now_ts(), "recipient_id": WA_ID,
             "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
             "pricing": {"billable": True, "pricing_model": "PMP", "category": "service"}}
    if errors:
        entry["errors"] = errors
    return entry


def messenger_body(*events, object_kind: str = "page", account_id: str = PAGE_ID) -> dict:
    return {"object": object_kind,
            "entry": [{"id": account_id, "time": int(time.time() * 1000),
                       "messaging": list(events)}]}


def social_message(mid: str, psid: str, *, text: str = "", attachments=None,
                   account_id: str = PAGE_ID, is_echo: bool = False) -> dict:
    message = {"mid": mid}
    if text:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    if is_echo:
        message["is_echo"] = True
    return {"sender": {"id": psid}, "recipient": {"id": account_id},
            "timestamp": int(time.time() * 1000), "message": message}


def social_delivery(mids: list[str], psid: str, account_id: str = PAGE_ID) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": account_id},
            "delivery": {"mids": mids, "watermark": int(time.time() * 1000)}}
