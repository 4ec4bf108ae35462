"""Bulk import of historical tickets against the physical limit, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_import .venv/bin/python \
        bench/bench_import.py [--rows 20000] [--seed 7] [--batch-size 5000] [--delimiter ';']
    ... --rows 1000000      # the large run

1. Writes a CSV of N historical tickets the way an institution would bring them from its
   previous system (Excel-Chile flavour by default: ``;`` and a UTF-8 BOM): three years with
   the school-year seasonality of ``bench/generate.py``, its channels, types, topics, areas,
   regions/comunas and people (30 % of rows from a repeat requester, RUTs in every format,
   some rows with only a phone), 93 % closed, a final deadline on type 2 rows, and 0.5 % bad
   rows (a wrong RUT check digit, an unknown comuna, a closing date before the reception…)
   as real exports have. Same seed → same file.
2. **Raw COPY** (the physical limit): the same good rows, already in the ticket table's final
   form (ids resolved, folios made), streamed as pre-rendered COPY text into
   ``tickets_ticket`` itself and committed — all its indexes, its unique constraints, its
   deferred foreign-key checks at commit, WAL. That is the fair limit: the import writes to
   that same table. A ``CREATE TEMP TABLE … (LIKE tickets_ticket INCLUDING ALL)`` is also
   timed for reference; it is faster and *not* the yardstick, because a temporary table has
   no WAL, lives in the session's local buffers and has no foreign keys (``LIKE`` does not
   copy them), none of which a real import can skip.
3. **Import**: ``import_tickets`` on the file (checks, citizens found or created, folios,
   the ticket, one timeline event and one interaction each, the rollups of the imported
   days), then the same command again (everything skipped).

Prints one JSON document: rows/s of each and the ratio import ÷ raw COPY (target ≥ 0.25),
the import's time per stage, and cleans up (``--keep`` leaves the data and the CSV).
On SQLite (no ``DATABASE_URL``) the raw path is one ``executemany`` INSERT transaction.
"""

from __future__ import annotations

import argparse
import bisect
import io
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bench.common import emit, environment, progress, setup_django  # noqa: E402

SLUG = "bench-import"
RAW_SLUG = "bench-import-raw"
YEARS = 3
CLOSED_SHARE = 0.93
BAD_SHARE = 0.005
NO_EMAIL_SHARE = 0.15  # phone and counter contacts often leave no e-mail
REPEAT_SHARE = 0.3
CHANNEL_WEIGHTS = {"web": 46, "phone": 18, "email": 13, "in_person": 10, "whatsapp": 6,
                   "paper": 3, "social": 2, "chatbot": 1, "kiosk": 1}
