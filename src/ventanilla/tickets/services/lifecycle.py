"""What happens to a ticket after entry: status, notes, replies, messages, derivation.

Every function is one use case: one transaction, the timeline event (and audit row) written
with the change, side effects handed to the outbox.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog.models import (
    Area,
    Channel,
)
from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_for_ticket
from ventanilla.routing.services import assignment_auto
from ventanilla.sla.services import sla_pause, sla_resume, sla_stage_reached
from ventanilla.surveys.services import survey_invite_on_close
from ventanilla.tickets import permissions
from ventanilla.tickets.models import (
    EventKind,
    Interaction,
    InteractionKind,
    ResponseStage,
    Status,
    Ticket,
    TicketEvent,
    TriageStatus,
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
    writes the timeline event and the audit row in the same transaction.

    Closing a ticket whose type requires a root cause needs it (and the corrective action)
    on the ticket first; closing tells the citizen (``ticket_closed``). Reopening (reason
    required) puts the ticket back at the final-answer stage and tells the citizen."""
    if to_status not in Status.values:
        raise ValidationError({"status": _("Estado desconocido.")})
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        permissions.require(actor, "change_status", ticket)
        apply_status_change(ticket=ticket, actor=actor, to_status=to_status, reason=reason)
    return ticket


def apply_status_change(*, ticket: Ticket, actor, to_status: str, reason: str = "",
                        notify: bool = True, now=None) -> Ticket:
    """The body of ``ticket_change_status`` for services that already hold the row lock and
    checked their own permission (the final answer closes through here with
    ``notify=False``: its own e-mail is the closure message). Not a use case by itself."""
    if to_status not in Status.values:
        raise ValidationError({"status": _("Estado desconocido.")})
    from_status = ticket.status
    if to_status == from_status:
        return ticket
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise ValidationError({"status": _("No se puede pasar de «%(from)s» a «%(to)s».") % {
            "from": Status(from_status).label, "to": Status(to_status).label}})
    if from_status == Status.CLOSED and not reason.strip():
        raise ValidationError({"reason": _("Indique por qué se reabre el requerimiento.")})
    if to_status == Status.CLOSED:
        require_root_cause_for_closing(ticket)
    now = now or timezone.now()
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
    if to_status == Status.CLOSED and ticket.stage != ResponseStage.DONE:
        # Closing without the final answer (e.g. a reply "and close") ends the answer stages.
        ticket.stage = ResponseStage.DONE
        ticket.save(update_fields=["stage", "updated_at"])
        sla_stage_reached(ticket=ticket, stage=ResponseStage.FINAL, at=now)
    if from_status == Status.CLOSED:
        reopen_final_stage(ticket, now=now)
    event = TicketEvent.objects.create(
        ticket=ticket, kind=EventKind.STATUS_CHANGED, actor=actor, is_public=True,
        from_status=from_status, to_status=to_status, body=reason.strip(), created_at=now,
    )
    audit_record(actor=actor, action="ticket.status_changed", obj=ticket,
                 institution=ticket.institution, data={"from": from_status, "to": to_status})
    if notify and to_status == Status.CLOSED:
        outbox_enqueue_for_ticket(
            dedupe_key=f"ticket-{ticket.pk}-closed-{event.pk}",
            template="ticket_closed",
            context={"ticket": ticket, "reason": event.body,
                     "survey_url": survey_invite_on_close(ticket=ticket)},
            ticket=ticket,
        )
    elif notify and from_status == Status.CLOSED:
        outbox_enqueue_for_ticket(
            dedupe_key=f"ticket-{ticket.pk}-reopened-{event.pk}",
            template="ticket_reopened",
            context={"ticket": ticket, "by_citizen": actor is None},
            ticket=ticket,
        )
    return ticket


def require_root_cause_for_closing(ticket: Ticket) -> None:
    """A complaint (a type that requires it) is not closed without its root cause and the
    corrective action taken."""
    if ticket.ticket_type.requires_root_cause and not (
        ticket.root_cause.strip() and ticket.corrective_action.strip()
    ):
        raise ValidationError({"status": _(
            "Este requerimiento no se puede cerrar sin su causa raíz y la acción correctiva: "
            "envíe la respuesta final con ambas o regístrelas antes de cerrar.")})


