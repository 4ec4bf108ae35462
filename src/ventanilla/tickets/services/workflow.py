"""The two workflows of the institutions' manuals, applied on entry.

Type 1 (suggestion, compliment): the platform answers with the type's template and closes
the ticket itself. Type 2 (complaint, inquiry, information request): the acknowledgement
goes out at once; the plan and the final answer follow (``tickets.services.answers``).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from ventanilla.catalog.models import Workflow
from ventanilla.notifications.services import outbox_enqueue_for_ticket
from ventanilla.sla.services import sla_stage_reached
from ventanilla.tickets.models import EventKind, ResponseStage, Status, Ticket, TicketEvent


def workflow_prepare_open(*, ticket: Ticket) -> None:
    """Before the ticket's INSERT, after its deadlines are set: the state the workflow leaves
    a new ticket in (acknowledged at reception; Type 1 also closed with its final answer),
    so the row is inserted once instead of inserted and updated."""
    received_at = ticket.received_at
    if ticket.ticket_type.workflow == Workflow.INFORMATIVE:
        ticket.status = Status.CLOSED
        ticket.closed_at = received_at
        ticket.stage = ResponseStage.DONE
        ticket.first_answered_at = received_at
        sla_stage_reached(ticket=ticket, stage=ResponseStage.FINAL, at=received_at, save=False)
        return
    ticket.stage = ResponseStage.PLAN
    sla_stage_reached(ticket=ticket, stage=ResponseStage.ACK, at=received_at, save=False)


def workflow_on_open(*, ticket: Ticket) -> None:
    """Run inside the intake transaction, after the ticket (prepared by
    ``workflow_prepare_open``) and its creation event exist: the messages and events."""
    received_at = ticket.received_at
    if ticket.ticket_type.workflow == Workflow.INFORMATIVE:
        message = outbox_enqueue_for_ticket(
            dedupe_key=f"ticket-{ticket.pk}-type1-answer",
            template="type1_answer", context={"ticket": ticket},
            ticket=ticket, fresh_ticket=True,
        )
        TicketEvent.objects.bulk_create([
            TicketEvent(
                ticket=ticket, kind=EventKind.REPLY, created_at=received_at, is_public=True,
                body=message.body_text if message else _(
                    "Recibimos su comentario y lo hicimos llegar al área correspondiente."),
                data={"automatic": True, "stage": ResponseStage.FINAL},
            ),
            TicketEvent(
                ticket=ticket, kind=EventKind.STATUS_CHANGED, created_at=received_at,
                is_public=True, from_status=Status.NEW, to_status=Status.CLOSED,
                body=_("Cerrado automáticamente con la respuesta de la plantilla."),
            ),
        ])
        return

    outbox_enqueue_for_ticket(
        dedupe_key=f"ticket-{ticket.pk}-received",
        template="ticket_received", context={"ticket": ticket},
        ticket=ticket, fresh_ticket=True,
    )