URGENCY_WORDS = ["baja", "media", "media", "media", "alta"]
HEADER = ["referencia", "fecha_ingreso", "canal", "motivo", "tema", "region", "comuna", "nombre",
          "rut", "correo", "telefono", "asunto", "detalle", "estado", "fecha_cierre", "area",
          "urgencia", "plazo", "tipo_usuario", "establecimiento"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--delimiter", default=";", choices=[";", ","])
    parser.add_argument("--keep", action="store_true", help="Leave the data and the CSV.")
    parser.add_argument("--skip-raw", action="store_true", help="Only the import (profiling).")
    return parser.parse_args()


# --- the file --------------------------------------------------------------------------------

def rut_formats(compact: str, rng: random.Random) -> str:
    """What people type: 12.345.678-5, 12345678-5, 123456785, with a lower-case k."""
    body, digit = compact[:-1], compact[-1]
    style = rng.random()
    if style < 0.5:
        return f"{int(body):,}".replace(",", ".") + "-" + digit
    if style < 0.85:
        return f"{body}-{digit.lower() if rng.random() < 0.5 else digit}"
    return compact


def write_csv(path: Path, catalog, args, rng: random.Random) -> dict:
    """Write the file; return what the raw COPY needs (the good rows, resolved)."""
    import csv

    from bench.generate import HOUR_WEIGHTS, MONTH_FACTOR, SUBJECTS, WEEKDAY_FACTOR, People

    from ventanilla.core.models import Comuna

    people = People(args.seed, SLUG)
    zone = __import__("zoneinfo").ZoneInfo("America/Santiago")
    last = date.today() - timedelta(days=30)
    first = last - timedelta(days=365 * YEARS)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    day_weights = [WEEKDAY_FACTOR[d.weekday()] * MONTH_FACTOR[d.month - 1] for d in days]
    day_cum = list(_cumulative(day_weights))
    hour_cum = list(_cumulative(HOUR_WEIGHTS))
    channels = [catalog.channels[c] for c in CHANNEL_WEIGHTS if c in catalog.channels]
    channel_cum = list(_cumulative([CHANNEL_WEIGHTS[c.code] for c in channels]))
    types = catalog.types
    type_cum = list(_cumulative([weight for _t, weight, *_ in types]))
    leaves = catalog.leaves
    leaf_cum = list(_cumulative([1 / (n + 1) for n in range(len(leaves))]))
    comunas = catalog.comunas
    comuna_cum = list(_cumulative(catalog.comuna_weights))
    comuna_names = dict(Comuna.objects.values_list("code", "name"))
    area_names = catalog.area_names
    orgs = catalog.organizations
    requester_names = ["Apoderado", "Estudiante", "Encargado", "Profesor", "Otro"]
    population = max(10, int(args.rows * (1 - REPEAT_SHARE)))

    def pick(cum):
        return bisect.bisect(cum, rng.random() * cum[-1])

    resolved = []  # the good rows, as the raw COPY needs them
    bad = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle, delimiter=args.delimiter)
        out.writerow(HEADER)
        for index in range(args.rows):
            day = days[pick(day_cum)]
            channel = channels[pick(channel_cum)]
            hour = pick(hour_cum)
            if channel.is_assisted:
                hour = min(max(hour, 9), 17)
            received = datetime(day.year, day.month, day.day, hour, rng.randrange(60),
                                rng.randrange(60), tzinfo=zone)
            ticket_type, _weight, targets, _policy = types[pick(type_cum)]
            leaf_id, leaf_name, _words, area_id, program = leaves[pick(leaf_cum)]
            if rng.random() < 0.1:
                area_id = catalog.areas[rng.randrange(len(catalog.areas))]
            person_index = (rng.randrange(population) if rng.random() < REPEAT_SHARE
                            else population + index)
            person = people(person_index)
            code, region, _name = comunas[pick(comuna_cum)]
            org = orgs[rng.randrange(len(orgs))] if rng.random() < 0.3 else None
            if org is not None:
                code, region = org[3], org[2]
            closed = rng.random() < CLOSED_SHARE
            closed_at = received + timedelta(hours=rng.uniform(1, 24 * 25)) if closed else None
            status = "cerrado" if closed else rng.choice(["recibido", "en proceso", "esperando"])
            due = received + timedelta(hours=targets[2]) if targets[2] and \
                ticket_type.workflow == "type2" else None
            email = "" if rng.random() < NO_EMAIL_SHARE else person.email
            rut = rut_formats(person.rut, rng) if person.rut else ""
            subject = rng.choice(SUBJECTS[ticket_type.code]).format(
                topic=leaf_name, comuna=comuna_names[code])[:200]
            detail = (f"{subject}. Escribo desde {comuna_names[code]} porque el problema "
                      f"sigue sin resolverse; caso {index}.")
            row = [
                f"OIRS-{received.year}-{index:07d}",
                (received.strftime("%d-%m-%Y %H:%M") if index % 3 else
                 received.strftime("%Y-%m-%d %H:%M:%S")),
                channel.code if index % 4 else channel.name,
                ticket_type.code,
                leaf_name if index % 10 else f"{program} > {leaf_name}",
                region.lstrip("0") if index % 5 == 0 else region,
                code.lstrip("0") if index % 7 == 0 else code,  # Excel drops leading zeros
                person.name, rut, email, person.phone, subject, detail, status,
                closed_at.strftime("%d-%m-%Y %H:%M") if closed_at else "",
                area_names[area_id], URGENCY_WORDS[index % 5],
                due.strftime("%d-%m-%Y %H:%M") if due else "",
                requester_names[index % 5], org[1] if org else "",
            ]
            if rng.random() < BAD_SHARE:
                bad += 1
                broken = rng.randrange(4)
                if broken == 0 and rut:
                    row[8] = rut[:-1] + ("0" if rut[-1] != "0" else "1")
                elif broken == 1:
                    row[6] = "99999"
                elif broken == 2 and closed_at:
                    row[14] = (received - timedelta(days=2)).strftime("%d-%m-%Y %H:%M")
                else:
                    row[2] = "fax"
                out.writerow(row)
                continue
            out.writerow(row)
            # Minute precision, as the file carries it.
            received = received.replace(second=0) if index % 3 else received
            resolved.append((received, closed_at and closed_at.replace(second=0), channel,
                             ticket_type, leaf_id, area_id, region, code, person, email, rut,
                             subject, detail, status, due and due.replace(second=0), row[0]))
    return {"resolved": resolved, "bad_rows": bad, "bytes": path.stat().st_size}


def _cumulative(weights):
    total = 0.0
    for weight in weights:
        total += weight
        yield total


# --- raw COPY --------------------------------------------------------------------------------

