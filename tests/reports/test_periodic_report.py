"""The periodic report end to end (TASKS_BACKEND=immediate): request on the console page →
the task builds the PDF and XLSX → download → e-mail to the recipients; and its failures."""

import base64
import contextlib
import io
import re
import zlib
from datetime import timedelta

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import AreaFactory, UserFactory, channel, make_catalog, open_ticket
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.notifications.models import OutboundMessage
from ventanilla.reports import report_services
from ventanilla.reports.models import ReportRun, ReportStatus
from ventanilla.reports.report_services import report_build, report_generate, report_request
from ventanilla.reports.services import rollup_rebuild

PERSON_NAME = "Eduviges Informe Privada"
PERSON_EMAIL = "eduviges.informe@example.cl"
REPORTS_URL = "/consola/tableros/reportes/"


@pytest.fixture
def data(catalog):
    contact = ContactData(full_name=PERSON_NAME, email=PERSON_EMAIL, phone="", rut="")
    now = timezone.now()
    open_ticket(catalog, contact=contact, received_at=now - timedelta(days=6))
    open_ticket(catalog, contact=contact, received_at=now - timedelta(days=5))
    open_ticket(catalog, contact=contact, channel=channel("phone"),
                received_at=now - timedelta(days=4))
    rollup_rebuild()
    return catalog


@pytest.fixture
def period():
    today = timezone.localdate()
    return today - timedelta(days=30), today


