"""Bulk import of historical tickets: a good file end to end, the Excel-Chile flavour, every
row-level message, idempotent re-runs, dry runs, a batch that fails half-way, and files that
are not CSV at all. Runs on SQLite and PostgreSQL (the COPY path)."""

from __future__ import annotations

import csv
from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.urls import reverse

from tests.factories import CitizenFactory, MembershipFactory, UserFactory, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.models import ChannelIdentity, Citizen
from ventanilla.core.models import AuditEvent
from ventanilla.imports import services
from ventanilla.imports.models import ImportRun, ImportStatus
from ventanilla.imports.services import ImportStopped, tickets_import
from ventanilla.imports.validation import ImportFileError
from ventanilla.notifications.models import OutboundMessage
from ventanilla.reports.models import InteractionDailyStat, TicketDailyStat
from ventanilla.sla.models import SlaAlert
from ventanilla.sla.services import sla_sweep
from ventanilla.tickets.models import (
    EventKind,
    FolioCounter,
    Interaction,
    ResponseStage,
    Status,
    Ticket,
    TicketEvent,
    TriageStatus,
)

SANTIAGO = ZoneInfo("America/Santiago")
HEADER = ["referencia", "fecha_ingreso", "canal", "motivo", "tema", "region", "comuna",
          "nombre", "rut", "correo", "telefono", "asunto", "detalle", "estado", "fecha_cierre",
          "area", "urgencia", "plazo"]


def row(reference: str, **values) -> dict:
    base = {
        "referencia": reference, "fecha_ingreso": "15-03-2023 10:30", "canal": "web",
        "motivo": "reclamo", "tema": "PAE Básica-Media", "region": "13", "comuna": "13101",
        "nombre": "Juana Soto", "rut": "", "correo": "", "telefono": "",
        "asunto": "No llegó la colación", "detalle": "El lunes no llegó el almuerzo.",
        "estado": "cerrado", "fecha_cierre": "20-03-2023 16:00", "area": "", "urgencia": "",
        "plazo": "",
    }
    base.update(values)
    return base


def write_csv(path, rows: list[dict], *, delimiter: str = ",", bom: bool = False,
              header: list[str] | None = None):
    header = header or HEADER
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter=delimiter)
        out.writerow(header)
        for values in rows:
            out.writerow([values.get(name, "") for name in header])
    return path


def run(catalog, path, **kwargs):
    return tickets_import(institution=catalog["institution"], path=path, **kwargs)


