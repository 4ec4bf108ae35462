"""Bulk import of historical tickets: ``tickets_import`` (the ``import_tickets`` command).

How a file goes in:

1. ``validation.file_check`` reads the whole file once (SHA-256, UTF-8, not binary, size),
   so an encoding problem stops the import before anything is stored.
2. Rows are read and checked one by one against in-memory dictionaries of the catalog
   (``ImportCatalog``); a bad row is written to the errors file with its line and column,
   good rows go into batches of ``batch_size``.
3. Each batch is stored in its own transaction: citizens found or created in bulk (three
   queries for the whole batch), then the tickets, one timeline event each, and one
   interaction each — on PostgreSQL by COPY straight into the tables with ids taken from
   the sequences beforehand; on SQLite by ``bulk_create``. A failure rolls the batch back
   whole: never a ticket without its event or person. Earlier batches stay (whole), and
   running the same file again continues where it stopped.
4. At the end the dashboard rollups of the imported days are rebuilt.

Decisions:

- **Folio**: every imported ticket gets one of our folios (``PREFIX-YYYY-NNNNNN``, the year
  of reception in Chile, numbers reserved in one locked update per batch and year from the
  same ``FolioCounter`` the intake uses, so live intake never collides with an import).
  The folio of the previous system is kept as the *reference*: in the timeline event and as
  ``Ticket.idempotency_key = "import:<reference>"``, whose unique (institution, key) index
  makes a re-run import nothing twice. Theirs is not reused as ours because folios are
  unique across the installation, carry the institution's prefix, are what people track
  with, and may never be reused — a foreign numbering guarantees none of that.
- **No side effects**: no acknowledgement, no survey, no outbox row: these people were
  answered years ago by the old system. No SLA policy is applied (deadlines recomputed
  today would flag every old ticket); the file may give the final deadline (``plazo``),
  which then counts in compliance like any deadline. Closed tickets never reach the sweep
  (it reads open tickets only).
- **Concurrency**: one import per institution at a time (a PostgreSQL advisory lock held
  for the run), so the "already imported?" check of a batch stays true until it commits.
"""

from __future__ import annotations

