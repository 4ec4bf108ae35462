from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tests.paper.conftest import pdf_upload, png_upload
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import AuditEvent
from ventanilla.paper.models import IntakeStatus, PaperIntake, PaperPage
from ventanilla.paper.services import (
    PaperTranscription,
    paper_intake_create,
    paper_intake_discard,
    paper_intake_transcribe,
)
from ventanilla.tickets.models import EventKind, Ticket
from ventanilla.tickets.uploads import check_upload

pytestmark = pytest.mark.django_db

UPLOAD_URL = reverse("console:paper-upload")
LIST_URL = reverse("console:paper-list")


def _transcribe_url(intake):
    return reverse("console:paper-transcribe", args=[intake.pk])


def _page_url(intake, page):
    return reverse("console:paper-page", args=[intake.pk, page.pk])


def _intake(catalog, actor, *, pages=1):
    uploads = [check_upload(png_upload(f"hoja-{n}.png", color=(n * 40, 10, 10)))
               for n in range(1, pages + 1)]
    return paper_intake_create(institution=catalog["institution"], actor=actor, uploads=uploads)


def _form_data(catalog, **overrides):
    org = catalog["organization"]
    data = {
        "full_name": "Rosa Muñoz Araya", "rut": "", "email": "rosa@example.cl", "phone": "",
        "requester_type": catalog["requester_type"].pk, "region": org.region.pk,
        "comuna": org.comuna.pk, "organization": org.pk,
        "ticket_type": catalog["complaint"].pk, "topic": catalog["topic"].pk,
        "urgency": "medium", "subject": "Colación fría",
        "detail": "La colación llegó fría toda la semana.", "written_on": "",
    }
    data.update(overrides)
    return data


def _transcription(catalog, **overrides):
    org = catalog["organization"]
    fields = {
        "ticket_type": catalog["complaint"], "topic": catalog["topic"],
        "subject": "Colación fría", "detail": "La colación llegó fría.",
        "contact": ContactData(full_name="Rosa Muñoz", email="rosa@example.cl"),
        "urgency": "medium", "requester_type": catalog["requester_type"], "organization": org,
        "region": org.region, "comuna": org.comuna,
    }
    fields.update(overrides)
    return PaperTranscription(**fields)


# --- upload ------------------------------------------------------------------------------------

def test_upload_creates_a_pending_intake_with_its_pages(login, catalog, staff):
    operator = staff(Role.OPERATOR)
    client = login(operator)
    before = timezone.now()
    response = client.post(UPLOAD_URL, {
        "pages": [png_upload("hoja 1.png"), pdf_upload("hoja 2.pdf")],
        "note": "Oficina Chillán",
    })
    intake = PaperIntake.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _transcribe_url(intake)
    assert intake.status == IntakeStatus.PENDING and intake.ticket is None
    assert intake.institution == catalog["institution"] and intake.uploaded_by == operator
    assert intake.note == "Oficina Chillán"
    assert before <= intake.created_at <= timezone.now()
    pages = list(intake.pages.order_by("position"))
    assert [(p.position, p.original_name, p.content_type) for p in pages] == [
        (1, "hoja 1.png", "image/png"), (2, "hoja 2.pdf", "application/pdf")]
    assert all(p.file.name.startswith(f"paper/{catalog['institution'].pk}/") for p in pages)
    assert AuditEvent.objects.filter(action="paper.intake_uploaded",
                                     object_id=str(intake.pk)).exists()
    listing = client.get(LIST_URL).content.decode()
    assert _transcribe_url(intake) in listing and "Oficina Chillán" in listing


def test_upload_of_a_bad_file_is_refused_in_spanish_and_stores_nothing(login, catalog, staff):
    client = login(staff(Role.OPERATOR))
    fake = SimpleUploadedFile("foto.png", b"esto no es una imagen", content_type="image/png")
    response = client.post(UPLOAD_URL, {"pages": [png_upload(), fake]})
    assert response.status_code == 200
    assert "no es una imagen (JPG, PNG, WEBP, GIF) ni un PDF válido" in response.content.decode()
    assert not PaperIntake.objects.exists() and not PaperPage.objects.exists()


def test_upload_without_files_or_with_too_many_is_refused(login, catalog, staff, settings):
    client = login(staff(Role.OPERATOR))
    response = client.post(UPLOAD_URL, {"note": "nada"})
    assert "Suba al menos una foto o PDF del formulario." in response.content.decode()
    settings.ATTACHMENT_MAX_FILES = 2
    response = client.post(UPLOAD_URL, {"pages": [png_upload(f"{n}.png") for n in range(3)]})
    assert "Puede adjuntar hasta 2 archivos" in response.content.decode()
    assert not PaperIntake.objects.exists()


# --- transcription ---------------------------------------------------------------------------

