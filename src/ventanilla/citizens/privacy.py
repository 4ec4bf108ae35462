"""A person's rights over their data (Ley 19.628, Ley 21.719) and the data's lifecycle:
portability (a ZIP of everything), anonymisation (by retention rule or on erasure), erasure
("supresión") where the law allows it, and the erasure requests people make from the portal.

Anonymising a ticket removes what identifies or describes the person — free text, names,
contact data, attachments (deleted from storage), channel addresses, the link to the person —
and keeps what the figures are made of: institution, type, topic, area, region, comuna,
organization, channel, urgency, status, every date and deadline. So every dashboard, rollup
and report figure is the same before and after (tests/privacy checks it).

This module writes rows of several apps (tickets, notifications, channels, paper, surveys,
console): anonymisation must reach every copy of the person's words at once, in one
transaction per chunk, and no app should keep its own half of it.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from ventanilla.citizens.models import (
    AnonymisationCause,
    ChannelIdentity,
    Citizen,
    ErasureRequest,
    ErasureStatus,
    RetentionRule,
    RetentionRun,
    TicketAnonymisation,
)
from ventanilla.core.logging import redact
from ventanilla.core.services import audit_record

logger = logging.getLogger(__name__)

ANONYMISED_TEXT = "[anonimizado]"
EXPORT_FORMAT = "ventanilla-datos-personales/1"
# Keys of timeline/inbound data that hold free text or addresses: dropped on anonymisation.
FREE_TEXT_KEYS = frozenset({
    "reason", "body", "summary", "comment", "note", "message", "text", "name", "full_name",
    "email", "phone", "rut", "address", "to", "recipient", "from", "sender", "subject",
    "description", "location", "lat", "long", "address_string", "first_name", "last_name",
})


# --- helpers ------------------------------------------------------------------------------------

def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _scrub(value):
    """A JSON value with free-text keys removed and every string redacted."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in FREE_TEXT_KEYS}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return redact(value)
    return value


def _delete_files_after_commit(names: list[str]) -> None:
    """Files go only once the rows that point at them are gone for good (a rolled-back
    chunk keeps its files). A file that cannot be deleted is logged by name (generated
    names: no personal data) for the operator to remove."""
    names = [name for name in names if name]
    if not names:
        return

    def delete():
        for name in names:
            try:
                default_storage.delete(name)
            except Exception:
                logger.exception("privacy: could not delete stored file %s", name)

    transaction.on_commit(delete)


# --- anonymisation ------------------------------------------------------------------------------

def _ticket_rows(ticket_ids: list[int]):
    from ventanilla.tickets.models import Ticket

    return Ticket.objects.filter(pk__in=ticket_ids)


def placeholder_citizen() -> Citizen:
    """The one record anonymised tickets point to when their person keeps other data."""
    found = (Citizen.objects.filter(anonymised_at__isnull=False, full_name="", email="",
                                    phone="", rut__isnull=True, user__isnull=True,
                                    merged_into__isnull=True, erasure_requests__isnull=True)
             .order_by("pk").first())
    return found or Citizen.objects.create(anonymised_at=timezone.now())