def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    text = str(value)
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def raw_rows(resolved: list, institution, citizen_id: int, prefix: str) -> tuple[list, list]:
    """The good rows in the ticket table's final form (what the import ends up writing)."""
    from ventanilla.imports.services import TICKET_COLUMNS

    status_codes = {"cerrado": "closed", "recibido": "new", "en proceso": "in_progress",
                    "esperando": "waiting_citizen"}
    now = datetime.now(UTC)
    rows = []
    for n, (received, closed_at, channel, ticket_type, leaf_id, area_id, region, comuna,
            person, email, rut, subject, detail, status, due, reference) in enumerate(resolved):
        closed = status == "cerrado"
        values = {
            "institution_id": institution.pk, "folio": f"{prefix}-{received.year}-{n + 1:07d}",
            "public_id": uuid.uuid4(), "channel_id": channel.pk,
            "ticket_type_id": ticket_type.pk, "topic_id": leaf_id, "requester_type_id": None,
            "organization_id": None, "region_id": region, "comuna_id": comuna,
            "urgency": "medium", "subject": subject, "detail": detail, "citizen_id": citizen_id,
            "contact_name": person.name, "contact_email": email, "contact_phone": person.phone,
            "contact_rut": rut.replace(".", "").replace("-", "").upper(), "reply_channel": "",
            "reply_address": "", "area_id": area_id, "status": status_codes[status],
            "priority": "medium", "triage_status": "confirmed",
            "stage": "done" if closed else "final", "root_cause": "", "corrective_action": "",
            "received_at": received, "due_at": due,
            "final_answered_at": closed_at, "next_due_at": None if closed else due,
            "closed_at": closed_at, "updated_at": now,
            "idempotency_key": "import:" + reference,
        }
        rows.append("\t".join(_copy_text(values.get(c)) for c in TICKET_COLUMNS) + "\n")
    return TICKET_COLUMNS, rows


def raw_copy(columns: list, rows: list, *, table: str, temp: bool) -> float:
    """Seconds to COPY the pre-rendered rows and commit."""
    from django.db import connection, transaction

    payload = "".join(rows).encode()
    cols = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if temp:
            cursor.execute(f'CREATE TEMP TABLE {table} (LIKE tickets_ticket INCLUDING ALL)')
        started = time.perf_counter()
        with transaction.atomic(), cursor.cursor.copy(
                f"COPY {table} ({cols}) FROM STDIN") as copy:
            view = memoryview(payload)
            for offset in range(0, len(payload), 1 << 20):
                copy.write(view[offset:offset + (1 << 20)])
        seconds = time.perf_counter() - started
        if temp:
            cursor.execute(f"DROP TABLE {table}")
    return seconds


def raw_insert_sqlite(columns: list, resolved: list, institution, citizen_id: int) -> float:
    from django.db import connection, transaction

    _cols, rendered = raw_rows(resolved, institution, citizen_id, "RAW")
    rows = [[None if v == r"\N" else v for v in line.rstrip("\n").split("\t")]
            for line in rendered]
    marks = ", ".join(["%s"] * len(columns))
    cols = ", ".join(f'"{c}"' for c in columns)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO tickets_ticket ({cols}) VALUES ({marks})", rows)
    return time.perf_counter() - started


# --- clean-up --------------------------------------------------------------------------------

def cleanup() -> None:
    from bench.generate import drop

    from ventanilla.catalog.models import Institution
    from ventanilla.citizens.models import Citizen
    from ventanilla.core.models import AuditEvent
    from ventanilla.imports.models import ImportRun
    from ventanilla.tickets.models import FolioCounter, Ticket

    for slug in (SLUG, RAW_SLUG):
        institution = Institution.objects.filter(slug=slug).first()
        if institution is None:
            continue
        citizen_ids = set(Ticket.objects.filter(institution=institution)
                          .values_list("citizen_id", flat=True).distinct())
        runs = list(ImportRun.objects.filter(institution=institution).values_list("pk",
                                                                                   flat=True))
        AuditEvent.objects.filter(object_type="imports.importrun",
                                  object_id__in=[str(pk) for pk in runs]).delete()
        ImportRun.objects.filter(institution=institution).delete()
        FolioCounter.objects.filter(institution=institution).delete()
        drop(slug)
        # People created by the import without an e-mail of the generated domain.
        leftover = Citizen.objects.filter(pk__in=citizen_ids, tickets__isnull=True)
        for start in range(0, len(citizen_ids), 50_000):
            chunk = list(citizen_ids)[start:start + 50_000]
            leftover.filter(pk__in=chunk).delete()


# --- main ------------------------------------------------------------------------------------