import csv
import getpass
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog.models import Institution
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.imports.models import ImportRun, ImportStatus
from ventanilla.imports.validation import (
    DEFAULT_MAX_FILE_BYTES,
    ImportCatalog,
    ImportFileError,
    ImportRow,
    RowChecker,
    RowError,
    chile_zone,
    file_check,
    read_rows,
)
from ventanilla.tickets.models import (
    EventKind,
    FolioCounter,
    Interaction,
    InteractionKind,
    ResponseStage,
    Status,
    Ticket,
    TicketEvent,
    TriageStatus,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5000
REFERENCE_PREFIX = "import:"
# pg_advisory_lock(namespace, institution id): one import per institution at a time.
LOCK_NAMESPACE = 70_007
BATCH_ATTEMPTS = 3  # a batch that met a concurrent writer (a new RUT) is tried again
ERROR_SAMPLE = 20


class ImportStopped(Exception):
    """The import stopped before the end of the file; batches committed before stay."""

    def __init__(self, message: str, result: ImportResult):
        super().__init__(message)
        self.result = result


@dataclass
class ImportResult:
    run: ImportRun | None
    dry_run: bool
    rows_read: int = 0
    imported: int = 0
    rejected: int = 0
    skipped: int = 0
    citizens_created: int = 0
    status: str = ImportStatus.RUNNING
    seconds: float = 0.0
    errors_by_column: Counter = field(default_factory=Counter)
    errors_sample: list[RowError] = field(default_factory=list)
    first_received_at: datetime | None = None
    last_received_at: datetime | None = None
    rollup: object | None = None
    error_message: str = ""
    timings: Counter = field(default_factory=Counter)

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0


def reference_key(reference: str) -> str:
    return REFERENCE_PREFIX + reference


# --- folios ----------------------------------------------------------------------------------

def folio_reserve(*, institution: Institution, year: int, count: int) -> int:
    """Reserve ``count`` consecutive folio numbers of the institution's ``year`` and return
    the first. One UPDATE (or the first INSERT of the year) in its own short transaction,
    like ``tickets.services.intake.folio_allocate``: the counter row is locked only for that
    statement, so live intake waits microseconds, not for the whole batch; a batch that
    rolls back leaves a gap, never a duplicate."""
    with transaction.atomic():
        updated = FolioCounter.objects.filter(institution=institution, year=year).update(
            last_value=F("last_value") + count)
        if not updated:
            try:
                with transaction.atomic():
                    FolioCounter.objects.create(institution=institution, year=year,
                                                last_value=count)
            except IntegrityError:  # a live intake created this year's counter first
                FolioCounter.objects.filter(institution=institution, year=year).update(
                    last_value=F("last_value") + count)
        last = FolioCounter.objects.get(institution=institution, year=year).last_value
    return last - count + 1


# --- writing rows ----------------------------------------------------------------------------

class _TableWriter:
    """Inserts prepared value tuples into a model's table: COPY on PostgreSQL (ids taken
    from the table's sequence first, when the caller needs them), ``bulk_create`` elsewhere."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self._sequences: dict[str, str] = {}

    def json(self, value: dict):
        return json.dumps(value, ensure_ascii=False) if self.postgres else value

    def _next_ids(self, model, count: int) -> list[int]:
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if table not in self._sequences:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                self._sequences[table] = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)",
                           [self._sequences[table], count])
            return [row[0] for row in cursor.fetchall()]

    def insert(self, model, columns: list[str], rows: list[tuple], *,
               with_ids: bool = False) -> list[int] | None:
        if not rows:
            return [] if with_ids else None
        if not self.postgres:
            objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
            model.objects.bulk_create(objs, batch_size=500)
            return [obj.pk for obj in objs] if with_ids else None
        ids = None
        if with_ids:
            ids = self._next_ids(model, len(rows))
            columns = ["id", *columns]
            rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        quote = connection.ops.quote_name
        statement = (f"COPY {quote(model._meta.db_table)} "
                     f"({', '.join(quote(c) for c in columns)}) FROM STDIN")
        with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        return ids


TICKET_COLUMNS = [
    "institution_id", "folio", "public_id", "channel_id", "ticket_type_id", "topic_id",
    "requester_type_id", "organization_id", "region_id", "comuna_id", "urgency", "subject",
    "detail", "citizen_id", "contact_name", "contact_email", "contact_phone", "contact_rut",
    "reply_channel", "reply_address", "area_id", "assignee_id", "status", "priority",
    "triage_status", "triage_confirmed_at", "triage_confirmed_by_id", "stage",
    "merged_into_id", "root_cause", "corrective_action", "received_at", "sla_policy_id",
    "ack_due_at", "plan_due_at", "due_at", "acknowledged_at", "plan_answered_at",
    "final_answered_at", "first_answered_at", "next_due_at", "at_risk_at", "paused_at",
    "closed_at", "updated_at", "created_by_id", "filed_by_id", "idempotency_key",
]
EVENT_COLUMNS = ["ticket_id", "kind", "created_at", "actor_id", "is_public", "body",
                 "from_status", "to_status", "data"]
INTERACTION_COLUMNS = ["institution_id", "channel_id", "kind", "occurred_at",
                       "is_self_service", "citizen_id", "ticket_id", "data"]
CITIZEN_COLUMNS = ["rut", "full_name", "email", "phone", "user_id", "merged_into_id",
                   "anonymised_at", "created_at", "updated_at"]


def _check_columns() -> None:
    """The COPY column lists must cover every column of the tables (COPY applies no
    Django defaults): a new field on Ticket fails here, loudly, not as a NULL error."""
    for model, columns in ((Ticket, TICKET_COLUMNS), (TicketEvent, EVENT_COLUMNS),
                           (Interaction, INTERACTION_COLUMNS), (Citizen, CITIZEN_COLUMNS)):
        fields = {f.attname for f in model._meta.concrete_fields if not f.primary_key}
        if fields != set(columns):
            raise RuntimeError(f"imports: {model.__name__} columns changed: "
                               f"{sorted(fields ^ set(columns))}")


# --- one batch -------------------------------------------------------------------------------

@dataclass
class _Context:
    institution: Institution
    run: ImportRun | None
    file_name: str
    now: datetime
    writer: _TableWriter
    result: ImportResult


def _values_in(sql: str, params: list) -> list[tuple]:
    """Run a lookup whose last parameter is a list: ``= ANY(%s)`` with one array on
    PostgreSQL (Django's ``__in`` adapts thousands of values one by one), ``IN (…)``
    elsewhere."""
    *head, values = params
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql.replace("IN_LIST", "= ANY(%s)"), [*head, list(values)])
        else:
            marks = ", ".join(["%s"] * len(values))
            cursor.execute(sql.replace("IN_LIST", f"IN ({marks})"), [*head, *values])
        return cursor.fetchall()


def _already_imported(institution: Institution, rows: list[ImportRow]) -> set[str]:
    keys = [reference_key(row.reference) for row in rows]
    found = _values_in(
        f"SELECT idempotency_key FROM {Ticket._meta.db_table} "  # noqa: S608 (names)
        "WHERE institution_id = %s AND idempotency_key IN_LIST", [institution.pk, keys])
    return {key for (key,) in found}


def _citizens_resolve(rows: list[ImportRow], ctx: _Context) -> int:
    """Set ``row.citizen_id`` for every row, the way ``citizens.services.citizen_resolve``
    would one by one (RUT, then e-mail, then phone; typed data only fills blanks; an
    identity owned by someone else stays theirs), with three lookups for the whole batch.
    People new to the platform who appear several times in the batch are created once.
    Returns the number of citizens created."""
    ruts = {row.rut for row in rows if row.rut}
    emails = {row.email for row in rows if row.email}
    phones = {row.phone_key for row in rows if row.phone_key}
    citizens, identities_table = Citizen._meta.db_table, ChannelIdentity._meta.db_table
    by_rut = dict(_values_in(f"SELECT rut, id FROM {citizens} WHERE rut IN_LIST",  # noqa: S608
                             [sorted(ruts)])) if ruts else {}
    identity_sql = (f"SELECT value, citizen_id FROM {identities_table} "  # noqa: S608
                    "WHERE kind = %s AND value IN_LIST")
    by_email = dict(_values_in(identity_sql, [IdentityKind.EMAIL.value, sorted(emails)])
                    ) if emails else {}
    by_phone = dict(_values_in(identity_sql, [IdentityKind.PHONE.value, sorted(phones)])
                    ) if phones else {}

    new_people: list[dict] = []  # citizens to create, as field dicts
    new_by = {"rut": {}, "email": {}, "phone": {}}
    fills: dict[int, dict] = {}  # existing citizen id → blanks the file may fill
    row_person: list[tuple[int | None, int | None]] = []  # (existing id, new index)
    taken_ruts = set(by_rut)

    for row in rows:
        existing = by_rut.get(row.rut) if row.rut else None
        if existing is None and row.email:
            existing = by_email.get(row.email)
        if existing is None and row.phone_key:
            existing = by_phone.get(row.phone_key)
        if existing is not None:
            wanted = fills.setdefault(existing, {})
            for name, value in (("full_name", row.full_name), ("email", row.email),
                                ("phone", row.phone), ("rut", row.rut)):
                if value and name not in wanted:
                    wanted[name] = value
            row_person.append((existing, None))
            continue
        index = new_by["rut"].get(row.rut) if row.rut else None
        if index is None and row.email:
            index = new_by["email"].get(row.email)
        if index is None and row.phone_key:
            index = new_by["phone"].get(row.phone_key)
        if index is None:
            index = len(new_people)
            new_people.append({"rut": None, "full_name": row.full_name, "email": row.email,
                               "phone": row.phone})
        person = new_people[index]
        for name, value in (("full_name", row.full_name), ("email", row.email),
                            ("phone", row.phone)):
            if value and not person[name]:
                person[name] = value
        if row.rut and not person["rut"] and row.rut not in taken_ruts:
            person["rut"] = row.rut
            taken_ruts.add(row.rut)
            new_by["rut"][row.rut] = index
        if row.email and row.email not in by_email:
            new_by["email"].setdefault(row.email, index)
        if row.phone_key and row.phone_key not in by_phone:
            new_by["phone"].setdefault(row.phone_key, index)
        row_person.append((None, index))

    now = ctx.now
    new_ids = ctx.writer.insert(Citizen, CITIZEN_COLUMNS, [
        (p["rut"], p["full_name"][:200], p["email"], p["phone"][:30], None, None, None, now,
         now)
        for p in new_people], with_ids=True)
    for row, (existing, index) in zip(rows, row_person, strict=True):
        row.citizen_id = existing if existing is not None else new_ids[index]

    if fills:
        _citizens_fill_blanks(fills, taken_ruts)

    identities: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.email and row.email not in by_email:
            identities.setdefault((IdentityKind.EMAIL, row.email), row.citizen_id)
        if row.phone_key and row.phone_key not in by_phone:
            identities.setdefault((IdentityKind.PHONE, row.phone_key), row.citizen_id)
    _identities_insert(identities, ctx.now)
    return len(new_people)


def _identities_insert(identities: dict[tuple[str, str], int], now: datetime) -> None:
    """New e-mail and phone identities; one that live intake created meanwhile stays with
    its owner (ON CONFLICT DO NOTHING), as in ``citizens.services.citizen_resolve``."""
    if not identities:
        return
    if connection.vendor != "postgresql":
        ChannelIdentity.objects.bulk_create(
            [ChannelIdentity(kind=kind, value=value, citizen_id=citizen_id)
             for (kind, value), citizen_id in identities.items()],
            batch_size=500, ignore_conflicts=True)
        return
    kinds, values, citizen_ids = [], [], []
    for (kind, value), citizen_id in identities.items():
        kinds.append(str(kind))
        values.append(value)
        citizen_ids.append(citizen_id)
    # One statement over three arrays: the ORM would build and adapt each row in Python.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ChannelIdentity._meta.db_table} (kind, value, citizen_id, "  # noqa: S608
            "created_at) SELECT kind, value, citizen_id, %s FROM unnest(%s::varchar[], "
            "%s::varchar[], %s::bigint[]) AS new(kind, value, citizen_id) "
            "ON CONFLICT (kind, value) DO NOTHING",
            [now, kinds, values, citizen_ids])


def _citizens_fill_blanks(fills: dict[int, dict], taken_ruts: set[str]) -> None:
    """What the file knows about existing people fills their blank fields, never overwrites
    (as on intake). A RUT is only given to a person if nobody holds it."""
    changed = []
    for citizen in Citizen.objects.filter(pk__in=list(fills)).only(
            "pk", "rut", "full_name", "email", "phone"):
        wanted = fills[citizen.pk]
        touched = False
        for name in ("full_name", "email", "phone"):
            if wanted.get(name) and not getattr(citizen, name):
                setattr(citizen, name, wanted[name][:200 if name == "full_name" else 254])
                touched = True
        rut = wanted.get("rut")
        if rut and not citizen.rut and rut not in taken_ruts:
            citizen.rut = rut
            taken_ruts.add(rut)
            touched = True
        if touched:
            changed.append(citizen)
    if changed:
        Citizen.objects.bulk_update(changed, ["full_name", "email", "phone", "rut",
                                              "updated_at"], batch_size=1000)


def _ticket_values(row: ImportRow, folio: str, ctx: _Context) -> tuple:
    closed = row.status == Status.CLOSED
    if row.informative:
        triage = TriageStatus.NOT_REQUIRED
    elif closed or row.area_given:
        triage = TriageStatus.CONFIRMED  # the old system already derived it
    else:
        triage = TriageStatus.PENDING  # an open case nobody routed: the triage queue
    if closed:
        stage = ResponseStage.DONE
    elif row.status == Status.NEW:
        stage = ResponseStage.PLAN
    else:
        stage = ResponseStage.FINAL
    return (
        ctx.institution.pk, folio, uuid.uuid4(), row.channel_id, row.ticket_type_id,
        row.topic_id, row.requester_type_id, row.organization_id, row.region_id,
        row.comuna_id, row.urgency, row.subject, row.detail, row.citizen_id, row.full_name,
        row.email, row.phone, row.rut, "", "", row.area_id, None, row.status, row.urgency,
        triage, None, None, stage, None, "", "", row.received_at, None,
        None, None, row.due_at, None, None,
        row.closed_at if closed else None, None,
        # The open case's clock points at the final deadline the old system gave.
        None if closed else row.due_at, None,
        ctx.now if row.status == Status.WAITING_CITIZEN else None,
        row.closed_at if closed else None, ctx.now, None, None,
        reference_key(row.reference),
    )


def _event_body(row: ImportRow, ctx: _Context, zone) -> str:
    received = row.received_at.astimezone(zone).strftime("%d-%m-%Y %H:%M")
    body = _("Importado del sistema anterior (referencia «%(reference)s», archivo "
             "«%(file)s», línea %(line)s). Ingreso original: %(received)s.") % {
        "reference": row.reference, "file": ctx.file_name, "line": row.line,
        "received": received}
    if row.closed_at is not None:
        body += " " + _("Cerrado el %(closed)s.") % {
            "closed": row.closed_at.astimezone(zone).strftime("%d-%m-%Y %H:%M")}
    return body


def _store_batch(rows: list[ImportRow], ctx: _Context) -> tuple[int, int, int]:
    """Store one batch whole or not at all. Returns (imported, skipped, citizens created)."""
    institution, writer, timings = ctx.institution, ctx.writer, ctx.result.timings
    started = time.perf_counter()
    done = _already_imported(institution, rows)
    fresh = [row for row in rows if reference_key(row.reference) not in done]
    skipped = len(rows) - len(fresh)
    if not fresh:
        return 0, skipped, 0
    zone = chile_zone()
    # Folio numbers follow the order of reception within each year of the batch.
    fresh.sort(key=lambda row: row.received_at)
    years: dict[int, list[ImportRow]] = {}
    for row in fresh:
        years.setdefault(row.received_at.astimezone(zone).year, []).append(row)
    folios: dict[int, str] = {}
    prefix = institution.folio_prefix
    for year, year_rows in years.items():
        first = folio_reserve(institution=institution, year=year, count=len(year_rows))
        for offset, row in enumerate(year_rows):
            folios[id(row)] = f"{prefix}-{year}-{first + offset:06d}"
    timings["folios"] += time.perf_counter() - started

    with transaction.atomic():
        started = time.perf_counter()
        created = _citizens_resolve(fresh, ctx)
        timings["citizens"] += time.perf_counter() - started

        started = time.perf_counter()
        ticket_ids = writer.insert(
            Ticket, TICKET_COLUMNS,
            [_ticket_values(row, folios[id(row)], ctx) for row in fresh], with_ids=True)
        timings["tickets"] += time.perf_counter() - started

        started = time.perf_counter()
        run_id = ctx.run.pk if ctx.run else None
        imported_at = ctx.now.isoformat()
        events = []
        for row, ticket_id in zip(fresh, ticket_ids, strict=True):
            events.append((
                ticket_id, EventKind.CREATED, row.received_at, None, False,
                _event_body(row, ctx, zone), "", row.status,
                writer.json({
                    "imported": True, "import_run": run_id, "reference": row.reference,
                    "line": row.line, "received_at": row.received_at.isoformat(),
                    "closed_at": row.closed_at.isoformat() if row.closed_at else None,
                    "imported_at": imported_at, "channel": row.channel_id,
                    "area_id": row.area_id,
                }),
            ))
        writer.insert(TicketEvent, EVENT_COLUMNS, events)
        timings["events"] += time.perf_counter() - started

        started = time.perf_counter()
        empty = writer.json({})
        writer.insert(Interaction, INTERACTION_COLUMNS, [
            (institution.pk, row.channel_id, InteractionKind.TICKET_OPENED, row.received_at,
             row.self_service, row.citizen_id, ticket_id, empty)
            for row, ticket_id in zip(fresh, ticket_ids, strict=True)])
        timings["interactions"] += time.perf_counter() - started
    return len(fresh), skipped, created


# --- the run ---------------------------------------------------------------------------------

class _ErrorsFile:
    """The rejected rows, one line per problem, in the input's delimiter and UTF-8 with a
    BOM (so Excel shows the accents): línea, columna, valor, mensaje, referencia."""

    def __init__(self, path: str | Path | None, delimiter: str):
        self.handle = None
        if path:
            self.handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            self.writer = csv.writer(self.handle, delimiter=delimiter)
            self.writer.writerow(["linea", "columna", "valor", "mensaje", "referencia"])

    def write(self, error: RowError) -> None:
        if self.handle:
            self.writer.writerow([error.line, error.column, error.value, error.message,
                                  error.reference])

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def _lock_institution(institution: Institution) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers on the whole database
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, institution.pk])
        return bool(cursor.fetchone()[0])


def _unlock_institution(institution: Institution) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, institution.pk])


def _local_day(moment: datetime) -> date:
    return moment.astimezone(chile_zone()).date()


def tickets_import(
    *, institution: Institution, path: str | Path, file_name: str | None = None,
    dry_run: bool = False, errors_path: str | Path | None = None, user=None,
    requested_by_label: str = "", batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    progress: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Import a CSV of historical tickets into ``institution`` (see the module docstring
    and ``FORMAT.md``). ``dry_run`` checks every row and counts what would be imported,
    storing nothing (no ``ImportRun`` either). Raises ``ImportFileError`` when the file as
    a whole is unusable (nothing stored) and ``ImportStopped`` when the import stopped
    part-way (whole batches stored; the run is marked failed)."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    _check_columns()
    started = time.perf_counter()
    path = Path(path)
    file_name = file_name or path.name
    check = file_check(path, max_bytes=max_bytes)
    result = ImportResult(run=None, dry_run=dry_run)
    if not dry_run:
        result.run = ImportRun.objects.create(
            institution=institution, file_name=file_name[:255], file_sha256=check.sha256,
            file_size=check.size,
            requested_by=user if getattr(user, "is_authenticated", False) else None,
            requested_by_label=(requested_by_label or _os_account())[:150])
    ctx = _Context(institution=institution, run=result.run, file_name=file_name,
                   now=timezone.now(), writer=_TableWriter(), result=result)
    if not _lock_institution(institution):
        message = _("Ya hay otra importación en curso para %(institution)s: espere a que "
                    "termine.") % {"institution": institution}
        _finish(result, started, ImportStatus.FAILED, message)
        raise ImportStopped(message, result)

    errors = _ErrorsFile(errors_path, check.delimiter)
    checker = RowChecker(ImportCatalog(institution), now=ctx.now)
    first_line_of: dict[str, int] = {}
    batch: list[ImportRow] = []
    stop_line = 0

    def reject(line: int, column: str, value: str, message: str, reference: str) -> None:
        error = RowError(line=line, column=column, value=value[:200], message=message,
                         reference=reference)
        result.errors_by_column[column] += 1
        if len(result.errors_sample) < ERROR_SAMPLE:
            result.errors_sample.append(error)
        errors.write(error)

    def flush() -> None:
        if not batch:
            return
        if dry_run:
            done = _already_imported(institution, batch)
            result.skipped += len(done)
            result.imported += len(batch) - len(done)
        else:
            for attempt in range(1, BATCH_ATTEMPTS + 1):
                try:
                    imported, skipped, created = _store_batch(batch, ctx)
                    break
                except IntegrityError:
                    # A live intake created one of these people (RUT) or identities
                    # between the lookup and the insert: the batch rolled back whole;
                    # try again, now finding them.
                    if attempt == BATCH_ATTEMPTS:
                        raise
                    logger.warning("import batch retried after a concurrent write")
            result.imported += imported
            result.skipped += skipped
            result.citizens_created += created
            if imported:
                stored = [row.received_at for row in batch]
                low, high = min(stored), max(stored)
                if result.first_received_at is None or low < result.first_received_at:
                    result.first_received_at = low
                if result.last_received_at is None or high > result.last_received_at:
                    result.last_received_at = high
            ImportRun.objects.filter(pk=result.run.pk).update(
                rows_read=result.rows_read, imported=result.imported,
                rejected=result.rejected, skipped=result.skipped,
                citizens_created=result.citizens_created)
        batch.clear()
        if progress:
            progress(result)

    try:
        parse_started = time.perf_counter()
        for line, values, problem in read_rows(path, check.delimiter):
            stop_line = line
            result.rows_read += 1
            if values is None:
                result.rejected += 1
                reject(line, "", "", problem, "")
                continue
            row, row_errors = checker.check(line, values)
            reference = values.get("referencia", "").strip()
            if row is not None:
                first = first_line_of.setdefault(reference, line)
                if first != line:
                    row, row_errors = None, [("referencia", reference, _(
                        "La referencia «%(reference)s» ya aparece en la línea %(line)s del "
                        "archivo.") % {"reference": reference, "line": first})]
            if row is None:
                result.rejected += 1
                for column, value, message in row_errors:
                    reject(line, column, value, message, reference)
                continue
            batch.append(row)
            if len(batch) >= batch_size:
                result.timings["parse"] += time.perf_counter() - parse_started
                flush()
                parse_started = time.perf_counter()
        result.timings["parse"] += time.perf_counter() - parse_started
        flush()
    except ImportFileError as exc:
        _after_stop(result, ctx, started, str(exc))
        if result.imported:
            raise ImportStopped(str(exc), result) from exc
        raise
    except Exception as exc:
        message = _("La importación se detuvo cerca de la línea %(line)s: %(error)s. Los "
                    "lotes anteriores quedaron guardados completos; corrija y vuelva a "
                    "ejecutar el mismo archivo para continuar (lo ya importado se omite).") % {
            "line": stop_line, "error": exc}
        _after_stop(result, ctx, started, message)
        raise ImportStopped(message, result) from exc
    finally:
        errors.close()
        _unlock_institution(institution)

    if not dry_run:
        rebuild_started = time.perf_counter()
        result.rollup = _rollups_rebuild(result, institution)
        result.timings["rollups"] += time.perf_counter() - rebuild_started
        _audit(result, institution, user, check.sha256)
    _finish(result, started, ImportStatus.DONE_WITH_ERRORS if result.rejected
            else ImportStatus.DONE)
    return result


def _rollups_rebuild(result: ImportResult, institution: Institution):
    """The dashboards read rollups per day: rebuild the days the import touched, now,
    rather than leaving it to the periodic refresh (which would also see them, by
    ``updated_at``, a minute later)."""
    if not result.imported or result.first_received_at is None:
        return None
    from ventanilla.reports.services import rollup_rebuild

    return rollup_rebuild(institution=institution,
                          date_from=_local_day(result.first_received_at),
                          date_to=_local_day(result.last_received_at))


def _after_stop(result: ImportResult, ctx: _Context, started: float, message: str) -> None:
    if not result.dry_run:
        try:
            result.rollup = _rollups_rebuild(result, ctx.institution)
        except Exception:  # the stop is what must be reported; the refresh catches up
            logger.exception("rollup rebuild after a stopped import failed")
    _finish(result, started, ImportStatus.FAILED, message)


def _finish(result: ImportResult, started: float, status: str, message: str = "") -> None:
    result.seconds = time.perf_counter() - started
    result.status = status
    result.error_message = message
    if result.run is None:
        return
    run = result.run
    run.status = status
    run.finished_at = timezone.now()
    run.duration_seconds = round(result.seconds, 3)
    run.rows_read, run.imported = result.rows_read, result.imported
    run.rejected, run.skipped = result.rejected, result.skipped
    run.citizens_created = result.citizens_created
    run.first_received_at, run.last_received_at = (result.first_received_at,
                                                   result.last_received_at)
    run.error_message = message
    run.save()


def _audit(result: ImportResult, institution: Institution, user, sha256: str) -> None:
    from ventanilla.core.services import audit_record

    audit_record(actor=user, action="tickets.imported", obj=result.run, institution=institution,
                 data={"file": result.run.file_name, "sha256": sha256,
                       "imported": result.imported, "rejected": result.rejected,
                       "skipped": result.skipped})


def _os_account() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return ""