def tickets_anonymise(*, ticket_ids: list[int], cause: str, run: RetentionRun | None = None,
                      erasure: ErasureRequest | None = None,
                      relink_to: Citizen | None = None) -> tuple[int, int]:
    """Anonymise these tickets (already-anonymised ones are skipped). Must run inside a
    transaction. Returns (tickets anonymised, attachments deleted)."""
    from ventanilla.channels.models import InboundMessage
    from ventanilla.console.models import OperatorDraft
    from ventanilla.notifications.models import OutboundMessage, OutboundStatus
    from ventanilla.paper.models import PaperPage
    from ventanilla.surveys.models import SurveyResponse
    from ventanilla.tickets.models import Attachment, Interaction, TicketAnswer, TicketEvent

    assert transaction.get_connection().in_atomic_block, "call inside transaction.atomic"
    rows = _ticket_rows(ticket_ids).filter(anonymisation__isnull=True)
    if connection_supports_locking():
        rows = rows.select_for_update(of=("self",))
    ids = list(rows.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return 0, 0
    now = timezone.now()
    tickets = _ticket_rows(ids)
    update = {
        "subject": ANONYMISED_TEXT, "detail": "", "contact_name": "", "contact_email": "",
        "contact_phone": "", "contact_rut": "", "reply_address": "", "idempotency_key": None,
        "filed_by": None, "updated_at": now,
    }
    if relink_to is not None:
        update["citizen"] = relink_to
    tickets.update(**update)
    tickets.exclude(root_cause="").update(root_cause=ANONYMISED_TEXT)
    tickets.exclude(corrective_action="").update(corrective_action=ANONYMISED_TEXT)

    TicketEvent.objects.filter(ticket_id__in=ids).exclude(body="").update(body="")
    for event in (TicketEvent.objects.filter(ticket_id__in=ids).exclude(data={})
                  .only("pk", "data")):
        scrubbed = _scrub(event.data)
        if scrubbed != event.data:
            TicketEvent.objects.filter(pk=event.pk).update(data=scrubbed)
    TicketAnswer.objects.filter(ticket_id__in=ids).update(
        body=ANONYMISED_TEXT, review_comment="")
    TicketAnswer.objects.filter(ticket_id__in=ids).exclude(root_cause="").update(
        root_cause=ANONYMISED_TEXT)
    TicketAnswer.objects.filter(ticket_id__in=ids).exclude(corrective_action="").update(
        corrective_action=ANONYMISED_TEXT)

    files = list(Attachment.objects.filter(ticket_id__in=ids).values_list("file", flat=True))
    Attachment.objects.filter(ticket_id__in=ids).delete()
    page_files = list(PaperPage.objects.filter(intake__ticket_id__in=ids)
                      .values_list("file", flat=True))
    PaperPage.objects.filter(intake__ticket_id__in=ids).delete()
    from ventanilla.paper.models import PaperIntake

    PaperIntake.objects.filter(ticket_id__in=ids).update(note="", discard_reason="")
    raw_files = list(InboundMessage.objects.filter(ticket_id__in=ids).exclude(raw="")
                     .values_list("raw", flat=True))
    InboundMessage.objects.filter(ticket_id__in=ids).update(sender="", subject="", data={},
                                                            raw="")
    OutboundMessage.objects.filter(
        ticket_id__in=ids, status__in=[OutboundStatus.PENDING, OutboundStatus.FAILED]
    ).update(status=OutboundStatus.CANCELLED)
    OutboundMessage.objects.filter(ticket_id__in=ids).update(
        recipient="", subject="", body_text="", last_error="")
    interactions = Interaction.objects.filter(ticket_id__in=ids)
    interactions.exclude(data={}).update(data={})
    if relink_to is not None:
        interactions.update(citizen=None)
    SurveyResponse.objects.filter(ticket_id__in=ids).exclude(comment="").update(comment="")
    OperatorDraft.objects.filter(ticket_id__in=ids).delete()
    TicketAnonymisation.objects.bulk_create([
        TicketAnonymisation(ticket_id=pk, anonymised_at=now, cause=cause, run=run,
                            erasure=erasure) for pk in ids])
    _delete_files_after_commit(files + page_files + raw_files)
    return len(ids), len(files) + len(page_files)


def connection_supports_locking() -> bool:
    return transaction.get_connection().features.has_select_for_update


def _citizen_scrub(citizen: Citizen, *, now) -> None:
    """The person's own record emptied: identities removed, interactions unlinked."""
    from ventanilla.citizens.models import CitizenMerge
    from ventanilla.console.models import OperatorDraft
    from ventanilla.tickets.models import Interaction

    ChannelIdentity.objects.filter(citizen=citizen).delete()
    OperatorDraft.objects.filter(citizen=citizen).delete()
    # The values a merge copied (names, e-mails): an erased person's merge is not undone.
    CitizenMerge.objects.filter(Q(keep=citizen) | Q(other=citizen)).update(filled_fields={})
    Interaction.objects.filter(citizen=citizen, ticket__isnull=True).update(data={})
    Citizen.objects.filter(pk=citizen.pk).update(
        rut=None, full_name="", email="", phone="", user=None, anonymised_at=now, updated_at=now)


def _orphans_anonymise(citizen_ids: set[int], *, now) -> int:
    """After retention: people left with no ticket that still carries data, and no account,
    are emptied too (their record was only there for those tickets)."""
    from ventanilla.tickets.models import Ticket

    count = 0
    for citizen in Citizen.objects.filter(pk__in=citizen_ids, anonymised_at__isnull=True,
                                          user__isnull=True):
        if not Ticket.objects.filter(citizen=citizen).exists():
            _citizen_scrub(citizen, now=now)
            count += 1
    return count


# --- retention -----------------------------------------------------------------------------------

@dataclass
class RetentionPlan:
    rule: RetentionRule
    type_ids: list[int] | None  # None: every type of the rule (the rule has its own type)
    cutoff: datetime


def retention_plans(*, now: datetime | None = None) -> list[RetentionPlan]:
    from ventanilla.catalog.models import TicketType

    now = now or timezone.now()
    rules = list(RetentionRule.objects.filter(is_active=True, anonymise_after_years__isnull=False)
                 .select_related("institution").order_by("institution_id", "pk"))
    own_types: dict[int, set[int]] = {}
    for rule in RetentionRule.objects.filter(ticket_type__isnull=False):
        own_types.setdefault(rule.institution_id, set()).add(rule.ticket_type_id)
    plans = []
    for rule in rules:
        cutoff = years_before(now, rule.anonymise_after_years)
        if rule.ticket_type_id:
            plans.append(RetentionPlan(rule=rule, type_ids=[rule.ticket_type_id], cutoff=cutoff))
        else:
            types = list(TicketType.objects.filter(institution_id=rule.institution_id)
                         .exclude(pk__in=own_types.get(rule.institution_id, set()))
                         .values_list("pk", flat=True))
            plans.append(RetentionPlan(rule=rule, type_ids=types, cutoff=cutoff))
    return plans


def _due_tickets(plan: RetentionPlan):
    from ventanilla.tickets.models import Status, Ticket

    return (Ticket.objects.filter(institution_id=plan.rule.institution_id,
                                  ticket_type_id__in=plan.type_ids, status=Status.CLOSED,
                                  closed_at__lt=plan.cutoff, anonymisation__isnull=True))


def retention_apply(*, dry_run: bool = False, now: datetime | None = None,
                    chunk_size: int | None = None) -> RetentionRun:
    """Anonymise the closed tickets every active rule says are due, in chunks of
    ``RETENTION_CHUNK_SIZE`` (one transaction each: a failure keeps earlier chunks and is
    recorded on the run). ``dry_run`` only counts."""
    chunk_size = chunk_size or settings.RETENTION_CHUNK_SIZE
    now = now or timezone.now()
    run = RetentionRun.objects.create(dry_run=dry_run, started_at=now)
    per_rule: dict[str, int] = {}
    per_institution: dict[int, int] = {}
    try:
        for plan in retention_plans(now=now):
            due = _due_tickets(plan)
            if dry_run:
                per_rule[str(plan.rule.pk)] = due.count()
                continue
            done = 0
            while True:
                ids = list(due.order_by("pk").values_list("pk", flat=True)[:chunk_size])
                if not ids:
                    break
                with transaction.atomic():
                    citizen_ids = set(_ticket_rows(ids).values_list("citizen_id", flat=True))
                    tickets, attachments = tickets_anonymise(
                        ticket_ids=ids, cause=AnonymisationCause.RETENTION, run=run,
                        relink_to=placeholder_citizen())
                    _orphans_anonymise(citizen_ids, now=timezone.now())
                    RetentionRun.objects.filter(pk=run.pk).update(
                        tickets=F("tickets") + tickets,
                        attachments=F("attachments") + attachments)
                done += tickets
                if tickets == 0:
                    break  # another run took them meanwhile
            per_rule[str(plan.rule.pk)] = done
            per_institution[plan.rule.institution_id] = (
                per_institution.get(plan.rule.institution_id, 0) + done)
    except Exception as error:
        RetentionRun.objects.filter(pk=run.pk).update(error=f"{type(error).__name__}")
        raise
    finally:
        RetentionRun.objects.filter(pk=run.pk).update(per_rule=per_rule,
                                                      finished_at=timezone.now())
        run.refresh_from_db()
    for institution_id, count in per_institution.items():
        if count:
            audit_record(actor=None, action="privacy.retention_run", obj=run,
                         institution=institution_id, data={"tickets": count})
    return run


# --- erasure -------------------------------------------------------------------------------------

ERASURE_ROLES = {"supervisor", "sysadmin"}


def _hold_years(rules: dict, institution_id: int, type_id: int) -> int:
    rule = rules.get((institution_id, type_id)) or rules.get((institution_id, None))
    return rule.legal_hold_years if rule else settings.PRIVACY_DEFAULT_LEGAL_HOLD_YEARS


def erasure_obstacles(*, citizen: Citizen, now: datetime | None = None) -> list[str]:
    """Why the law does not allow erasing this person now (empty: it does). In Spanish,
    shown to staff and recorded on a refused request."""
    from ventanilla.tickets.models import OPEN_STATUSES, Ticket

    now = now or timezone.now()
    reasons = []
    tickets = list(Ticket.objects.filter(citizen=citizen, anonymisation__isnull=True)
                   .select_related("ticket_type").only(
                       "folio", "status", "closed_at", "institution_id", "ticket_type_id",
                       "ticket_type__name"))
    open_folios = [t.folio for t in tickets if t.status in OPEN_STATUSES]
    if open_folios:
        reasons.append(_("Tiene requerimientos en curso (%(folios)s): la institución necesita "
                         "sus datos para responderlos. Se podrá suprimir cuando estén "
                         "cerrados.") % {"folios": ", ".join(sorted(open_folios))})
    rules = {(r.institution_id, r.ticket_type_id): r
             for r in RetentionRule.objects.filter(is_active=True)}
    held = []
    for ticket in tickets:
        if ticket.status in OPEN_STATUSES or ticket.closed_at is None:
            continue
        years = _hold_years(rules, ticket.institution_id, ticket.ticket_type_id)
        if years and ticket.closed_at > years_before(now, years):
            until = years_before(ticket.closed_at, -years)
            held.append((ticket.folio, ticket.ticket_type.name, years, until))
    for folio, type_name, years, until in sorted(held, key=lambda h: h[3]):
        reasons.append(_("El requerimiento %(folio)s (%(type)s) debe conservarse %(years)s "
                         "año(s) desde su cierre, hasta el %(date)s (Ley 19.628, art. 6: "
                         "obligación legal de conservar).") % {
            "folio": folio, "type": type_name, "years": years,
            "date": timezone.localtime(until).strftime("%d-%m-%Y")})
    return reasons


def _institutions_of_person(citizen: Citizen) -> set[int]:
    from ventanilla.tickets.models import Interaction, Ticket

    return (set(Ticket.objects.filter(citizen=citizen).values_list("institution_id", flat=True)
                .distinct())
            | set(Interaction.objects.filter(citizen=citizen)
                  .values_list("institution_id", flat=True).distinct()))


def erasure_allowed_for(*, actor, citizen: Citizen) -> bool:
    """A supervisor or system administrator of EVERY institution that holds the person's
    data: erasure is irreversible and reaches all of them."""
    from ventanilla.accounts.models import Membership

    institutions = _institutions_of_person(citizen)
    if not institutions or not getattr(actor, "is_authenticated", False):
        return False
    allowed = set(Membership.objects.filter(user=actor, is_active=True,
                                            role__in=ERASURE_ROLES)
                  .values_list("institution_id", flat=True))
    return institutions <= allowed


@dataclass
class ErasureOutcome:
    request: ErasureRequest
    done: bool
    obstacles: list[str] = field(default_factory=list)


def citizen_erase(*, citizen: Citizen, actor, reason: str,
                  request: ErasureRequest | None = None) -> ErasureOutcome:
    """Erase a person's data where the law allows it, else refuse with the reasons.
    Irreversible. Recorded on the request (created if none) and in the audit log of every
    institution involved."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Indique el motivo de la supresión."))
    if not erasure_allowed_for(actor=actor, citizen=citizen):
        raise PermissionDenied("erasure not allowed")
    institutions = sorted(_institutions_of_person(citizen))
    with transaction.atomic():
        citizen = Citizen.objects.select_for_update().get(pk=citizen.pk)
        if citizen.anonymised_at is not None:
            raise ValidationError(_("Los datos de esta persona ya fueron suprimidos."))
        if citizen.merged_into_id is not None:
            raise ValidationError(_("Este registro fue fusionado en otro: suprima el registro "
                                    "conservado."))
        if request is None:
            request = ErasureRequest.objects.create(citizen=citizen)
        else:
            request = ErasureRequest.objects.select_for_update().get(pk=request.pk)
            if request.status != ErasureStatus.PENDING:
                raise ValidationError(_("Esta solicitud ya fue atendida."))
        now = timezone.now()
        obstacles = erasure_obstacles(citizen=citizen, now=now)
        request.handled_by, request.handled_at, request.reason = actor, now, reason
        if obstacles:
            request.status = ErasureStatus.REFUSED
            request.refusal_reason = "\n".join(obstacles)
            request.save()
            for institution_id in institutions:
                audit_record(actor=actor, action="privacy.erasure_refused", obj=citizen,
                             institution=institution_id, reason=reason,
                             data={"request": request.pk, "obstacles": len(obstacles)})
            return ErasureOutcome(request=request, done=False, obstacles=obstacles)
        from ventanilla.tickets.models import Ticket

        ticket_ids = list(Ticket.objects.filter(citizen=citizen).order_by("pk")
                          .values_list("pk", flat=True))
        tickets, attachments = tickets_anonymise(
            ticket_ids=ticket_ids, cause=AnonymisationCause.ERASURE, erasure=request)
        account_closed = _account_close(citizen)
        _citizen_scrub(citizen, now=now)
        ErasureRequest.objects.filter(citizen=citizen).exclude(pk=request.pk).update(
            requester_note="")
        request.status = ErasureStatus.DONE
        request.requester_note = ""
        request.summary = {"tickets": ticket_ids, "anonymised": tickets,
                           "attachments_deleted": attachments,
                           "account_closed": account_closed}
        request.save()
        for institution_id in institutions:
            audit_record(actor=actor, action="privacy.person_erased", obj=citizen,
                         institution=institution_id, reason=reason,
                         data={"request": request.pk, "tickets": ticket_ids,
                               "attachments_deleted": attachments})
    return ErasureOutcome(request=request, done=True)


def _account_close(citizen: Citizen) -> bool:
    """A citizen-only account goes with the person's data (a staff account is left alone:
    it belongs to the institution, not to the person's requests)."""
    from django.contrib.auth import get_user_model

    if not citizen.user_id:
        return False
    user = get_user_model().objects.select_for_update().get(pk=citizen.user_id)
    if user.memberships.exists() or user.is_staff or user.is_superuser:
        return False
    user.email = f"suprimida-{user.pk}@cuentas.invalid"
    user.first_name = user.last_name = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    return True


def erasure_request_create(*, user, note: str = "") -> ErasureRequest:
    """A registered person asks from the portal to have their data erased; staff decide."""
    citizen = getattr(user, "citizen", None) if user.is_authenticated else None
    if citizen is None:
        raise ValidationError(_("Su cuenta no tiene datos asociados que suprimir."))
    with transaction.atomic():
        Citizen.objects.select_for_update().filter(pk=citizen.pk).first()
        if ErasureRequest.objects.filter(citizen=citizen,
                                         status=ErasureStatus.PENDING).exists():
            raise ValidationError(_("Ya tiene una solicitud de supresión pendiente."))
        request = ErasureRequest.objects.create(citizen=citizen, requested_by=user,
                                                requester_note=(note or "").strip()[:2000])
        for institution_id in sorted(_institutions_of_person(citizen)) or [None]:
            audit_record(actor=user, action="privacy.erasure_requested", obj=citizen,
                         institution=institution_id, data={"request": request.pk})
    return request


def erasure_requests_for(*, institution_id: int):
    """Pending requests of people who have data in this institution."""
    from ventanilla.tickets.models import Ticket

    people = Ticket.objects.filter(institution_id=institution_id).values("citizen_id")
    return (ErasureRequest.objects.filter(status=ErasureStatus.PENDING, citizen_id__in=people)
            .select_related("citizen").order_by("requested_at"))


# --- portability ----------------------------------------------------------------------------------

README = """Sus datos personales — Ventanilla
================================

Este archivo contiene todos los datos que la plataforma guarda sobre usted{scope},
generado el {generated}. Lo puede guardar, revisar o entregar a otra institución
(derecho a la portabilidad, Ley 21.719).

Contenido:

- datos.json: un documento JSON (UTF-8) con:
  - "person": sus datos de contacto (nombre, RUT, correo, teléfono).
  - "identities": las direcciones por las que nos ha escrito (correo, teléfono,
    WhatsApp, redes sociales).
  - "tickets": sus requerimientos, cada uno con su folio, institución, motivo, tema,
    fechas, estado, los datos de contacto que dio, los mensajes que usted envió y las
    respuestas que recibió ("messages"), sus archivos adjuntos ("attachments", con el
    nombre del archivo dentro de esta carpeta) y sus respuestas a la encuesta de
    satisfacción ("survey_answers").
  - "interactions": cada contacto registrado con usted por cualquier canal.
- adjuntos/: los archivos que usted envió o que le enviaron, por folio.

No incluye las notas internas del personal ni los datos de otras personas.
Fechas en formato ISO 8601 (hora UTC).

Si algún dato es incorrecto puede pedir su rectificación, y puede pedir su
supresión desde su cuenta ("Mis solicitudes") o en la oficina de la institución.
"""


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _ticket_document(ticket, *, zip_file: zipfile.ZipFile, used_names: set[str]) -> dict:
    from ventanilla.surveys.models import SurveyResponse
    from ventanilla.tickets.models import Attachment, TicketEvent

    events = list(TicketEvent.objects.filter(ticket=ticket, is_public=True)
                  .order_by("created_at", "pk"))
    public_event_ids = {e.pk for e in events}
    attachments = [a for a in Attachment.objects.filter(ticket=ticket).order_by("pk")
                   if a.event_id is None or a.event_id in public_event_ids]
    files = []
    for attachment in attachments:
        base = get_valid_filename(attachment.original_name) or f"adjunto.{attachment.extension}"
        name = f"adjuntos/{ticket.folio}/{attachment.pk}-{base}"
        try:
            with attachment.file.open("rb") as handle:
                zip_file.writestr(name, handle.read())
        except (FileNotFoundError, OSError):
            name = None
        if name:
            used_names.add(name)
        files.append({"name": attachment.original_name, "file_in_zip": name,
                      "size": attachment.size, "sha256": attachment.sha256,
                      "uploaded_at": _iso(attachment.uploaded_at), "event": attachment.event_id})
    surveys = [{"answered_at": _iso(r.answered_at), "score": r.score, "scale": r.scale,
                "comment": r.comment,
                "reasons": [reason.label for reason in r.reasons.all()]}
               for r in SurveyResponse.objects.filter(ticket=ticket).prefetch_related("reasons")]
    return {
        "folio": ticket.folio,
        "institution": ticket.institution.name,
        "channel": ticket.channel.name,
        "type": ticket.ticket_type.name,
        "topic": ticket.topic.name,
        "subject": ticket.subject,
        "detail": ticket.detail,
        "urgency": ticket.urgency,
        "status": ticket.status,
        "received_at": _iso(ticket.received_at),
        "closed_at": _iso(ticket.closed_at),
        "region": ticket.region.name if ticket.region_id else None,
        "comuna": ticket.comuna.name if ticket.comuna_id else None,
        "organization": ticket.organization.name if ticket.organization_id else None,
        "requester_type": ticket.requester_type.name if ticket.requester_type_id else None,
        "contact": {"name": ticket.contact_name, "email": ticket.contact_email,
                    "phone": ticket.contact_phone, "rut": ticket.contact_rut},
        "corrective_action": ticket.corrective_action,
        "messages": [{"at": _iso(e.created_at), "kind": e.kind, "text": e.body,
                      "status": e.to_status, "event": e.pk} for e in events],
        "attachments": files,
        "survey_answers": surveys,
    }


def personal_data_export(*, citizen: Citizen | None, tickets, interactions,
                         scope_label: str = "", institution=None) -> bytes:
    """The ZIP (README, datos.json, adjuntos/…) of a person's data: ``tickets`` and
    ``interactions`` are what the caller may hand out (the citizen's own list, or one
    institution's rows for a supervisor). With ``institution`` the person's contact data
    and identities are those that institution received, never what others recorded."""
    from ventanilla.tickets.models import Interaction
    from ventanilla.tickets.selectors_people import (
        citizen_facts_in_institution,
        citizen_identities_in_institution,
    )

    if citizen is None:
        person, identities = None, []
    elif institution is None:
        person, identities = citizen, list(citizen.identities.order_by("kind", "value"))
    else:
        person = citizen_facts_in_institution(citizen=citizen, institution=institution)
        identities = citizen_identities_in_institution(citizen=citizen,
                                                       institution=institution)

    tickets = list(tickets.select_related("institution", "channel", "ticket_type", "topic",
                                          "region", "comuna", "organization",
                                          "requester_type").order_by("received_at", "pk"))
    buffer = io.BytesIO()
    now = timezone.now()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zip_file:
        used: set[str] = set()
        ticket_docs = [_ticket_document(t, zip_file=zip_file, used_names=used) for t in tickets]
        interaction_rows = (interactions if interactions is not None
                            else Interaction.objects.none())
        folios = {t.pk: t.folio for t in tickets}
        document = {
            "format": EXPORT_FORMAT,
            "generated_at": now.isoformat(),
            "person": None if citizen is None else {
                "name": person.full_name, "rut": person.rut_display, "email": person.email,
                "phone": person.phone, "created_at": _iso(citizen.created_at)},
            "identities": [
                {"kind": i.kind, "value": i.value, "verified_at": _iso(i.verified_at)}
                for i in identities],
            "tickets": ticket_docs,
            "interactions": [
                {"at": _iso(row.occurred_at), "channel": row.channel.name, "kind": row.kind,
                 "self_service": row.is_self_service, "folio": folios.get(row.ticket_id)}
                for row in interaction_rows.select_related("channel").order_by("occurred_at",
                                                                               "pk")],
        }
        zip_file.writestr("datos.json", json.dumps(document, ensure_ascii=False, indent=2))
        zip_file.writestr("LEAME.txt", README.format(
            scope=scope_label, generated=timezone.localtime(now).strftime("%d-%m-%Y %H:%M")))
    return buffer.getvalue()


def self_export(*, user) -> bytes:
    """A registered person's own data: the tickets "Mis solicitudes" lists (filed while
    logged in or with the verified e-mail), never every ticket of a person record that
    someone else's typing may have matched."""
    from ventanilla.tickets.models import Interaction, Ticket
    from ventanilla.tickets.selectors import ticket_list_for_citizen

    citizen = getattr(user, "citizen", None)
    ticket_ids = list(ticket_list_for_citizen(user=user).values_list("pk", flat=True))
    tickets = Ticket.objects.filter(pk__in=ticket_ids)
    condition = Q(ticket_id__in=ticket_ids)
    if citizen is not None:
        condition |= Q(citizen=citizen, ticket__isnull=True)
    content = personal_data_export(citizen=citizen, tickets=tickets,
                                   interactions=Interaction.objects.filter(condition))
    audit_record(actor=user, action="privacy.self_exported", obj=user,
                 citizen_id=citizen.pk if citizen else None,
                 data={"tickets": len(ticket_ids)})
    return content


def staff_export(*, actor, citizen: Citizen, institution, reason: str) -> bytes:
    """A supervisor hands a person who asks at the counter their data held by this
    institution. The reason is required and recorded."""
    from ventanilla.accounts.models import Membership
    from ventanilla.tickets.models import Interaction, Ticket

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Indique el motivo de la exportación."))
    if not Membership.objects.filter(user=actor, institution=institution, is_active=True,
                                     role__in=ERASURE_ROLES).exists():
        raise PermissionDenied("export not allowed")
    tickets = Ticket.objects.filter(citizen=citizen, institution=institution)
    content = personal_data_export(
        citizen=citizen, tickets=tickets,
        interactions=Interaction.objects.filter(citizen=citizen, institution=institution),
        scope_label=_(" en %(institution)s") % {"institution": institution.name},
        institution=institution)
    audit_record(actor=actor, action="privacy.person_exported", obj=citizen,
                 institution=institution, reason=reason,
                 data={"tickets": list(tickets.values_list("pk", flat=True))})
    return content
