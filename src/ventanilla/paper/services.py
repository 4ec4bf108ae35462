"""Writes of the paper intake: upload the photographed form, transcribe it into a ticket
through the intake service, or discard it with a reason. Each function checks the actor's
role itself, runs in one transaction and leaves an audit row."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.accounts.models import Role
from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.catalog.models import (
    Institution,
    Organization,
    RequesterType,
    TicketType,
    Topic,
)
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import Comuna, Region
from ventanilla.core.services import audit_record
from ventanilla.paper.models import IntakeStatus, PaperIntake, PaperPage
from ventanilla.tickets import permissions
from ventanilla.tickets.models import Ticket
from ventanilla.tickets.services import TicketDraft, ticket_add_note, ticket_open
from ventanilla.tickets.services.common import delete_stored_files
from ventanilla.tickets.uploads import CheckedUpload, UploadUnavailable

# Who receives paper at the counter and types it in (the responder and the auditor do not).
PAPER_ROLES = frozenset({Role.OPERATOR, Role.TRIAGE, Role.SUPERVISOR, Role.SYSADMIN})
PAPER_CHANNEL = "paper"
MAX_DISCARD_REASON = 500

logger = logging.getLogger(__name__)


def can_handle_paper(user, institution_id: int) -> bool:
    membership = permissions.membership_for(user, institution_id)
    return membership is not None and membership.role in PAPER_ROLES


def _require_paper_role(user, institution_id: int) -> None:
    if not can_handle_paper(user, institution_id):
        raise PermissionDenied(f"paper intake not allowed in institution {institution_id}")


def paper_intake_create(*, institution: Institution, actor, uploads: list[CheckedUpload],
                        note: str = "") -> PaperIntake:
    """Store the photographed pages of one form. ``created_at`` is the entry into the
    platform, from which the ticket's deadlines will count."""
    _require_paper_role(actor, institution.pk)
    if not uploads:
        raise ValidationError({"pages": _("Suba al menos una foto o PDF del formulario.")})
    with transaction.atomic():
        intake = PaperIntake.objects.create(
            institution=institution, uploaded_by=actor, note=note.strip()[:300],
        )
        written: list[str] = []
        for position, upload in enumerate(uploads, start=1):
            page = PaperPage(
                intake=intake, position=position, original_name=upload.original_name,
                extension=upload.extension, content_type=upload.content_type,
                size=upload.size, sha256=upload.sha256,
            )
            # The storage writes the file before the row: a rollback may leave an orphan
            # file, never a row without its file. A failing storage (disk full) unwinds
            # the pages already written and rolls the intake back.
            try:
                page.file.save(f"page.{upload.extension}", ContentFile(upload.content),
                               save=False)
            except Exception as exc:
                delete_stored_files(page.file.storage, written)
                logger.error("paper.storage_failed", extra={
                    "error": exc.__class__.__name__, "errno": getattr(exc, "errno", None)})
                raise UploadUnavailable() from exc
            written.append(page.file.name)
            page.save()
        audit_record(actor=actor, action="paper.intake_uploaded", obj=intake,
                     institution=institution, data={"pages": len(uploads)})
    return intake


@dataclass(frozen=True)
class PaperTranscription:
    """What the operator read on the paper: the same fields as the web form."""

    ticket_type: TicketType
    topic: Topic
    subject: str
    detail: str
    contact: ContactData
    urgency: str
    requester_type: RequesterType | None = None
    organization: Organization | None = None
    region: Region | None = None
    comuna: Comuna | None = None
    # The date the person wrote on the form, if any: recorded, but deadlines count from
    # the upload (the manual: "from entry into the platform").
    written_on: date | None = None


def _page_as_upload(page: PaperPage) -> CheckedUpload:
    with page.file.open("rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != page.sha256:
        raise ValidationError(
            _("La página «%(name)s» no se puede leer; descarte este formulario y vuelva a "
              "subirlo.") % {"name": page.original_name}
        )
    return CheckedUpload(original_name=page.original_name, extension=page.extension,
                         content_type=page.content_type, content=content, sha256=page.sha256)


def paper_intake_idempotency_key(intake: PaperIntake) -> str:
    return f"paper-intake-{intake.pk}"


def paper_intake_transcribe(*, intake: PaperIntake, actor,
                            transcription: PaperTranscription) -> Ticket:
    """Open the ticket typed from the paper, with the photos as its attachments.

    Safe to repeat: the intake row is locked and remembers its ticket, and the ticket's
    idempotency key is derived from the intake, so one intake never opens two tickets.
    """
    _require_paper_role(actor, intake.institution_id)
    with transaction.atomic():
        intake = (PaperIntake.objects.select_for_update()
                  .select_related("institution").get(pk=intake.pk))
        if intake.status == IntakeStatus.TRANSCRIBED and intake.ticket_id:
            return intake.ticket
        if intake.status == IntakeStatus.DISCARDED:
            raise ValidationError(_("Este formulario fue descartado; no se puede transcribir."))
        pages = list(intake.pages.all())
        draft = TicketDraft(
            institution=intake.institution,
            channel=catalog_selectors.channel_get(code=PAPER_CHANNEL),
            ticket_type=transcription.ticket_type, topic=transcription.topic,
            subject=transcription.subject, detail=transcription.detail,
            contact=transcription.contact, urgency=transcription.urgency,
            requester_type=transcription.requester_type,
            organization=transcription.organization, region=transcription.region,
            comuna=transcription.comuna,
            attachments=[_page_as_upload(page) for page in pages],
            created_by=actor, received_at=intake.created_at,
            idempotency_key=paper_intake_idempotency_key(intake),
        )
        ticket = ticket_open(draft=draft)
        if transcription.written_on is not None:
            ticket_add_note(ticket=ticket, actor=actor, body=_(
                "Fecha escrita en el formulario en papel: %(date)s. Los plazos se cuentan "
                "desde su ingreso a la plataforma."
            ) % {"date": transcription.written_on.strftime("%d-%m-%Y")})
        intake.status = IntakeStatus.TRANSCRIBED
        intake.ticket = ticket
        intake.closed_by = actor
        intake.closed_at = timezone.now()
        intake.save(update_fields=["status", "ticket", "closed_by", "closed_at"])
        audit_record(actor=actor, action="paper.intake_transcribed", obj=intake,
                     institution=intake.institution, data={
                         "ticket_id": ticket.pk, "folio": ticket.folio,
                         "written_on": (transcription.written_on.isoformat()
                                        if transcription.written_on else None),
                     })
    return ticket


def paper_intake_discard(*, intake: PaperIntake, actor, reason: str) -> PaperIntake:
    """Set aside a form that is not a request (blank, illegible, a duplicate…)."""
    _require_paper_role(actor, intake.institution_id)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Indique por qué descarta este formulario.")})
    with transaction.atomic():
        intake = (PaperIntake.objects.select_for_update()
                  .select_related("institution").get(pk=intake.pk))
        if intake.status != IntakeStatus.PENDING:
            raise ValidationError(_("Este formulario ya no está pendiente."))
        intake.status = IntakeStatus.DISCARDED
        intake.discard_reason = reason[:MAX_DISCARD_REASON]
        intake.closed_by = actor
        intake.closed_at = timezone.now()
        intake.save(update_fields=["status", "discard_reason", "closed_by", "closed_at"])
        audit_record(actor=actor, action="paper.intake_discarded", obj=intake,
                     institution=intake.institution, data={"reason": intake.discard_reason})
    return intake