def test_transcription_opens_a_paper_ticket_dated_at_the_upload(login, catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator, pages=2)
    # Typed in two days after the upload: the clock still starts at the upload.
    uploaded_at = timezone.now() - timedelta(days=2)
    PaperIntake.objects.filter(pk=intake.pk).update(created_at=uploaded_at)
    client = login(operator)
    page = client.get(_transcribe_url(intake)).content.decode()
    for stored in intake.pages.all():
        assert _page_url(intake, stored) in page

    response = client.post(_transcribe_url(intake), _form_data(catalog, written_on="2026-01-05"))

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:paper-done", args=[intake.pk])
    assert ticket.channel.code == "paper"
    assert ticket.created_by == operator
    assert ticket.received_at == uploaded_at
    assert ticket.due_at > uploaded_at and ticket.due_at < timezone.now() + timedelta(days=1)
    assert ticket.contact_name == "Rosa Muñoz Araya" and ticket.subject == "Colación fría"
    pages = list(intake.pages.order_by("position"))
    attachments = list(ticket.attachments.order_by("id"))
    assert [a.sha256 for a in attachments] == [p.sha256 for p in pages]
    assert [a.original_name for a in attachments] == ["hoja-1.png", "hoja-2.png"]
    with attachments[0].file.open("rb") as stored:
        assert stored.read().startswith(b"\x89PNG")
    note = ticket.events.get(kind=EventKind.NOTE)
    assert "05-01-2026" in note.body and not note.is_public
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.TRANSCRIBED and intake.ticket == ticket
    assert intake.closed_by == operator
    assert AuditEvent.objects.filter(action="paper.intake_transcribed").count() == 1

    done = client.get(response["Location"]).content.decode()
    assert ticket.folio in done
    assert "Escriba este folio en el recuadro «Folio (uso interno)»" in done
    assert _transcribe_url(intake) not in client.get(LIST_URL).content.decode()


def test_transcription_without_email_or_written_date(login, catalog, staff):
    operator = staff(Role.SUPERVISOR)
    intake = _intake(catalog, operator)
    response = login(operator).post(_transcribe_url(intake), _form_data(catalog, email=""))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.contact_email == "" and not ticket.events.filter(kind=EventKind.NOTE).exists()