def test_good_file_end_to_end(db, catalog, tmp_path, client):
    # An existing person (known by RUT) and one known by e-mail, to be found, not duplicated.
    known = CitizenFactory(rut="123456785", full_name="", email="otra@example.cl")
    ChannelIdentity.objects.create(citizen=known, kind="email", value="otra@example.cl")
    rows = [
        row("A-1", rut="12.345.678-5", nombre="Ana Pérez"),  # known by RUT, name filled
        row("A-2", correo="Pedro@Example.cl", nombre="Pedro Rojas", telefono="+56 9 8765 4321",
            fecha_ingreso="2023-06-01T09:00:00-04:00", fecha_cierre="2023-06-02 12:00"),
        row("A-3", correo="pedro@example.cl", nombre="Pedro Rojas", estado="",
            fecha_cierre=""),  # same person as A-2 (e-mail), open
        row("A-4", telefono="987654321", nombre="P. Rojas", motivo="sugerencia",
            fecha_ingreso="01-12-2024 08:15", fecha_cierre="01-12-2024 08:15"),  # phone of A-2
        row("A-5", estado="en proceso", fecha_cierre="", area="Área PAE",
            plazo="2023-03-29 18:00", comuna="13101", region=""),
    ]
    path = write_csv(tmp_path / "historicos.csv", rows)

    result = run(catalog, path, batch_size=2)

    assert (result.imported, result.rejected, result.skipped) == (5, 0, 0)
    assert result.status == ImportStatus.DONE
    tickets = {t.idempotency_key: t for t in Ticket.objects.filter(
        institution=catalog["institution"])}
    assert set(tickets) == {f"import:A-{n}" for n in range(1, 6)}
    prefix = catalog["institution"].folio_prefix
    # Our folios, by year of reception in Chile, from the institution's counters.
    assert sorted(t.folio for t in tickets.values()) == [
        f"{prefix}-2023-000001", f"{prefix}-2023-000002", f"{prefix}-2023-000003",
        f"{prefix}-2023-000004", f"{prefix}-2024-000001"]
    assert FolioCounter.objects.get(institution=catalog["institution"], year=2023).last_value == 4

    first = tickets["import:A-1"]
    assert first.citizen_id == known.pk
    known.refresh_from_db()
    assert known.full_name == "Ana Pérez"  # a blank filled, nothing overwritten
    assert known.email == "otra@example.cl"
    assert first.received_at == datetime(2023, 3, 15, 10, 30, tzinfo=SANTIAGO)
    assert first.status == Status.CLOSED and first.stage == ResponseStage.DONE
    assert first.closed_at == datetime(2023, 3, 20, 16, 0, tzinfo=SANTIAGO)
    assert first.area == catalog["area"]  # the topic's area
    assert first.triage_status == TriageStatus.CONFIRMED
    assert first.contact_rut == "123456785"

    pedro = {tickets[f"import:A-{n}"].citizen_id for n in (2, 3, 4)}
    assert len(pedro) == 1  # e-mail, then the same phone: one person
    assert Citizen.objects.filter(pk__in=pedro, email="pedro@example.cl").exists()
    assert ChannelIdentity.objects.filter(kind="phone", value="56987654321",
                                          citizen_id__in=pedro).exists()
    assert tickets["import:A-3"].status == Status.NEW
    assert tickets["import:A-3"].triage_status == TriageStatus.PENDING  # nobody routed it
    assert tickets["import:A-4"].triage_status == TriageStatus.NOT_REQUIRED
    open_one = tickets["import:A-5"]
    assert open_one.due_at == open_one.next_due_at == datetime(2023, 3, 29, 18, 0,
                                                               tzinfo=SANTIAGO)
    assert open_one.triage_status == TriageStatus.CONFIRMED

    # One timeline event each, internal, at the original date, saying it was imported.
    events = TicketEvent.objects.filter(ticket__in=tickets.values())
    assert events.count() == 5
    event = events.get(ticket=first)
    assert event.kind == EventKind.CREATED and not event.is_public
    assert event.created_at == first.received_at
    assert "A-1" in event.body and "15-03-2023 10:30" in event.body
    assert event.data["imported"] is True and event.data["reference"] == "A-1"
    assert event.data["import_run"] == result.run.pk
    assert Interaction.objects.filter(ticket__in=tickets.values()).count() == 5

    # Nobody is told anything; old closed tickets raise no deadline alert.
    assert not OutboundMessage.objects.exists()
    sla_sweep(institution=catalog["institution"])
    assert not SlaAlert.objects.filter(ticket=first).exists()
    assert not OutboundMessage.objects.filter(ticket=first).exists()

    # Dashboards: the imported days are in the rollups.
    received = TicketDailyStat.objects.filter(institution=catalog["institution"])
    assert received.aggregate(total=Sum("received"))["total"] == 5
    assert received.filter(day="2023-03-15").aggregate(n=Sum("received"))["n"] == 3
    assert InteractionDailyStat.objects.filter(
        institution=catalog["institution"]).aggregate(n=Sum("count"))["n"] == 5

    run_row = ImportRun.objects.get()
    assert (run_row.imported, run_row.rejected, run_row.skipped) == (5, 0, 0)
    assert run_row.status == ImportStatus.DONE and len(run_row.file_sha256) == 64
    assert run_row.file_name == "historicos.csv" and run_row.duration_seconds is not None
    assert AuditEvent.objects.filter(action="tickets.imported",
                                     object_id=str(run_row.pk)).exists()

    # A live intake afterwards takes the next folio of the year, never one of the import's.
    live = open_ticket(catalog)
    assert live.folio.startswith(f"{prefix}-{live.received_at.year}-")
    assert live.folio not in {t.folio for t in tickets.values()}

    # The staff page of an imported ticket opens, with its timeline.
    user = UserFactory()
    MembershipFactory(user=user, institution=catalog["institution"], role=Role.SUPERVISOR)
    client.force_login(user)
    page = client.get(reverse("console:ticket", args=[first.folio]))
    assert page.status_code == 200
    assert "A-1" in page.content.decode()


