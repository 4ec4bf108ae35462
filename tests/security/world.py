"""Two institutions, A and B, each with everything a URL can point at: tickets (one
pending triage, one confirmed in an area, one closed with a survey answer), an attachment,
answers, a note, a person known only there, a person with tickets in BOTH, a paper intake,
a kiosk, a report run, a citizen merge, an API key and one staff member per role.

Everything B's people typed carries the marker ``ZQXB`` (and B's catalog names too), and
B's personal data is unique to B, so a response can be scanned for B's bytes.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import date

from django.core.files.base import ContentFile
from django.utils import timezone

from tests.console.helpers import png_upload
from tests.factories import (
    AreaFactory,
    InstitutionFactory,
    MembershipFactory,
    TopicFactory,
    UserFactory,
    channel,
    make_catalog,
    open_ticket,
)
from ventanilla.accounts.models import Role
from ventanilla.api.models import IdempotencyRecord
from ventanilla.api.services import api_key_create
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.models import ResponseStage, Ticket
from ventanilla.tickets.uploads import check_upload

# Every role of the console, and the two responders: of the tickets' area and of another.
ROLES = ("operator", "triage", "responder", "responder_other", "supervisor", "sysadmin",
         "auditor")

# The person with tickets in both institutions (RUT 11.111.111-1).
SHARED_RUT = "111111111"
SHARED_NAME = "Compartida Persona"


@dataclass
class Side:
    label: str
    catalog: dict
    area2: object
    staff: dict
    ticket: Ticket            # confirmed, in catalog["area"], with attachment, note, answers
    pending: Ticket           # Type 2 waiting for triage
    closed: Ticket            # closed with a final answer and a survey answer
    shared_ticket: Ticket     # the shared person's ticket here
    attachment: object
    answer: object            # a draft final answer on ``ticket``
    person: object            # known only to this institution
    shared_person: object
    merge: object             # a CitizenMerge of two of this institution's people
    intake: object
    page: object
    kiosk: object
    office: object
    report_run: object
    invitation: object
    api_raw: str
    open311_token: str
    secrets: list[str] = field(default_factory=list)

    @property
    def folios(self) -> list[str]:
        return list(Ticket.objects.filter(institution=self.institution)
                    .values_list("folio", flat=True))

    @property
    def institution(self):
        return self.catalog["institution"]


def _catalog(label: str) -> dict:
    marker = "ZQXB" if label == "B" else "Alfa"
    institution = InstitutionFactory(name=f"Servicio {label}", short_name=f"S{label}",
                                     slug=f"servicio-{label.lower()}",
                                     folio_prefix=f"IS{label}")
    catalog = make_catalog(institution)
    catalog["area"].name = f"Área {marker} uno"
    catalog["area"].save()
    catalog["topic"].name = f"Tema {marker}"
    catalog["topic"].save()
    catalog["organization"].name = f"Escuela {marker}"
    catalog["organization"].save()
    return catalog


def _staff(institution, area, area2) -> dict:
    staff = {}
    for role in ROLES:
        user = UserFactory(first_name="Func", last_name=f"{role} {institution.short_name}")
        real = "responder" if role.startswith("responder") else role
        areas = [area] if role == "responder" else [area2] if role == "responder_other" else []
        MembershipFactory(user=user, institution=institution, role=Role(real), areas=areas)
        staff[role] = user
    return staff


def build_side(label: str) -> Side:
    from tests.surveys.helpers import make_office, make_survey
    from ventanilla.citizens.services import citizen_merge
    from ventanilla.paper.services import paper_intake_create
    from ventanilla.reports.models import ReportRun, ReportStatus
    from ventanilla.routing.services import triage_confirm
    from ventanilla.surveys.models import SurveyInvitation
    from ventanilla.surveys.services import kiosk_pair, survey_answer
    from ventanilla.tickets.services import answer_draft, answer_send, ticket_add_note

    b = label == "B"
    mark = "ZQXB" if b else "Alfa"
    catalog = _catalog(label)
    institution = catalog["institution"]
    area2 = AreaFactory(institution=institution, name=f"Área {mark} dos")
    TopicFactory(institution=institution, name=f"Tema {mark} dos", default_area=area2)
    staff = _staff(institution, catalog["area"], area2)
    triage = staff["triage"]

    # Someone known only here; contact data unique to this institution.
    digits = "7777432" + ("1" if b else "2")
    person_contact = ContactData(
        full_name=f"Persona {mark} Solitaria", email=f"solitaria.{mark.lower()}@example.cl",
        phone=f"+56 9 {digits[:4]} {digits[4:]}", rut="159753468" if b else "76543216")
    ticket = open_ticket(catalog, contact=person_contact, subject=f"Asunto {mark} confirmado",
                         detail=f"Detalle {mark} confirmado",
                         attachments=[check_upload(png_upload(f"foto-{mark}.png"))])
    triage_confirm(ticket=ticket, actor=triage)
    ticket.refresh_from_db()
    ticket_add_note(ticket=ticket, actor=triage, body=f"Nota interna {mark}")
    answer = answer_draft(ticket=ticket, actor=triage, stage=ResponseStage.FINAL,
                          body=f"Borrador {mark} de respuesta")
    pending = open_ticket(catalog, contact=person_contact, subject=f"Asunto {mark} pendiente",
                          detail=f"Detalle {mark} pendiente")

    # The person with tickets in both institutions: the same RUT; what they told B
    # (another e-mail and phone) is B's.
    shared_contact = ContactData(
        full_name=SHARED_NAME, email=f"compartida.{mark.lower()}@example.cl",
        phone="+56 9 6666 111" + ("1" if b else "2"), rut=SHARED_RUT)
    shared_ticket = open_ticket(catalog, contact=shared_contact,
                                subject=f"Asunto {mark} de la persona compartida",
                                detail=f"Detalle {mark} de la persona compartida")

    # A closed ticket with a survey answer carrying a comment.
    make_survey(institution, comment_enabled=True)
    closed = open_ticket(catalog, contact=person_contact, subject=f"Asunto {mark} cerrado",
                         detail=f"Detalle {mark} cerrado")
    triage_confirm(ticket=closed, actor=triage)
    closed.refresh_from_db()
    final = answer_draft(ticket=closed, actor=triage, stage=ResponseStage.FINAL,
                         body=f"Respuesta final {mark}")
    answer_send(answer=final, actor=triage)
    closed.refresh_from_db()
    invitation = SurveyInvitation.objects.get(ticket=closed)
    survey_answer(invitation=invitation, score=2, comment=f"Comentario {mark} de encuesta")

    # Two records of the same person here, merged by a supervisor.
    first = open_ticket(catalog, contact=ContactData(
        full_name=f"Duplicada {mark}", email=f"duplicada.{mark.lower()}@example.cl"),
        subject=f"Asunto {mark} duplicada uno")
    second = open_ticket(catalog, contact=ContactData(
        full_name=f"Duplicada {mark}", email="", phone="+56 9 5555 000" + ("1" if b else "2")),
        subject=f"Asunto {mark} duplicada dos")
    merge = citizen_merge(keep=first.citizen, other=second.citizen, actor=staff["supervisor"],
                          reason=f"Misma persona {mark}")

    intake = paper_intake_create(institution=institution, actor=staff["operator"],
                                 uploads=[check_upload(png_upload(f"papel-{mark}.png"))],
                                 note=f"Formulario {mark} en papel")
    office = make_office(institution, name=f"Oficina {mark}")
    kiosk, _secret = kiosk_pair(actor=staff["supervisor"], office=office,
                                name=f"Tótem {mark}")
    run = ReportRun.objects.create(
        institution=institution, title=f"Reporte {mark}", period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31), status=ReportStatus.DONE, finished_at=timezone.now(),
        requested_by=staff["supervisor"])
    run.pdf.save("r.pdf", ContentFile(f"%PDF-1.4 Reporte {mark}\n%%EOF".encode()), save=False)
    run.xlsx.save("r.xlsx", ContentFile(_xlsx_bytes(f"Reporte {mark}")), save=False)
    run.save()

    api_key, raw = api_key_create(institution=institution, name=f"IVR {mark}",
                                  channels=[channel("api")], can_read=True, can_write=True)
    token = f"tok-{mark.lower()}"
    IdempotencyRecord.objects.create(scope=f"open311:key:{api_key.pk}", key=token,
                                     request_hash="0" * 64, ticket=ticket)

    side = Side(
        label=label, catalog=catalog, area2=area2, staff=staff, ticket=ticket, pending=pending,
        closed=closed, shared_ticket=shared_ticket, attachment=ticket.attachments.get(),
        answer=answer, person=ticket.citizen, shared_person=shared_ticket.citizen, merge=merge,
        intake=intake, page=intake.pages.first(), kiosk=kiosk, office=office, report_run=run,
        invitation=invitation, api_raw=raw, open311_token=token,
    )
    if b:
        side.secrets = [
            "ZQXB", "zqxb", "7777 4321", "77774321", "6666 1111", "66661111",
            "15.975.346", "15975346", "5555 0001", "55550001", "ISB-",
        ] + [t.folio for t in Ticket.objects.filter(institution=institution)]
    return side


def _xlsx_bytes(text: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active["A1"] = text
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@dataclass
class World:
    a: Side
    b: Side


def build_world() -> World:
    a = build_side("A")
    b = build_side("B")
    return World(a=a, b=b)


def readable(content: bytes) -> str:
    """The text a person could read in a response: XLSX/ZIP members are unpacked (an
    export's strings live in compressed XML), PDFs are scanned as bytes."""
    if content[:2] == b"PK":
        parts = []
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for name in archive.namelist():
                parts.append(archive.read(name).decode("utf-8", "replace"))
        return "\n".join(parts)
    return content.decode("utf-8", "replace")


def echo_variants(echo) -> list[str]:
    """A value the request sent, as a page may write it back (plain, in a URL, escaped)."""
    from urllib.parse import quote, quote_plus

    from django.utils.html import escape

    variants = set()
    for value in echo:
        variants |= {value, quote(value, safe=""), quote_plus(value), quote(value),
                     escape(value), escape(quote(value, safe="")),
                     quote(quote_plus(value), safe=""), quote(quote(value, safe=""), safe="")}
    return sorted(variants, key=len, reverse=True)


def leaks(content: bytes, secrets: list[str], *, echo: tuple[str, ...] = ()) -> list[str]:
    text = readable(content)
    for value in echo_variants(echo):
        text = text.replace(value, "")
    # JSON may escape non-ASCII; the markers are ASCII on purpose.
    return [secret for secret in secrets if secret in text]
