"""Assisted contacts entered by staff on a person's behalf: the phone line and the office
counter (the operator console). Each function checks the staff member's role itself, so no
view can forget it, and records the channel and that the contact was assisted."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.accounts.models import Role
from ventanilla.catalog.models import Channel, Institution
from ventanilla.core.services import audit_record
from ventanilla.tickets import permissions
from ventanilla.tickets.models import Interaction, InteractionKind, Ticket, TicketEvent
from ventanilla.tickets.services.intake import TicketDraft, ticket_open
from ventanilla.tickets.services.lifecycle import ticket_add_citizen_message, ticket_add_note

# Who takes calls and serves the counter (responders work their areas' cases, auditors see
# aggregates only).
ASSISTED_ROLES = {Role.OPERATOR, Role.TRIAGE, Role.SUPERVISOR, Role.SYSADMIN}
ASSISTED_CHANNELS = ("phone", "in_person")
SUMMARY_MAX_LENGTH = 2000


def assisted_allowed(user, institution_id: int) -> bool:
    membership = permissions.membership_for(user, institution_id)
    return membership is not None and membership.role in ASSISTED_ROLES


def _require_assisted(user, institution_id: int) -> None:
    if not assisted_allowed(user, institution_id):
        raise PermissionDenied("assisted contact not allowed for this role")


def _check_channel(channel: Channel) -> None:
    if channel.code not in ASSISTED_CHANNELS or not channel.is_assisted:
        raise ValidationError({"channel": _("Elija teléfono o atención presencial.")})


def ticket_open_assisted(*, draft: TicketDraft, actor) -> Ticket:
    """A ticket registered by staff for the person on the line or at the counter."""
    _require_assisted(actor, draft.institution.pk)
    _check_channel(draft.channel)
    if draft.created_by is None or draft.created_by.pk != actor.pk:
        raise ValueError("an assisted ticket is created by the staff member entering it")
    return ticket_open(draft=draft)


def ticket_add_assisted_message(*, ticket: Ticket, actor, channel: Channel,
                                body: str) -> TicketEvent:
    """What the person said on the phone or at the counter about an open request, recorded
    as their message (with who wrote it down)."""
    _require_assisted(actor, ticket.institution_id)
    permissions.require(actor, "view", ticket)
    _check_channel(channel)
    if not ticket.is_open:
        raise ValidationError({"ticket": _("El requerimiento ya está cerrado; elija uno "
                                           "abierto o registre uno nuevo.")})
    return ticket_add_citizen_message(ticket=ticket, body=body, channel=channel,
                                      data={"recorded_by": actor.pk})


def interaction_record_attended(*, institution: Institution, channel: Channel, actor,
                                summary: str, citizen=None, ticket: Ticket | None = None,
                                at=None) -> Interaction:
    """An assisted contact solved on the spot (a question answered, a paper explained),
    with or without a ticket and with or without a known person. Counted as assisted
    (``is_self_service=False``) on its channel; the summary and the operator go in
    ``data``; tied to a ticket, it also leaves an internal note on that ticket's timeline."""
    _require_assisted(actor, institution.pk)
    _check_channel(channel)
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError({"summary": _("Escriba un resumen de la atención.")})
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise ValidationError({"summary": _("El resumen puede tener hasta %(limit)d "
                                            "caracteres.") % {"limit": SUMMARY_MAX_LENGTH}})
    if ticket is not None:
        if ticket.institution_id != institution.pk or not permissions.can(actor, "view",
                                                                         ticket):
            raise ValidationError({"ticket": _("El requerimiento no pertenece a esta "
                                               "institución.")})
        if citizen is not None and ticket.citizen_id != citizen.pk:
            raise ValidationError({"ticket": _("El requerimiento es de otra persona.")})
        citizen = citizen or ticket.citizen
    with transaction.atomic():
        interaction = Interaction.objects.create(
            institution=institution, channel=channel, kind=InteractionKind.ATTENDED,
            occurred_at=at or timezone.now(), is_self_service=False, citizen=citizen,
            ticket=ticket, data={"operator_id": actor.pk, "summary": summary},
        )
        if ticket is not None:
            ticket_add_note(ticket=ticket, actor=actor, body=_(
                "Atención resuelta en el momento (%(channel)s): %(summary)s"
            ) % {"channel": channel.name, "summary": summary})
        audit_record(actor=actor, action="interaction.attended", obj=interaction,
                     institution=institution,
                     data={"channel": channel.code, "ticket_id": ticket.pk if ticket else None,
                           "citizen_id": citizen.pk if citizen else None})
    return interaction