def test_invalid_transcription_shows_spanish_errors_and_opens_nothing(login, catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = login(operator).post(_transcribe_url(intake), _form_data(
        catalog, full_name="", topic="", written_on=tomorrow, rut="12.345.678-9"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Escriba su nombre completo." in content
    assert "Elija el tema." in content
    assert "La fecha escrita no puede ser posterior a hoy." in content
    assert not Ticket.objects.exists()
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.PENDING


def test_double_submit_opens_one_ticket(login, catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator)
    client = login(operator)
    first = client.post(_transcribe_url(intake), _form_data(catalog))
    second = client.post(_transcribe_url(intake), _form_data(catalog, subject="Otro asunto"))
    assert first["Location"] == second["Location"]
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().subject == "Colación fría"
    # The service itself is idempotent too (a retry past the view).
    again = paper_intake_transcribe(intake=intake, actor=operator,
                                    transcription=_transcription(catalog))
    assert again == Ticket.objects.get()
    assert Ticket.objects.get().attachments.count() == 1


# --- discard ---------------------------------------------------------------------------------

def test_discard_needs_a_reason_and_is_audited(login, catalog, staff):
    operator = staff(Role.TRIAGE)
    intake = _intake(catalog, operator)
    client = login(operator)
    url = reverse("console:paper-discard", args=[intake.pk])
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 400
    assert "Indique por qué descarta este formulario." in response.content.decode()
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.PENDING

    response = client.post(url, {"reason": "Hoja en blanco"})
    assert response.status_code == 302 and response["Location"] == LIST_URL
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.DISCARDED and intake.discard_reason == "Hoja en blanco"
    audit = AuditEvent.objects.get(action="paper.intake_discarded")
    assert audit.data == {"reason": "Hoja en blanco"} and audit.actor == operator
    # A discarded form cannot become a ticket, by page or by service.
    page = client.post(_transcribe_url(intake), _form_data(catalog))
    assert "Formulario descartado" in page.content.decode()
    with pytest.raises(ValidationError):
        paper_intake_transcribe(intake=intake, actor=operator,
                                transcription=_transcription(catalog))
    assert not Ticket.objects.exists()
    with pytest.raises(ValidationError):
        paper_intake_discard(intake=intake, actor=operator, reason="otra vez")


def test_transcribed_intake_cannot_be_discarded(catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator)
    paper_intake_transcribe(intake=intake, actor=operator, transcription=_transcription(catalog))
    with pytest.raises(ValidationError):
        paper_intake_discard(intake=intake, actor=operator, reason="error")
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.TRANSCRIBED


# --- photos ----------------------------------------------------------------------------------

def test_page_is_served_inline_to_staff_only(login, client, catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator)
    page = intake.pages.get()
    response = login(operator).get(_page_url(intake, page))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert AuditEvent.objects.filter(action="paper.page_viewed").exists()


def test_page_of_another_institution_or_intake_is_404(login, catalog, other_catalog, staff):
    intake = _intake(catalog, staff(Role.OPERATOR))
    page = intake.pages.get()
    outsider = staff(Role.OPERATOR, institution=other_catalog["institution"])
    other_intake = _intake(other_catalog, outsider)
    client = login(outsider)
    assert client.get(_page_url(intake, page)).status_code == 404
    assert client.get(_transcribe_url(intake)).status_code == 404
    assert client.post(reverse("console:paper-discard", args=[intake.pk]),
                       {"reason": "no es mío"}).status_code == 404
    assert client.post(_transcribe_url(intake), _form_data(catalog)).status_code == 404
    # Nor can a page be fetched through another intake's address.
    assert client.get(_page_url(other_intake, page)).status_code == 404
    assert _transcribe_url(intake) not in client.get(LIST_URL).content.decode()
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.PENDING and not Ticket.objects.exists()


def test_missing_page_file_is_404_not_500(login, catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator)
    page = intake.pages.get()
    page.file.storage.delete(page.file.name)
    assert login(operator).get(_page_url(intake, page)).status_code == 404


# --- permissions -----------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.AUDITOR, Role.RESPONDER])
def test_roles_without_paper_intake_are_refused(login, catalog, staff, role):
    intake = _intake(catalog, staff(Role.OPERATOR))
    page = intake.pages.get()
    client = login(staff(role))
    for url in (LIST_URL, UPLOAD_URL, _transcribe_url(intake), _page_url(intake, page)):
        assert client.get(url).status_code == 403, url
    response = client.post(UPLOAD_URL, {"pages": [png_upload()]})
    assert response.status_code == 403
    assert "Su rol no permite ingresar formularios en papel" in response.content.decode()
    assert client.post(_transcribe_url(intake), _form_data(catalog)).status_code == 403
    assert PaperIntake.objects.count() == 1 and not Ticket.objects.exists()


def test_citizen_and_anonymous_are_refused(client, catalog, staff):
    intake = _intake(catalog, staff(Role.OPERATOR))
    page = intake.pages.get()
    for url in (LIST_URL, UPLOAD_URL, _transcribe_url(intake), _page_url(intake, page)):
        response = client.get(url)
        assert response.status_code == 302 and "/cuenta/" in response["Location"], url
    client.force_login(UserFactory())  # a citizen: an account, no membership
    for url in (LIST_URL, _transcribe_url(intake), _page_url(intake, page)):
        assert client.get(url).status_code == 403, url
    assert client.post(_transcribe_url(intake), _form_data(catalog)).status_code == 403
    assert not Ticket.objects.exists()


def test_services_check_the_role_themselves(catalog, other_catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator)
    for intruder in (staff(Role.AUDITOR), staff(Role.RESPONDER), UserFactory(),
                     staff(Role.SYSADMIN, institution=other_catalog["institution"])):
        with pytest.raises(PermissionDenied):
            paper_intake_create(institution=catalog["institution"], actor=intruder,
                                uploads=[check_upload(png_upload())])
        with pytest.raises(PermissionDenied):
            paper_intake_transcribe(intake=intake, actor=intruder,
                                    transcription=_transcription(catalog))
        with pytest.raises(PermissionDenied):
            paper_intake_discard(intake=intake, actor=intruder, reason="x")
    assert PaperIntake.objects.count() == 1 and not Ticket.objects.exists()


def test_list_shows_only_pending_intakes_of_the_active_institution(login, catalog,
                                                                   other_catalog, staff):
    operator = staff(Role.OPERATOR)
    mine = _intake(catalog, operator)
    done = _intake(catalog, operator)
    paper_intake_transcribe(intake=done, actor=operator, transcription=_transcription(catalog))
    theirs = _intake(other_catalog, staff(Role.OPERATOR, institution=other_catalog["institution"]))
    content = login(operator).get(LIST_URL).content.decode()
    assert _transcribe_url(mine) in content
    assert _transcribe_url(done) not in content and _transcribe_url(theirs) not in content
    assert reverse("paper-form-pdf", args=[catalog["institution"].slug]) in content


def test_written_date_is_recorded_not_used_for_deadlines(catalog, staff):
    operator = staff(Role.OPERATOR)
    intake = _intake(catalog, operator)
    ticket = paper_intake_transcribe(
        intake=intake, actor=operator,
        transcription=_transcription(catalog, written_on=date(2025, 12, 30)))
    assert ticket.received_at == intake.created_at
    assert "30-12-2025" in ticket.events.get(kind=EventKind.NOTE).body


def test_console_navigation_links_to_the_paper_intake(login, catalog, staff):
    page = login(staff(Role.OPERATOR)).get(reverse("console:inbox")).content.decode()
    assert f'href="{LIST_URL}"' in page