def pdf_text(content: bytes) -> bytes:
    """Every stream of a PDF (reportlab: ASCII85 then Flate when compressed), with the
    octal escapes of its strings undone, so text reads as cp1252 bytes."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\n?endstream", content, re.S)
    out = []
    for stream in streams:
        with contextlib.suppress(ValueError, zlib.error):
            stream = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
        out.append(stream)
    return unescape_pdf(b"\n".join(out))


def unescape_pdf(data: bytes) -> bytes:
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), data)


def test_request_generate_download_and_email(client, data, period,
                                              django_capture_on_commit_callbacks):
    institution = data["institution"]
    supervisor = staff(institution, Role.SUPERVISOR)
    client.force_login(supervisor)
    start, end = period
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REPORTS_URL, {
            "title": "Reporte de prueba", "period_start": start.isoformat(),
            "period_end": end.isoformat(), "recipients": "jefa@example.cl, mandante@example.cl",
        })
    assert response.status_code == 302
    run = ReportRun.objects.get(institution=institution)
    assert run.status == ReportStatus.DONE, run.error
    assert run.requested_by == supervisor and run.started_at and run.finished_at
    assert run.recipients == "jefa@example.cl, mandante@example.cl"

    # PDF: title, institution and each figure's title; no personal data.
    pdf = run.pdf.read()
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in ("Reporte de prueba", institution.name, "Requerimientos por canal",
                     "Cumplimiento de plazos por etapa", "Volumen",
                     "Satisfacci\xf3n", "Requerimientos abiertos por antig\xfcedad",
                     "P\xe1gina 1 de"):
        assert expected.encode("cp1252") in text, expected
    assert PERSON_NAME.encode() not in text and PERSON_EMAIL.encode() not in text

    # XLSX: cover, one sheet per figure with its values, filters.
    book = openpyxl.load_workbook(io.BytesIO(run.xlsx.read()))
    assert book.sheetnames[0] == "Reporte" and book.sheetnames[-1] == "Filtros"
    assert "Requerimientos por canal" in book.sheetnames
    assert len(book.sheetnames) >= 2 + 15
    by_channel = book["Requerimientos por canal"]
    assert [c.value for c in by_channel[1]][:2] == ["Canal", "Recibidos"]
    assert [[c.value for c in row][:2] for row in by_channel.iter_rows(min_row=2, max_row=3)] \
        == [[channel("web").name, 2], [channel("phone").name, 1]]
    assert book["Reporte"]["A1"].value == "Reporte de prueba"

    # The page lists it with its downloads.
    html = client.get(REPORTS_URL).content.decode()
    pdf_url = reverse("console:dashboards-report-download", args=[run.pk, "pdf"])
    assert pdf_url in html and "Listo" in html
    download = client.get(pdf_url)
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="reporte-de-prueba.pdf"'
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    xlsx = client.get(reverse("console:dashboards-report-download", args=[run.pk, "xlsx"]))
    assert xlsx.status_code == 200 and "attachment" in xlsx["Content-Disposition"]

    # One e-mail per recipient through the outbox, linking to the reports page.
    messages = OutboundMessage.objects.filter(dedupe_key__startswith=f"report-ready:{run.pk}:")
    assert sorted(m.recipient for m in messages) == ["jefa@example.cl", "mandante@example.cl"]
    for message in messages:
        assert message.subject == "Reporte listo: Reporte de prueba"
        assert "/consola/tableros/reportes/" in message.body_text
        assert institution.name in message.body_text


def test_pdf_uncompressed_lists_every_section(data, period):
    supervisor = staff(data["institution"], Role.SUPERVISOR)
    run = report_request(user=supervisor, institution=data["institution"],
                         period_start=period[0], period_end=period[1])
    pdf, _xlsx = report_build(run, compress=False)
    pdf = unescape_pdf(pdf)
    for section in ("Volumen", "Productos m\xe1s pedidos por canal", "Cumplimiento de plazos",
                    "Pendientes y antig\xfcedad", "Satisfacci\xf3n"):
        assert section.encode("cp1252") in pdf, section
    assert run.title.encode("cp1252") in pdf  # default title: "Reporte de gestión …"


def test_without_recipients_no_email(data, period, django_capture_on_commit_callbacks):
    supervisor = staff(data["institution"], Role.SYSADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        run = report_request(user=supervisor, institution=data["institution"],
                             period_start=period[0], period_end=period[1])
    run.refresh_from_db()
    assert run.status == ReportStatus.DONE
    assert not OutboundMessage.objects.filter(dedupe_key__startswith="report-ready:").exists()
    assert report_generate(run_id=run.pk) == "skipped"  # a done report is not rebuilt


def test_a_failure_ends_failed_with_the_error(data, period, monkeypatch,
                                              django_capture_on_commit_callbacks):
    def broken_pdf(**kwargs):
        raise RuntimeError("la impresora virtual se quedó sin papel")

    monkeypatch.setattr(report_services, "report_pdf", broken_pdf)
    supervisor = staff(data["institution"], Role.SUPERVISOR)
    with django_capture_on_commit_callbacks(execute=True):
        run = report_request(user=supervisor, institution=data["institution"],
                             period_start=period[0], period_end=period[1],
                             recipients="jefa@example.cl")
    run.refresh_from_db()
    assert run.status == ReportStatus.FAILED
    assert run.error == "RuntimeError: la impresora virtual se quedó sin papel"
    assert run.finished_at is not None and not run.pdf and not run.xlsx
    assert not OutboundMessage.objects.filter(dedupe_key__startswith="report-ready:").exists()


def test_a_filter_gone_before_generation_fails_instead_of_widening(client, data, period):
    area = AreaFactory(institution=data["institution"])
    supervisor = staff(data["institution"], Role.SUPERVISOR)
    run = report_request(user=supervisor, institution=data["institution"],
                         period_start=period[0], period_end=period[1],
                         filters={"area": area.pk})
    assert run.filters == {"region": None, "area": area.pk, "channel": None}
    area.delete()
    assert report_generate(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == ReportStatus.FAILED
    assert "El área del filtro no existe" in run.error
    client.force_login(supervisor)
    html = client.get(REPORTS_URL).content.decode()
    assert "Falló" in html and "El área del filtro no existe" in html
    pdf_url = reverse("console:dashboards-report-download", args=[run.pk, "pdf"])
    assert pdf_url not in html
    assert client.get(pdf_url).status_code == 404


def test_a_stale_running_report_is_claimed_again(data, period):
    supervisor = staff(data["institution"], Role.SUPERVISOR)
    run = report_request(user=supervisor, institution=data["institution"],
                         period_start=period[0], period_end=period[1])
    ReportRun.objects.filter(pk=run.pk).update(status=ReportStatus.RUNNING,
                                               started_at=timezone.now())
    assert report_generate(run_id=run.pk) == "skipped"  # another worker is on it
    ReportRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - report_services.STALE_RUNNING - timedelta(minutes=1))
    assert report_generate(run_id=run.pk) == "done"


# --- the request form and permissions -----------------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    ({"recipients": "jefa@example.cl, no-es-correo"}, "«no-es-correo» no es un correo válido."),
    ({"period_start": "2026-05-10", "period_end": "2026-05-01"},
     "La fecha final no puede ser anterior a la inicial."),
    ({"period_start": "", "period_end": ""}, "Indique la fecha."),
    ({"period_start": "3000-01-01", "period_end": "3000-02-01"},
     "El período no puede empezar en el futuro."),
])
def test_bad_request_shows_spanish_errors_and_creates_nothing(client, data, period, fields,
                                                              message):
    client.force_login(staff(data["institution"], Role.SUPERVISOR))
    post = {"period_start": period[0].isoformat(), "period_end": period[1].isoformat(),
            **fields}
    response = client.post(REPORTS_URL, post)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ReportRun.objects.exists()


def test_auditor_lists_and_downloads_but_cannot_request(client, data, period,
                                                        django_capture_on_commit_callbacks):
    supervisor = staff(data["institution"], Role.SUPERVISOR)
    with django_capture_on_commit_callbacks(execute=True):
        run = report_request(user=supervisor, institution=data["institution"],
                             period_start=period[0], period_end=period[1])
    auditor = staff(data["institution"], Role.AUDITOR)
    client.force_login(auditor)
    html = client.get(REPORTS_URL).content.decode()
    assert "Pedir un reporte" not in html
    assert supervisor.email not in html  # no people on the auditor's page
    pdf_url = reverse("console:dashboards-report-download", args=[run.pk, "pdf"])
    assert pdf_url in html and client.get(pdf_url).status_code == 200
    response = client.post(REPORTS_URL, {"period_start": period[0].isoformat(),
                                         "period_end": period[1].isoformat()})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        report_request(user=auditor, institution=data["institution"],
                       period_start=period[0], period_end=period[1])
    assert ReportRun.objects.count() == 1


def test_other_institution_and_other_roles_cannot_download(client, data, period,
                                                           django_capture_on_commit_callbacks):
    supervisor = staff(data["institution"], Role.SUPERVISOR)
    with django_capture_on_commit_callbacks(execute=True):
        run = report_request(user=supervisor, institution=data["institution"],
                             period_start=period[0], period_end=period[1])
    pdf_url = reverse("console:dashboards-report-download", args=[run.pk, "pdf"])
    other = make_catalog()
    client.force_login(staff(other["institution"], Role.SUPERVISOR))
    assert client.get(pdf_url).status_code == 404
    assert run.title not in client.get(REPORTS_URL).content.decode()
    client.force_login(staff(data["institution"], Role.RESPONDER))
    assert client.get(pdf_url).status_code == 403
    client.logout()
    assert client.get(pdf_url).status_code == 302


def test_service_refuses_a_foreign_area_and_bad_recipients(data, period):
    supervisor = staff(data["institution"], Role.SUPERVISOR)
    foreign = make_catalog()["area"]
    with pytest.raises(ValidationError):
        report_request(user=supervisor, institution=data["institution"],
                       period_start=period[0], period_end=period[1],
                       filters={"area": foreign.pk})
    with pytest.raises(ValidationError):
        report_request(user=supervisor, institution=data["institution"],
                       period_start=period[0], period_end=period[1], recipients="x@")
    assert not ReportRun.objects.exists()


def test_publishing_periods_prefill_the_form(client, data):
    client.force_login(staff(data["institution"], Role.SUPERVISOR))
    year = timezone.localdate().year
    html = client.get(REPORTS_URL).content.decode()
    assert f"?desde={year}-01-01&amp;hasta={year}-02-" in html
    assert f"Reporte de marzo {year} (enero y febrero)" in html
    prefilled = client.get(REPORTS_URL, {"desde": f"{year - 1}-03-01",
                                         "hasta": f"{year - 1}-07-31"}).content.decode()
    assert f'value="{year - 1}-03-01"' in prefilled and f'value="{year - 1}-07-31"' in prefilled
    assert client.get(REPORTS_URL, {"desde": "basura"}).status_code == 200


def test_admin_lists_report_runs_read_only(client, data, period):
    run = report_request(user=staff(data["institution"], Role.SUPERVISOR),
                         institution=data["institution"], period_start=period[0],
                         period_end=period[1], title="Reporte en el admin")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:reports_reportrun_changelist"))
    assert listing.status_code == 200 and "Reporte en el admin" in listing.content.decode()
    assert reverse("admin:reports_reportrun_add") not in listing.content.decode()
    assert client.get(reverse("admin:reports_reportrun_add")).status_code == 403
    detail = client.get(reverse("admin:reports_reportrun_change", args=[run.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
