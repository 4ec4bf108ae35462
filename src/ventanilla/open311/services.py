"""The Open311 intake adapter: turns a GeoReport v2 POST into a ``TicketDraft`` for the only
ticket writer (``tickets.services.ticket_open``) and records the Open311 token."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ventanilla.api.models import ApiKey
from ventanilla.api.services import IdempotencyConflict, api_ticket_open
from ventanilla.catalog.models import Channel, TicketType, Topic, Workflow
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.models import EventKind, Ticket, TicketEvent
from ventanilla.tickets.services import TicketDraft

# Open311 reports become a Type 2 (three-stage) request. The first of these codes that the
# institution has active is used; otherwise its first active Type 2 type in display order.
TICKET_TYPE_PREFERENCE = ("solicitud", "consulta", "reclamo")
SUBJECT_MAX = 200


class Open311Conflict(Exception):
    """The same Idempotency-Key was used with another body."""


@dataclass(frozen=True)
class Open311Request:
    topic: Topic
    description: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    lat: float | None = None
    long: float | None = None
    address_string: str = ""
    address_id: str = ""
    device_id: str = ""
    account_id: str = ""
    media_url: str = ""
    attributes: dict = field(default_factory=dict)


def ticket_type_for_open311(institution) -> TicketType | None:
    types = list(TicketType.objects.filter(institution=institution, is_active=True,
                                           workflow=Workflow.THREE_STAGE)
                 .order_by("position", "name", "id"))
    for code in TICKET_TYPE_PREFERENCE:
        for ticket_type in types:
            if ticket_type.code == code:
                return ticket_type
    return types[0] if types else None


def request_hash(items) -> str:
    return hashlib.sha256(json.dumps(sorted(items), ensure_ascii=False).encode()).hexdigest()


def _detail(req: Open311Request) -> str:
    lines = [req.description.strip()]
    if req.address_string:
        lines.append(_("Dirección: %(address)s") % {"address": req.address_string})
    if req.address_id:
        lines.append(_("Identificador de dirección: %(id)s") % {"id": req.address_id})
    if req.lat is not None and req.long is not None:
        lines.append(_("Coordenadas: %(lat)s, %(long)s") % {"lat": req.lat, "long": req.long})
    if req.media_url:
        lines.append(_("Imagen: %(url)s") % {"url": req.media_url})
    for code, value in req.attributes.items():
        lines.append(f"{code}: {value}")
    return "\n".join(lines)


def open311_request_create(*, api_key: ApiKey, req: Open311Request, channel: Channel,
                           ticket_type: TicketType, idempotency_key: str = "",
                           body_hash: str = "") -> tuple[Ticket, str]:
    """Open the ticket and keep the Open311 data on its creation event (location, media,
    device, account); returns the ticket and its token. A repeated ``idempotency_key`` with
    the same body returns the first ticket; with another body raises ``Open311Conflict``."""
    scope = f"open311:key:{api_key.pk}"
    # Without the client's key a fresh token is still recorded: it is what tokens/{token}
    # resolves to the folio.
    token = idempotency_key or uuid.uuid4().hex
    first_line = req.description.strip().splitlines()[0] if req.description.strip() else ""
    subject = first_line[:SUBJECT_MAX] or req.topic.name[:SUBJECT_MAX]
    full_name = f"{req.first_name} {req.last_name}".strip() or _("Persona sin nombre (Open311)")
    draft = TicketDraft(
        institution=api_key.institution, channel=channel, ticket_type=ticket_type,
        topic=req.topic, subject=subject, detail=_detail(req),
        contact=ContactData(full_name=full_name[:200], email=req.email, phone=req.phone),
    )
    data = {key: value for key, value in {
        "lat": req.lat, "long": req.long, "address_string": req.address_string,
        "address_id": req.address_id, "device_id": req.device_id,
        "account_id": req.account_id, "media_url": req.media_url,
        "attributes": req.attributes, "api_key": api_key.pk,
    }.items() if value not in (None, "", {})}

    def keep_open311_data(ticket: Ticket) -> None:
        event = TicketEvent.objects.select_for_update().filter(
            ticket=ticket, kind=EventKind.CREATED).first()
        if event is not None and "open311" not in event.data:
            event.data = {**event.data, "open311": data}
            event.save(update_fields=["data"])

    try:
        ticket, _created = api_ticket_open(draft=draft, scope=scope, key=token,
                                           request_hash=body_hash, after_open=keep_open311_data)
    except IdempotencyConflict:
        raise Open311Conflict from None
    return ticket, token