def reopen_final_stage(ticket: Ticket, *, now) -> None:
    """A reopened ticket is back at the final answer. Its final deadline stays as it was if
    it is still ahead; if it has passed, the current-stage deadline (``next_due_at``) gets
    a fresh span as long as the original one (received → final deadline, in calendar time)
    counted from the reopening. ``due_at`` and the answer times are kept as they were, so
    compliance keeps measuring the first final answer against the original deadline."""
    ticket.stage = ResponseStage.FINAL
    ticket.paused_at = None
    ticket.next_due_at = ticket.at_risk_at = None
    if ticket.due_at:
        span = max(ticket.due_at - ticket.received_at, timedelta(0))
        due = ticket.due_at if ticket.due_at > now else now + span
        ratio = float(ticket.sla_policy.at_risk_ratio) if ticket.sla_policy_id else 0.75
        ticket.next_due_at = due
        ticket.at_risk_at = due - span * (1 - ratio)
    ticket.save(update_fields=["stage", "paused_at", "next_due_at", "at_risk_at", "updated_at"])


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
        closing = then_status == Status.CLOSED and ticket.status != Status.CLOSED
        if then_status and then_status != ticket.status:
            # Before the e-mail, so that it shows the new status. A reply "and close" is one
            # message (the closure template with the reply), not a reply plus a closure.
            permissions.require(actor, "change_status", ticket)
            apply_status_change(ticket=ticket, actor=actor, to_status=then_status,
                                notify=not closing, now=now)
        outbox_enqueue_for_ticket(
            dedupe_key=f"ticket-{ticket.pk}-reply-{event.pk}",
            template="ticket_closed" if closing else "ticket_reply",
            context={"ticket": ticket, "body": event.body,
                     "survey_url": survey_invite_on_close(ticket=ticket) if closing else ""},
            ticket=ticket,
        )
        audit_record(actor=actor, action="ticket.replied", obj=ticket,
                     institution=ticket.institution,
                     data={"event_id": event.pk})
    return event


def ticket_add_citizen_message(*, ticket: Ticket, body: str, channel: Channel,
                               attachments: list[CheckedUpload] | None = None,
                               at=None, data: dict | None = None) -> TicketEvent:
    """A message from the person (tracking page today; e-mail and chat adapters later).
    A ticket waiting on the citizen goes back to work. A closed one is reopened (back at
    the final answer) if it was closed less than ``TICKET_REOPEN_WINDOW_DAYS`` ago and not
    merged into another; after that the message is recorded and the ticket stays closed."""
    if not body.strip():
        raise ValidationError({"body": _("Escriba su mensaje.")})
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        at = at or timezone.now()
        event = TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.CITIZEN_MESSAGE, is_public=True, body=body.strip(),
            data={"channel": channel.code, **(data or {})}, created_at=at,
        )
        store_attachments(ticket, event, attachments or [])
        Interaction.objects.create(
            institution=ticket.institution, channel=channel, kind=InteractionKind.MESSAGE,
            is_self_service=not channel.is_assisted, citizen=ticket.citizen, ticket=ticket,
            occurred_at=at,
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
        elif ticket.status == Status.CLOSED and reopens_on_citizen_message(ticket):
            apply_status_change(ticket=ticket, actor=None, to_status=Status.IN_PROGRESS,
                                reason=_("La persona respondió después del cierre"))
        else:
            ticket.save(update_fields=["updated_at"])
    return event


def reopens_on_citizen_message(ticket: Ticket) -> bool:
    if ticket.merged_into_id or ticket.closed_at is None:
        return False
    window = timedelta(days=settings.TICKET_REOPEN_WINDOW_DAYS)
    return ticket.closed_at > timezone.now() - window


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
        # The assignee belonged to the previous area; the new area assigns anew.
        ticket.assignee = None
        ticket.save(update_fields=["area", "assignee", "updated_at"])
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
        if ticket.triage_status != TriageStatus.PENDING and ticket.is_open:
            assignment_auto(ticket=ticket)
    return ticket


def interaction_record_tracking(*, ticket: Ticket, channel: Channel) -> Interaction:
    """A person looked up their request: a self-service contact that opens no ticket."""
    return Interaction.objects.create(
        institution_id=ticket.institution_id, channel=channel, kind=InteractionKind.TRACKING,
        is_self_service=not channel.is_assisted, citizen_id=ticket.citizen_id, ticket=ticket,
    )