def test_excel_chile_file_semicolons_bom_and_loose_codes(db, catalog, tmp_path):
    """What Excel in Chile saves: ';', a BOM, codes without their leading zero, headers in
    capitals with accents, names instead of codes, a trailing empty column."""
    header = ["Referencia", "Fecha ingreso", "Canal", "Motivo", "Tema", "Región", "Comuna",
              "Nombre", "RUT", "Correo electrónico", "Teléfono", "Asunto", "Detalle", "Estado",
              "Fecha cierre", ""]
    rows = [{"Referencia": "X;1", "Fecha ingreso": "02/01/2022 9:05", "Canal": "Teléfono",
             "Motivo": "Reclamo", "Tema": "pae básica-media", "Región": "5", "Comuna": "5101",
             "Nombre": "José Núñez", "RUT": "12345678-5", "Correo electrónico": "",
             "Teléfono": "", "Asunto": "Asunto; con punto y coma", "Detalle": "Línea 1\nLínea 2",
             "Estado": "Cerrado", "Fecha cierre": "03/01/2022 10:00"}]
    path = write_csv(tmp_path / "excel.csv", rows, delimiter=";", bom=True, header=header)

    result = run(catalog, path)

    assert (result.imported, result.rejected) == (1, 0), result.errors_sample
    ticket = Ticket.objects.get(idempotency_key="import:X;1")
    assert ticket.channel.code == "phone"
    assert (ticket.region_id, ticket.comuna_id) == ("05", "05101")
    assert ticket.detail == "Línea 1\nLínea 2"
    assert ticket.subject == "Asunto; con punto y coma"
    assert ticket.received_at == datetime(2022, 1, 2, 9, 5, tzinfo=SANTIAGO)


BAD_ROWS = [
    ({"rut": "12.345.678-9"}, "rut", "dígito verificador"),
    ({"comuna": "99999"}, "comuna", "No existe la comuna «99999»"),
    ({"region": "05"}, "comuna", "no pertenece a la región"),
    ({"fecha_cierre": "01-03-2023 10:00"}, "fecha_cierre", "anterior a la de ingreso"),
    ({"canal": "fax"}, "canal", "No existe el canal «fax»"),
    ({"motivo": "queja"}, "motivo", "No existe el motivo «queja»"),
    ({"tema": "Becas"}, "tema", "No existe el tema «Becas»"),
    ({"area": "Finanzas"}, "area", "No existe el área «Finanzas»"),
    ({"fecha_ingreso": "ayer"}, "fecha_ingreso", "no se entiende"),
    ({"fecha_ingreso": "15-03-2099 10:00", "fecha_cierre": ""}, "fecha_ingreso",
     "fuera de rango"),
    ({"fecha_cierre": ""}, "fecha_cierre", "necesita su fecha de cierre"),
    ({"estado": "en proceso"}, "fecha_cierre", "no puede tener fecha de cierre"),
    ({"estado": "archivado"}, "estado", "El estado «archivado» no existe"),
    ({"urgencia": "urgente"}, "urgencia", "La urgencia «urgente» no existe"),
    ({"correo": "juana@"}, "correo", "no es válido"),
    ({"telefono": "sin teléfono"}, "telefono", "no es válido"),
    ({"asunto": ""}, "asunto", "Falta el valor de «asunto»"),
    ({"asunto": "x" * 201}, "asunto", "más de 200 caracteres"),
    ({"referencia": "R" * 61}, "referencia", "más de 60 caracteres"),
    ({"plazo": "01-01-2023 00:00"}, "plazo", "anterior a la fecha de ingreso"),
]


