"""The only writers of tickets, their timeline and attachments.

Every function here is one use case: it runs in one transaction, writes the timeline
event (and audit row) together with the change, and hands side effects to the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog.models import (
    Area,
    Channel,
    Institution,
    Organization,
    RequesterType,
    TicketType,
    Topic,
)
from ventanilla.citizens.services import ContactData, citizen_resolve
from ventanilla.core.models import Comuna, Region
from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_email
from ventanilla.tickets import permissions
from ventanilla.tickets.models import (
    OPEN_STATUSES,
    Attachment,
    EventKind,
    FolioCounter,
    Interaction,
    InteractionKind,
    Status,
    Ticket,
    TicketEvent,
    Urgency,
)
from ventanilla.tickets.uploads import CheckedUpload

# Which status may follow which. Closing is allowed from any open status; a closed
# ticket only comes back through an explicit reopening (with a reason).
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    Status.NEW: {Status.IN_PROGRESS, Status.WAITING_CITIZEN, Status.CLOSED},
    Status.IN_PROGRESS: {Status.WAITING_CITIZEN, Status.CLOSED},
    Status.WAITING_CITIZEN: {Status.IN_PROGRESS, Status.CLOSED},
    Status.CLOSED: {Status.IN_PROGRESS},
}


@dataclass(frozen=True)
class TicketDraft:
    """Everything an adapter (web form, operator, API…) hands the intake service.

    The adapter has validated the shape of each field; ``ticket_open`` checks that the
    catalog entries belong to the institution and agree with each other.
    """

    institution: Institution
    channel: Channel
    ticket_type: TicketType
    topic: Topic
    subject: str
    detail: str
    contact: ContactData
    urgency: str = Urgency.MEDIUM
    requester_type: RequesterType | None = None
    organization: Organization | None = None
    region: Region | None = None
    comuna: Comuna | None = None
    attachments: list[CheckedUpload] = field(default_factory=list)
    citizen_user: object | None = None  # the logged-in citizen, if any
    created_by: object | None = None  # the staff member entering it on someone's behalf
    idempotency_key: str | None = None
    received_at: datetime | None = None


def folio_allocate(*, institution: Institution, year: int) -> str:
    """Next folio of the institution for the year, e.g. ``JUN-2026-000123``.

    The counter row is incremented with an UPDATE (a row lock until commit), so two
    concurrent intakes can never read the same value. A number whose ticket is rolled
    back is skipped, not reused: folios may have gaps, never duplicates.
    """
    with transaction.atomic():
        updated = FolioCounter.objects.filter(institution=institution, year=year).update(
            last_value=F("last_value") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    FolioCounter.objects.create(institution=institution, year=year, last_value=1)
            except IntegrityError:  # another intake created this year's counter first
                FolioCounter.objects.filter(institution=institution, year=year).update(
                    last_value=F("last_value") + 1
                )
        value = FolioCounter.objects.get(institution=institution, year=year).last_value
    return f"{institution.folio_prefix}-{year}-{value:06d}"


def _is_logged_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _check_draft(draft: TicketDraft) -> None:
    """Cross-field invariants that no single form field can check."""
    errors: dict[str, str] = {}
    institution_id = draft.institution.pk
    for name in ("ticket_type", "topic", "requester_type", "organization"):
        entry = getattr(draft, name)
        if entry is not None and (entry.institution_id != institution_id or not entry.is_active):
            errors[name] = _("La opción elegida no está disponible para esta institución.")
    if (draft.comuna is not None and draft.region is not None
            and draft.comuna.region_id != draft.region.pk):
        errors["comuna"] = _("La comuna elegida no pertenece a la región seleccionada.")
    if draft.urgency not in Urgency.values:
        errors["urgency"] = _("Elija una urgencia válida.")
    if not draft.subject.strip():
        errors["subject"] = _("Escriba un asunto.")
    if not draft.detail.strip():
        errors["detail"] = _("Describa su requerimiento.")
    if not draft.contact.full_name.strip():
        errors["full_name"] = _("Escriba su nombre.")
    if errors:
        raise ValidationError(errors)


def ticket_open(*, draft: TicketDraft) -> Ticket:
    """The intake service: the only way a ticket comes into existence.

    Idempotent on ``idempotency_key``: a retried submission returns the first ticket.
    """
    _check_draft(draft)
    if draft.idempotency_key:
        existing = Ticket.objects.filter(
            institution=draft.institution, idempotency_key=draft.idempotency_key
        ).first()
        if existing:
            return existing

    received_at = draft.received_at or timezone.now()
    region = draft.region or (draft.comuna.region if draft.comuna else None)
    if region is None and draft.organization is not None:
        region = draft.organization.region
    comuna = draft.comuna
    # Only the organization's comuna if it lies in the region the person chose.
    if (comuna is None and draft.organization is not None
            and draft.organization.comuna.region_id == region.pk):
        comuna = draft.organization.comuna
    # The folio year is the year of reception in Chile, whatever timezone is active.
    folio_year = received_at.astimezone(ZoneInfo(settings.TIME_ZONE)).year

    try:
        with transaction.atomic():
            citizen = citizen_resolve(contact=draft.contact, user=draft.citizen_user)
            folio = folio_allocate(institution=draft.institution, year=folio_year)
            ticket = Ticket.objects.create(
                institution=draft.institution, folio=folio, channel=draft.channel,
                ticket_type=draft.ticket_type, topic=draft.topic,
                requester_type=draft.requester_type, organization=draft.organization,
                region=region, comuna=comuna, urgency=draft.urgency,
                subject=draft.subject.strip(), detail=draft.detail.strip(), citizen=citizen,
                contact_name=draft.contact.full_name.strip(),
                contact_email=draft.contact.email.strip().lower(),
                contact_phone=draft.contact.phone.strip(), contact_rut=draft.contact.rut,
                area=draft.topic.default_area, received_at=received_at,
                due_at=received_at + timedelta(hours=draft.ticket_type.target_hours),
                created_by=draft.created_by, idempotency_key=draft.idempotency_key or None,
                filed_by=draft.citizen_user if _is_logged_in(draft.citizen_user) else None,
            )
            event = TicketEvent.objects.create(
                ticket=ticket, kind=EventKind.CREATED, created_at=received_at,
                actor=draft.created_by if draft.created_by else None, is_public=True,
                to_status=Status.NEW,
                body=_("Requerimiento recibido por el canal %(channel)s.")
                % {"channel": draft.channel.name},
                data={"channel": draft.channel.code, "area_id": ticket.area_id},
            )
            _store_attachments(ticket, event, draft.attachments)
            Interaction.objects.create(
                institution=draft.institution, channel=draft.channel,
                kind=InteractionKind.TICKET_OPENED, occurred_at=received_at,
                is_self_service=not draft.channel.is_assisted, citizen=citizen, ticket=ticket,
            )
            outbox_enqueue_email(
                dedupe_key=f"ticket-{ticket.pk}-received", recipient=ticket.contact_email,
                template="ticket_received", context={"ticket": ticket},
                institution=draft.institution, ticket=ticket,
            )
    except IntegrityError:
        # Two submissions with the same idempotency key raced: the other one won.
        if draft.idempotency_key:
            existing = Ticket.objects.filter(
                institution=draft.institution, idempotency_key=draft.idempotency_key
            ).first()
            if existing:
                return existing
        raise
    return ticket


def _store_attachments(
    ticket: Ticket, event: TicketEvent | None, uploads: list[CheckedUpload]
) -> None:
    for upload in uploads:
        attachment = Attachment(
            ticket=ticket, event=event, original_name=upload.original_name,
            extension=upload.extension, content_type=upload.content_type, size=upload.size,
            sha256=upload.sha256,
        )
        # The storage writes the file before the row is inserted; if the transaction then
        # rolls back, an orphan file may remain, never a row without its file.
        attachment.file.save(f"upload.{upload.extension}", ContentFile(upload.content), save=False)
        attachment.save()


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def ticket_change_status(*, ticket: Ticket, actor, to_status: str, reason: str = "") -> Ticket:
    """The one place a ticket changes status: checks the transition, locks the row,
    writes the timeline event and the audit row in the same transaction."""
    if to_status not in Status.values:
        raise ValidationError({"status": _("Estado desconocido.")})
    with transaction.atomic():
        ticket = _locked(ticket)
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
        ticket = _locked(ticket)
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
        ticket = _locked(ticket)
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
        _store_attachments(ticket, event, attachments or [])
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
        ticket = _locked(ticket)
        event = TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.CITIZEN_MESSAGE, is_public=True, body=body.strip(),
            data={"channel": channel.code},
        )
        _store_attachments(ticket, event, attachments or [])
        Interaction.objects.create(
            institution=ticket.institution, channel=channel, kind=InteractionKind.MESSAGE,
            is_self_service=not channel.is_assisted, citizen=ticket.citizen, ticket=ticket,
        )
        if ticket.status == Status.WAITING_CITIZEN:
            ticket.status = Status.IN_PROGRESS
            ticket.save(update_fields=["status", "updated_at"])
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
        ticket = _locked(ticket)
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


__all__ = [
    "OPEN_STATUSES",
    "PermissionDenied",
    "TicketDraft",
    "folio_allocate",
    "interaction_record_tracking",
    "ticket_add_citizen_message",
    "ticket_add_note",
    "ticket_change_area",
    "ticket_change_status",
    "ticket_open",
    "ticket_reply",
]
