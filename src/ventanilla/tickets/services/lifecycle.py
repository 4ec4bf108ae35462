"""What happens to a ticket after entry: status, notes, replies, messages, derivation.

Every function is one use case: one transaction, the timeline event (and audit row) written
with the change, side effects handed to the outbox.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog.models import (
    Area,
    Channel,
)
from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_email
from ventanilla.sla.services import sla_pause, sla_resume
from ventanilla.tickets import permissions
from ventanilla.tickets.models import (
    EventKind,
    Interaction,
    InteractionKind,
    Status,
    Ticket,
    TicketEvent,
)
from ventanilla.tickets.services.common import locked_ticket, store_attachments
from ventanilla.tickets.uploads import CheckedUpload

# Which status may follow which. Closing is allowed from any open status; a closed
# ticket only comes back through an explicit reopening (with a reason).
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.IN_PROGRESS, Status.WAITING_CITIZEN, Status.CLOSED},
    Status.IN_PROGRESS: {Status.WAITING_CITIZEN, Status.CLOSED},
    Status.WAITING_CITIZEN: {Status.IN_PROGRESS, Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
}


def ticket_change_status(*, ticket: Ticket, actor, to_status: str, reason: str = "") -> Ticket:
    """The one place a ticket changes status: checks the transition, locks the row,
    writes the timeline event and the audit row in the same transaction."""
    if to_status not in Status.values:
        raise ValidationError({"status": _("Estado desconocido.")})
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        permissions.require(actor, "change_status", ticket)
        from_status = ticket.status
        if to_status == from_status:
            return ticket
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise ValidationError({"status": _("No se puede pasar de «%(from)s» a «%(to)s».") % {
                "from": Status(from_status).label, "to": Status(to_status).label}})
        if from_status == Status.CLOSED and not reason.strip():
            raise ValidationError({"reason": _("Indique por qué se reabre el requerimiento.")})
        now = timezone.now()
        ticket.status = to_status
        update_fields = ["status", "updated_at"]
        if to_status == Status.CLOSED:
            ticket.closed_at = now
            update_fields.append("closed_at")
        elif from_status == Status.CLOSED:
            ticket.closed_at = None
            update_fields.append("closed_at")
        ticket.save(update_fields=update_fields)
        # Waiting on the citizen stops the deadline clock; leaving that status restarts it.
        if to_status == Status.WAITING_CITIZEN:
            sla_pause(ticket=ticket, at=now)
        elif from_status == Status.WAITING_CITIZEN:
            sla_resume(ticket=ticket, at=now)
        TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.STATUS_CHANGED, actor=actor, is_public=True,
            from_status=from_status, to_status=to_status, body=reason.strip(), created_at=now,
        )
        audit_record(actor=actor, action="ticket.status_changed", obj=ticket,
                     institution=ticket.institution, data={"from": from_status, "to": to_status})
    return ticket


def ticket_add_note(*, ticket: Ticket, actor, body: str) -> TicketEvent:
    """An internal note: staff only, never shown to the citizen."""
    if not body.strip():
        raise ValidationError({"body": _("Escriba la nota.")})
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        permissions.require(actor, "add_note", ticket)
        event = TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.NOTE, actor=actor, is_public=False, body=body.strip()
        )
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    return event


def ticket_reply(*, ticket: Ticket, actor, body: str, then_status: str | None = None,
                 attachments: list[CheckedUpload] | None = None) -> TicketEvent:
    """A public answer: on the timeline for the citizen and sent by e-mail through the outbox."""
    if not body.strip():
        raise ValidationError({"body": _("Escriba la respuesta.")})
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        permissions.require(actor, "reply", ticket)
        if ticket.status == Status.CLOSED:
            raise ValidationError(
                {"body": _("El requerimiento está cerrado; reábralo para responder.")}
            )
        now = timezone.now()
        event = TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.REPLY, actor=actor, is_public=True, body=body.strip(),
            created_at=now,
        )
        store_attachments(ticket, event, attachments or [])
        fields = ["updated_at"]
        if ticket.first_answered_at is None:
            ticket.first_answered_at = now
            fields.append("first_answered_at")
        if ticket.status == Status.NEW and then_status in (None, "", Status.NEW):
            then_status = Status.IN_PROGRESS
        ticket.save(update_fields=fields)
        outbox_enqueue_email(
            dedupe_key=f"ticket-{ticket.pk}-reply-{event.pk}", recipient=ticket.contact_email,
            template="ticket_reply", context={"ticket": ticket, "body": event.body},
            institution=ticket.institution, ticket=ticket,
        )
        audit_record(actor=actor, action="ticket.replied", obj=ticket,
                     institution=ticket.institution,
                     data={"event_id": event.pk})
        if then_status and then_status != ticket.status:
            ticket_change_status(ticket=ticket, actor=actor, to_status=then_status)
    return event


def ticket_add_citizen_message(*, ticket: Ticket, body: str, channel: Channel,
                               attachments: list[CheckedUpload] | None = None) -> TicketEvent:
    """A message from the person (tracking page today; e-mail and chat adapters later).
    A ticket waiting on the citizen goes back to work; a closed one stays closed and
    staff decide whether to reopen it."""
    if not body.strip():
        raise ValidationError({"body": _("Escriba su mensaje.")})
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        event = TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.CITIZEN_MESSAGE, is_public=True, body=body.strip(),
            data={"channel": channel.code},
        )
        store_attachments(ticket, event, attachments or [])
        Interaction.objects.create(
            institution=ticket.institution, channel=channel, kind=InteractionKind.MESSAGE,
            is_self_service=not channel.is_assisted, citizen=ticket.citizen, ticket=ticket,
        )
        if ticket.status == Status.WAITING_CITIZEN:
            ticket.status = Status.IN_PROGRESS
            ticket.save(update_fields=["status", "updated_at"])
            sla_resume(ticket=ticket, at=timezone.now())
            TicketEvent.objects.create(
                ticket=ticket, kind=EventKind.STATUS_CHANGED, is_public=True,
                from_status=Status.WAITING_CITIZEN, to_status=Status.IN_PROGRESS,
                body=_("La persona respondió."),
            )
        else:
            ticket.save(update_fields=["updated_at"])
    return event


def ticket_change_area(*, ticket: Ticket, actor, area: Area | None, reason: str = "") -> Ticket:
    """Derive the ticket to another area of the same institution."""
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        permissions.require(actor, "change_area", ticket)
        if area is not None and area.institution_id != ticket.institution_id:
            raise ValidationError({"area": _("El área no pertenece a esta institución.")})
        if area is not None and not area.is_active:
            raise ValidationError({"area": _("El área no está activa.")})
        if ticket.area_id == (area.pk if area else None):
            return ticket
        previous = ticket.area
        ticket.area = area
        ticket.save(update_fields=["area", "updated_at"])
        TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.AREA_CHANGED, actor=actor, is_public=False,
            body=reason.strip(),
            data={"from_area": previous.name if previous else None,
                  "to_area": area.name if area else None},
        )
        audit_record(actor=actor, action="ticket.area_changed", obj=ticket,
                     institution=ticket.institution,
                     data={"from": previous.pk if previous else None,
                           "to": area.pk if area else None})
    return ticket


def interaction_record_tracking(*, ticket: Ticket, channel: Channel) -> Interaction:
    """A person looked up their request: a self-service contact that opens no ticket."""
    return Interaction.objects.create(
        institution_id=ticket.institution_id, channel=channel, kind=InteractionKind.TRACKING,
        is_self_service=not channel.is_assisted, citizen_id=ticket.citizen_id, ticket=ticket,
    )