@pytest.mark.parametrize(("values", "column", "message"), BAD_ROWS)
def test_bad_row_is_rejected_with_line_and_column(db, catalog, tmp_path, values, column,
                                                  message):
    path = write_csv(tmp_path / "malo.csv", [row("OK-1"), row("BAD-1", **values), row("OK-2")])
    errors_path = tmp_path / "rechazadas.csv"

    result = run(catalog, path, errors_path=errors_path)

    assert (result.imported, result.rejected) == (2, 1)
    assert result.status == ImportStatus.DONE_WITH_ERRORS
    assert not Ticket.objects.filter(idempotency_key__startswith="import:BAD").exists()
    with open(errors_path, encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["linea", "columna", "valor", "mensaje", "referencia"]
    problems = [line for line in lines[1:] if line[1] == column]
    assert problems, lines
    assert problems[0][0] == "3"  # the header is line 1
    assert message in problems[0][3]


def test_duplicate_reference_and_wrong_width_rows(db, catalog, tmp_path):
    path = tmp_path / "dup.csv"
    write_csv(path, [row("D-1"), row("D-1", asunto="otra vez")])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("D-3,15-03-2023 10:30,web,reclamo,PAE Básica-Media,13,13101,Ana,,,,"
                     "asunto,detalle,cerrado,20-03-2023 16:00,,,,extra,más\n")
    result = run(catalog, path)
    assert (result.imported, result.rejected) == (1, 2)
    messages = [error.message for error in result.errors_sample]
    assert any("ya aparece en la línea 2" in m for m in messages)
    assert any("La fila tiene 20 columnas y el encabezado 18" in m for m in messages)


def test_rerun_imports_nothing_twice(db, catalog, tmp_path):
    path = write_csv(tmp_path / "h.csv", [row(f"R-{n}", correo=f"p{n}@example.cl")
                                          for n in range(7)])
    first = run(catalog, path, batch_size=3)
    counts = (Ticket.objects.count(), TicketEvent.objects.count(), Citizen.objects.count(),
              Interaction.objects.count(), FolioCounter.objects.get().last_value)

    again = run(catalog, path, batch_size=3)

    assert (first.imported, again.imported, again.skipped) == (7, 0, 7)
    assert (Ticket.objects.count(), TicketEvent.objects.count(), Citizen.objects.count(),
            Interaction.objects.count(), FolioCounter.objects.get().last_value) == counts
    assert ImportRun.objects.count() == 2


def test_dry_run_stores_nothing(db, catalog, tmp_path):
    path = write_csv(tmp_path / "h.csv", [row("S-1"), row("S-2", rut="1-1")])
    out = StringIO()
    call_command("import_tickets", str(path), institution=catalog["institution"].slug,
                 dry_run=True, stdout=out)
    assert "1 se importarían" in out.getvalue() and "1 rechazadas" in out.getvalue()
    assert not Ticket.objects.exists()
    assert not Citizen.objects.exists()
    assert not ImportRun.objects.exists()
    assert not FolioCounter.objects.exists()


def test_failure_mid_way_rolls_back_the_batch(db, catalog, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "h.csv", [row(f"F-{n}", correo=f"f{n}@example.cl")
                                          for n in range(4)])
    original = services._TableWriter.insert
    calls = {"interactions": 0}

    def failing_insert(self, model, columns, rows, **kwargs):
        if model is Interaction:
            calls["interactions"] += 1
            if calls["interactions"] == 2:
                raise RuntimeError("disk full")
        return original(self, model, columns, rows, **kwargs)

    monkeypatch.setattr(services._TableWriter, "insert", failing_insert)
    with pytest.raises(ImportStopped) as stopped:
        run(catalog, path, batch_size=2)

    # The first batch is in, whole; nothing of the second (tickets, events, people).
    assert set(Ticket.objects.values_list("idempotency_key", flat=True)) == {
        "import:F-0", "import:F-1"}
    assert TicketEvent.objects.count() == Interaction.objects.count() == 2
    assert not Citizen.objects.filter(email__in=["f2@example.cl", "f3@example.cl"]).exists()
    assert "disk full" in str(stopped.value)
    run_row = ImportRun.objects.get()
    assert run_row.status == ImportStatus.FAILED and run_row.imported == 2
    assert TicketDailyStat.objects.aggregate(n=Sum("received"))["n"] == 2

    monkeypatch.setattr(services._TableWriter, "insert", original)
    again = run(catalog, path, batch_size=2)  # continues where it stopped
    assert (again.imported, again.skipped) == (2, 2)
    assert Ticket.objects.count() == 4


def test_files_that_are_not_a_csv_get_a_clear_message(db, catalog, tmp_path):
    slug = catalog["institution"].slug
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(",".join(HEADER).encode() + b"\nA,15-03-2023,web,reclamo,Tema,13,"
                       b"13101,Jos\xe9,,,,a,b,cerrado,20-03-2023,,,\n")
    xlsx = tmp_path / "planilla.csv"
    xlsx.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    binary = tmp_path / "binario.csv"
    binary.write_bytes(b"referencia\x00\x01\x02" * 100)
    empty = tmp_path / "vacio.csv"
    empty.write_bytes(b"")
    for path, message in ((latin1, "no está en UTF-8 (primer carácter inválido en la línea 2"),
                          (xlsx, "planilla de Excel"), (binary, "bytes nulos"),
                          (empty, "vacío")):
        with pytest.raises(CommandError, match=message.replace("(", r"\(")):
            call_command("import_tickets", str(path), institution=slug, stdout=StringIO())
    with pytest.raises(ImportFileError, match="El archivo pesa"):
        run(catalog, write_csv(tmp_path / "grande.csv", [row("G-1")]), max_bytes=100)
    assert not Ticket.objects.exists()


def test_header_problems_stop_before_anything(db, catalog, tmp_path):
    path = write_csv(tmp_path / "h.csv", [row("H-1")],
                     header=[c for c in HEADER if c != "tema"] + ["observaciones"])
    with pytest.raises(ImportFileError) as error:
        run(catalog, path)
    assert "«observaciones»" in str(error.value)
    path = write_csv(tmp_path / "h2.csv", [row("H-1")], header=[c for c in HEADER if c != "tema"])
    with pytest.raises(ImportFileError, match="Faltan columnas obligatorias: tema"):
        run(catalog, path)
    assert not Ticket.objects.exists()
    assert ImportRun.objects.filter(status=ImportStatus.FAILED).count() == 2


def test_unclosed_quote_stops_with_the_line(db, catalog, tmp_path):
    path = write_csv(tmp_path / "q.csv", [row("Q-1")])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('Q-2,15-03-2023 10:30,web,reclamo,"PAE Básica-Media' + "x" * 200_000 + "\n")
    with pytest.raises((ImportFileError, ImportStopped), match="Línea 3"):
        run(catalog, path, batch_size=1)
    assert Ticket.objects.filter(idempotency_key="import:Q-1").exists()  # its batch is whole


def test_command_summary_and_unknown_institution(db, catalog, tmp_path):
    path = write_csv(tmp_path / "h.csv", [row("C-1"), row("C-2", canal="fax")])
    out = StringIO()
    call_command("import_tickets", str(path), institution=catalog["institution"].slug,
                 errors=str(tmp_path / "e.csv"), stdout=out)
    text = out.getvalue()
    assert "1 importadas, 1 rechazadas" in text
    assert "línea 3, columna «canal»" in text
    with pytest.raises(CommandError, match="No existe la institución"):
        call_command("import_tickets", str(path), institution="nadie", stdout=StringIO())


def test_command_help_documents_the_format():
    out = StringIO()
    from ventanilla.imports.management.commands.import_tickets import Command

    parser = Command().create_parser("ventanilla", "import_tickets")
    parser.print_help(out)
    for column in ("referencia", "fecha_ingreso", "canal", "motivo", "tema", "fecha_cierre"):
        assert column in out.getvalue()
