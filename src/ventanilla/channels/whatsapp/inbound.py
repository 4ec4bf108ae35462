"""A signed webhook body in: each unit processed on its own, what fails quarantined with a
raw copy that ``inbound_reprocess`` can replay."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.channels.services import (
    InboundResult,
    inbound_receive,
    inbound_record_unprocessed,
    inbound_requarantine,
)
from ventanilla.channels.whatsapp.content import content_for
from ventanilla.channels.whatsapp.units import (
    SOCIAL_OBJECTS,
    MalformedUnit,
    MessageUnit,
    NotARequest,
    StatusUnit,
    Unprocessable,
    units_of,
    without_nul,
)
from ventanilla.notifications.services import outbox_delivery_update

logger = logging.getLogger(__name__)


@dataclass
class WebhookReport:
    """What one webhook body turned into (for logs and tests)."""

    received: int = 0
    duplicates: int = 0
    quarantined: int = 0
    ignored: int = 0
    statuses: int = 0
    tickets: list[int] = field(default_factory=list)


def webhook_receive(*, body: bytes) -> WebhookReport:
    """Process a signed webhook body. Never raises for bad input: what cannot be processed
    is quarantined (the signature proved it comes from Meta, and Meta retries anything
    but a 200 for days)."""
    report = WebhookReport()
    try:
        payload = without_nul(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        _quarantine_body(body, provider="whatsapp",
                         reason=_("El cuerpo del webhook no es un objeto JSON."))
        report.quarantined += 1
        return report
    kind = payload.get("object")
    units = units_of(payload)
    if units is None:
        _quarantine_body(body, provider="whatsapp",
                         reason=_("Objeto de webhook desconocido: %(kind)s")
                         % {"kind": str(kind)[:60]})
        report.quarantined += 1
        return report
    try:
        for unit in units:
            _handle(unit, report)
    except Exception:  # a shape the parser did not foresee: keep the whole body
        logger.exception("Meta webhook body could not be split into messages")
        _quarantine_body(body, provider=SOCIAL_OBJECTS.get(kind, "whatsapp"),
                         reason=_("Cuerpo del webhook con una forma inesperada."))
        report.quarantined += 1
    return report


def inbound_reprocess(message: InboundMessage) -> InboundResult | InboundMessage:
    """Replay a quarantined message from its raw copy (after adding its endpoint, say).
    A message that still cannot be processed stays quarantined with the new reason and is
    returned as is."""
    try:
        with message.raw.open("rb") as raw:
            payload = without_nul(json.loads(raw.read()))
    except (OSError, ValueError, RecursionError):
        payload = None
    units = list(units_of(payload) or []) if isinstance(payload, dict) else []
    if len(units) != 1 or not isinstance(units[0], MessageUnit):
        return inbound_requarantine(message=message, reason=_(
            "El contenido original no es un mensaje único de Meta; no se puede reprocesar."))
    try:
        return inbound_receive(content=content_for(units[0]), retry_of=message)
    except Unprocessable as exc:
        reason = exc.reason
    except NotARequest as exc:
        reason = str(exc)
    except ValidationError as exc:
        reason = " ".join(exc.messages)
    return inbound_requarantine(message=message, reason=reason)


def _handle(unit, report: WebhookReport) -> None:
    if isinstance(unit, StatusUnit):
        outbox_delivery_update(channel=unit.channel, provider_message_id=unit.provider_message_id,
                               status=unit.status, at=unit.at, error=unit.error)
        report.statuses += 1
        return
    if isinstance(unit, MalformedUnit):
        _quarantine_body(json.dumps(unit.body, ensure_ascii=False).encode(),
                         provider=unit.provider, reason=unit.reason)
        report.quarantined += 1
        return
    if unit.message_id and InboundMessage.objects.filter(
            provider=unit.provider, provider_message_id=unit.message_id).exists():
        # A redelivery: answered before any media is downloaded again.
        report.duplicates += 1
        return
    endpoint = None
    try:
        content = content_for(unit)
        endpoint = content.endpoint
        result = inbound_receive(content=content)
    except NotARequest as exc:
        inbound_record_unprocessed(
            provider=unit.provider, status=InboundStatus.IGNORED, reason=str(exc),
            provider_message_id=_record_key(unit), sender=unit.sender)
        report.ignored += 1
        return
    except Unprocessable as exc:
        reason, endpoint = exc.reason, exc.endpoint
    except ValidationError as exc:  # the intake refused (an inactive default topic…)
        reason = " ".join(exc.messages)
    except Exception:  # a bug must not lose the message: keep it for an administrator
        logger.exception("%s message %s could not be processed", unit.provider, unit.message_id)
        reason = _("Error inesperado al procesar el mensaje; vea el registro del servidor.")
    else:
        if result.duplicate:
            report.duplicates += 1
        else:
            report.received += 1
            if result.ticket is not None:
                report.tickets.append(result.ticket.pk)
        return
    inbound_record_unprocessed(
        provider=unit.provider, status=InboundStatus.QUARANTINED, reason=reason, raw=unit.raw,
        raw_name=unit.raw_name, provider_message_id=_record_key(unit), endpoint=endpoint,
        sender=unit.sender)
    report.quarantined += 1


def _record_key(unit: MessageUnit) -> str:
    """The provider's message id; for a message that came without one (quarantined), a
    digest of it, so that Meta's redelivery of the body does not store it again."""
    return unit.message_id or "sha256:" + hashlib.sha256(unit.raw).hexdigest()


def _quarantine_body(body: bytes, *, provider: str, reason: str) -> None:
    # Keyed by the body's digest: Meta redelivers a body (at least once), and a body
    # without message ids must still be kept once.
    inbound_record_unprocessed(provider=provider, status=InboundStatus.QUARANTINED,
                               reason=reason, raw=body, raw_name=f"{provider}-webhook.json",
                               provider_message_id="sha256:" + hashlib.sha256(body).hexdigest())