def main() -> None:
    args = parse_args()
    scratch = setup_django()
    from bench.generate import build_catalog
    from django.core.management import call_command
    from django.db import connection

    from ventanilla.catalog.models import Institution
    from ventanilla.citizens.models import Citizen
    from ventanilla.imports.management.commands import import_tickets as command_module
    from ventanilla.imports.services import DEFAULT_BATCH_SIZE

    postgres = connection.vendor == "postgresql"
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    csv_path = workdir / f"historicos-{args.rows}.csv"
    report: dict = {"benchmark": "bulk_import", "environment": environment(),
                    "rows": args.rows, "seed": args.seed, "delimiter": args.delimiter,
                    "batch_size": args.batch_size or DEFAULT_BATCH_SIZE}
    try:
        cleanup()
        catalog = build_catalog(SLUG, "BENCHIMP")
        started = time.perf_counter()
        written = write_csv(csv_path, catalog, args, rng)
        progress(f"csv: {args.rows} rows, {written['bytes'] / 1e6:.1f} MB in "
                 f"{time.perf_counter() - started:.1f} s")
        resolved = written["resolved"]
        good = len(resolved)
        report.update({"file_bytes": written["bytes"], "bad_rows": written["bad_rows"],
                       "good_rows": good})

        if not args.skip_raw:
            raw_institution = Institution.objects.create(
                slug=RAW_SLUG, name="Raw COPY", short_name="RAW", folio_prefix="BENCHRAW")
            holder = Citizen.objects.create(full_name="Raw COPY",
                                            email=f"raw@{SLUG}.example.cl")
            columns, rendered = raw_rows(resolved, raw_institution, holder.pk, "BENCHRAW")
            if postgres:
                seconds = raw_copy(columns, rendered, table="tickets_ticket", temp=False)
                temp_seconds = raw_copy(columns, rendered, table="bench_import_raw", temp=True)
                report["raw_copy"] = {
                    "target": "tickets_ticket (committed, all indexes and FK checks)",
                    "seconds": round(seconds, 2), "rows_per_s": round(good / seconds)}
                report["raw_copy_temp_like_table"] = {
                    "target": "TEMP TABLE (LIKE tickets_ticket INCLUDING ALL): reference only",
                    "seconds": round(temp_seconds, 2),
                    "rows_per_s": round(good / temp_seconds)}
            else:
                seconds = raw_insert_sqlite(columns, resolved, raw_institution, holder.pk)
                report["raw_copy"] = {"target": "tickets_ticket, one executemany INSERT",
                                      "seconds": round(seconds, 2),
                                      "rows_per_s": round(good / seconds)}
            from bench.generate import drop

            drop(RAW_SLUG)  # in SQL: the ORM's collector would load every ticket first
            holder.delete()
            progress(f"raw: {report['raw_copy']['rows_per_s']} rows/s")
            if postgres:
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE tickets_ticket")

        results = []
        original = command_module.tickets_import

        def keep_result(**kwargs):
            result = original(**kwargs)
            results.append(result)
            return result

        command_module.tickets_import = keep_result
        options = {"institution": SLUG, "errors": str(workdir / "rechazadas.csv"),
                   "verbosity": 0, "stdout": io.StringIO()}
        if args.batch_size:
            options["batch_size"] = args.batch_size
        try:
            started = time.perf_counter()
            call_command("import_tickets", str(csv_path), **options)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            call_command("import_tickets", str(csv_path), **options)
            rerun_seconds = time.perf_counter() - started
        finally:
            command_module.tickets_import = original
        first, again = results
        report["import"] = {
            "seconds": round(seconds, 2), "rows_per_s": round(first.imported / seconds),
            "file_rows_per_s": round(first.rows_read / seconds),
            "imported": first.imported, "rejected": first.rejected,
            "citizens_created": first.citizens_created,
            "stage_seconds": {k: round(v, 2) for k, v in first.timings.items()},
        }
        report["rerun"] = {"seconds": round(rerun_seconds, 2), "imported": again.imported,
                           "skipped": again.skipped,
                           "rows_per_s": round(again.rows_read / rerun_seconds)}
        # The rollup rebuild (``reports.services.rollup_rebuild``) costs per rollup row, and
        # with comuna among its dimensions that is nearly one row per imported ticket: shown
        # apart, so the import's own path and the rebuild can each be judged.
        rollup_seconds = first.timings.get("rollups", 0.0)
        report["import"]["rows_per_s_without_rollup_rebuild"] = round(
            first.imported / max(seconds - rollup_seconds, 1e-9))
        if "raw_copy" in report:
            raw_rate = report["raw_copy"]["rows_per_s"]
            report["ratio_import_to_raw_copy"] = round(report["import"]["rows_per_s"]
                                                       / raw_rate, 3)
            report["ratio_import_without_rollup_rebuild_to_raw_copy"] = round(
                report["import"]["rows_per_s_without_rollup_rebuild"] / raw_rate, 3)
            report["target_ratio"] = 0.25
        emit(report)
    finally:
        if not args.keep:
            cleanup()
            for file in workdir.iterdir():
                file.unlink()
            workdir.rmdir()
        else:
            progress(f"kept: {csv_path}")
        if scratch:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ventanilla.settings")
    main()
