"""The intake service: the only way a ticket comes into existence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog.models import (
    Channel,
    Institution,
    Organization,
    RequesterType,
    TicketType,
    Topic,
    Workflow,
)
from ventanilla.citizens.services import ContactData, citizen_resolve, normalize_phone
from ventanilla.core.models import Comuna, Region
from ventanilla.routing.services import assignment_auto, routing_decide
from ventanilla.sla.services import sla_apply_on_open, sla_calendar_memo
from ventanilla.tickets.models import (
    EventKind,
    FolioCounter,
    Interaction,
    InteractionKind,
    Status,
    Ticket,
    TicketEvent,
    TriageStatus,
    Urgency,
)
from ventanilla.tickets.services.common import store_attachments
from ventanilla.tickets.services.workflow import workflow_on_open, workflow_prepare_open
from ventanilla.tickets.uploads import CheckedUpload


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
    # The person already identified by the adapter (operator lookup, a channel identity);
    # when None the intake finds or creates them from ``contact``.
    citizen: object | None = None
    # Where answers go when not by e-mail (see ``Ticket.reply_channel``).
    reply_channel: str = ""
    reply_address: str = ""
    # A folio already taken for this draft (``folio_reserve``); None: ``ticket_open`` takes it.
    folio: str | None = None


def folio_allocate(*, institution: Institution, year: int) -> str:
    """Next folio of the institution for the year, e.g. ``JUN-2026-000123``.

    The counter row is incremented with one ``UPDATE … RETURNING`` (a row lock until the
    transaction ends), so two concurrent intakes can never read the same value. A number
    whose ticket is rolled back is skipped, not reused: folios may have gaps, never
    duplicates. Called outside any transaction (see ``folio_reserve``) the lock lasts one
    statement; inside one, until it commits, so callers take it as late as they can.
    """
    table = connection.ops.quote_name(FolioCounter._meta.db_table)
    increment = (f"UPDATE {table} SET last_value = last_value + 1 "  # noqa: S608 (names)
                 f"WHERE institution_id = %s AND year = %s RETURNING last_value")
    with connection.cursor() as cursor:
        cursor.execute(increment, [institution.pk, year])
        row = cursor.fetchone()
        if row is None:
            try:
                with transaction.atomic():
                    FolioCounter.objects.create(institution=institution, year=year,
                                                last_value=1)
                value = 1
            except IntegrityError:  # another intake created this year's counter first
                cursor.execute(increment, [institution.pk, year])
                value = cursor.fetchone()[0]
        else:
            value = row[0]
    return f"{institution.folio_prefix}-{year}-{value:06d}"


def folio_reserve(draft: TicketDraft) -> TicketDraft:
    """The draft with its reception time fixed and, when no transaction is open, its folio
    taken now, in a statement of its own.

    Every intake of an institution increments the same counter row; taken inside the intake
    transaction, its lock would be held through the citizen lookup, routing, deadlines, the
    outbox and the commit, serialising every intake of the institution. Taken before, it
    is held for one statement. Folios still come in reception order, unique; a ticket that
    fails after this point leaves a gap, as a rollback always did. Inside a caller's
    transaction nothing is taken here: ``ticket_open`` takes it as late as it can.
    """
    received_at = draft.received_at or timezone.now()
    if draft.folio or connection.in_atomic_block:
        return replace(draft, received_at=received_at)
    year = received_at.astimezone(ZoneInfo(settings.TIME_ZONE)).year
    return replace(draft, received_at=received_at,
                   folio=folio_allocate(institution=draft.institution, year=year))


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


def _reply_route(draft: TicketDraft) -> tuple[str, str]:
    """Where answers go: what the adapter said; else e-mail (blank); and a person who gave
    only a phone number (a caller, a paper form) is answered by SMS when the institution
    has an SMS number — otherwise they would never hear of their folio."""
    if draft.reply_channel:
        return draft.reply_channel, draft.reply_address.strip()
    phone = normalize_phone(draft.contact.phone)
    if draft.contact.email.strip() or len(phone) < 11:
        return "", ""
    from ventanilla.channels.models import ChannelEndpoint, Provider

    has_sms = ChannelEndpoint.objects.filter(institution=draft.institution,
                                             provider=Provider.TWILIO, is_active=True).exists()
    return ("sms", "+" + phone) if has_sms else ("", "")


def ticket_open(*, draft: TicketDraft, caller_resolves_conflicts: bool = False) -> Ticket:
    """The intake service: the only way a ticket comes into existence.

    Idempotent on ``idempotency_key``: a retried submission returns the first ticket.
    ``caller_resolves_conflicts``: the caller runs this inside its own transaction, has
    already looked the idempotency key up and resolves a unique conflict itself after its
    transaction rolls back (``api_ticket_open``): then the key is not read again and no
    savepoint is taken (two statements fewer per intake).
    """
    _check_draft(draft)
    if draft.idempotency_key and not caller_resolves_conflicts:
        existing = Ticket.objects.filter(
            institution=draft.institution, idempotency_key=draft.idempotency_key
        ).first()
        if existing:
            return existing

    draft = folio_reserve(draft)
    received_at = draft.received_at
    reply_channel, reply_address = _reply_route(draft)
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
        with transaction.atomic(savepoint=not caller_resolves_conflicts), sla_calendar_memo():
            citizen = draft.citizen or citizen_resolve(contact=draft.contact,
                                                       user=draft.citizen_user)
            decision = routing_decide(draft=draft)
            is_three_stage = draft.ticket_type.workflow == Workflow.THREE_STAGE
            ticket = Ticket(
                institution=draft.institution, channel=draft.channel,
                ticket_type=draft.ticket_type, topic=draft.topic,
                requester_type=draft.requester_type, organization=draft.organization,
                region=region, comuna=comuna, urgency=draft.urgency,
                subject=draft.subject.strip(), detail=draft.detail.strip(), citizen=citizen,
                contact_name=draft.contact.full_name.strip(),
                contact_email=draft.contact.email.strip().lower(),
                contact_phone=draft.contact.phone.strip(), contact_rut=draft.contact.rut,
                reply_channel=reply_channel, reply_address=reply_address,
                area=decision.area if decision and decision.area else draft.topic.default_area,
                priority=(decision.priority if decision and decision.priority
                          else draft.urgency),
                # Type 2 waits in the triage queue until the channel administrator
                # confirms the area; Type 1 is answered and closed by the platform.
                triage_status=TriageStatus.PENDING if is_three_stage
                else TriageStatus.NOT_REQUIRED,
                received_at=received_at,
                created_by=draft.created_by, idempotency_key=draft.idempotency_key or None,
                filed_by=draft.citizen_user if _is_logged_in(draft.citizen_user) else None,
            )
            # Deadlines and the workflow's entry state are set before the row exists, so it
            # is inserted once with them.
            sla_apply_on_open(ticket=ticket, save=False)
            workflow_prepare_open(ticket=ticket)
            # Inside a caller's transaction the folio counter is locked from here to the
            # commit: as late as possible.
            ticket.folio = draft.folio or folio_allocate(institution=draft.institution,
                                                         year=folio_year)
            ticket.save(force_insert=True)
            event = TicketEvent.objects.create(
                ticket=ticket, kind=EventKind.CREATED, created_at=received_at,
                actor=draft.created_by if draft.created_by else None, is_public=True,
                to_status=Status.NEW,
                body=_("Requerimiento recibido por el canal %(channel)s.")
                % {"channel": draft.channel.name},
                data={
                    "channel": draft.channel.code, "area_id": ticket.area_id,
                    "routing_rule": decision.rule.name if decision and decision.rule else None,
                },
            )
            store_attachments(ticket, event, draft.attachments)
            Interaction.objects.create(
                institution=draft.institution, channel=draft.channel,
                kind=InteractionKind.TICKET_OPENED, occurred_at=received_at,
                is_self_service=not draft.channel.is_assisted, citizen=citizen, ticket=ticket,
            )
            workflow_on_open(ticket=ticket)
            if ticket.triage_status == TriageStatus.NOT_REQUIRED and ticket.is_open:
                assignment_auto(ticket=ticket)
    except IntegrityError:
        # Two submissions with the same idempotency key raced: the other one won.
        if draft.idempotency_key and not caller_resolves_conflicts:
            existing = Ticket.objects.filter(
                institution=draft.institution, idempotency_key=draft.idempotency_key
            ).first()
            if existing:
                return existing
        raise
    return ticket
