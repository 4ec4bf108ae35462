"""The interaction log written in batches: what self-service systems (web portal analytics,
IVR, kiosks, office queue systems, bots) report about contacts that mostly open no ticket.

ChileAtiende counts hundreds of millions of these a year. One commit per row is bounded by
the database's commit (WAL flush) rate, so events arrive in batches and a batch is stored in
ONE transaction: the commit is paid once per batch, and a batch is stored whole or not at
all. On PostgreSQL the rows go in with ``COPY`` (no SQL text or parameter list to build per
row); elsewhere with one ``bulk_create``.

A batch is checked completely before anything is written: ``interaction_batch_prepare``
validates every event and resolves the channel, the person and the ticket with a handful of
queries for the whole batch (never one per event); ``interaction_batch_store`` writes the
prepared rows. ``interaction_record_batch`` does both. Callers that need something written in
the same transaction (the API's idempotency record) call the two halves themselves.

The platform's own producers (intake, lifecycle, assisted contacts) keep writing their single
``Interaction`` inside the ticket's transaction: that row is atomic with the ticket work.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from ventanilla.catalog.models import Channel, Institution
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.citizens.services import normalize_email
from ventanilla.core.rut import rut_normalize
from ventanilla.tickets.models import Interaction, InteractionKind, Ticket

INTERACTION_BATCH_MAX = 1000
# A producer's clock may run a little ahead of ours; more than this is a wrong clock.
FUTURE_SKEW = timedelta(minutes=5)
# A kiosk or IVR that was offline may report late, but not history: that is the import's job
# (and the rollups would rebuild ever older days).
MAX_AGE = timedelta(days=90)
DATA_MAX_BYTES = 2048
# ``ticket_opened`` and ``message`` are written only by the intake and the ticket services,
# atomically with the ticket and its timeline: reported from outside they would double count.
BATCH_KINDS = (InteractionKind.SELF_SERVICE, InteractionKind.TRACKING,
               InteractionKind.ATTENDED)
EVENT_FIELDS = frozenset({"channel", "kind", "occurred_at", "rut", "email", "folio", "data"})
# Stored in ``data`` by the platform (which integration reported the event).
SOURCE_KEY = "source"

_email_validator = EmailValidator()
# One encoder for every event: ``json.dumps`` with options builds a new encoder per call,
# which cost more than the encoding of a small object (seen in the profile).
_data_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class InteractionBatchInvalid(Exception):
    """Some events of the batch are invalid; nothing was stored. ``errors`` maps the event's
    position (from 0) to its field errors ({field: [message]}); ``message`` sums it up."""

    def __init__(self, message: str, errors: dict[int, dict[str, list[str]]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class InteractionRow(NamedTuple):
    """One validated event as the columns of its ``Interaction`` row. A tuple, not a model
    instance: building a thousand model instances cost more than validating the events."""

    institution_id: int
    channel_id: int
    kind: str
    occurred_at: datetime
    is_self_service: bool
    citizen_id: int | None
    ticket_id: int | None
    data: dict
    data_json: str  # ``data`` serialised once, when its size was checked


@dataclass(frozen=True)
class PreparedBatch:
    """Validated rows, in the order the events came, ready to insert."""

    rows: list[InteractionRow]

    def __len__(self) -> int:
        return len(self.rows)


def interaction_record_batch(*, institution: Institution, events: Sequence[Mapping],
                             source: str = "", allowed_channels: Collection[str] | None = None,
                             now: datetime | None = None) -> int:
    """Validate and store a batch of interactions in one transaction; returns how many were
    stored. Raises ``InteractionBatchInvalid`` (nothing stored) if any event is invalid."""
    prepared = interaction_batch_prepare(institution=institution, events=events, source=source,
                                         allowed_channels=allowed_channels, now=now)
    with transaction.atomic():
        return interaction_batch_store(prepared)


def interaction_batch_prepare(*, institution: Institution, events: Sequence[Mapping],
                              source: str = "", allowed_channels: Collection[str] | None = None,
                              now: datetime | None = None) -> PreparedBatch:
    """Check every event and build its row; reads only. ``allowed_channels`` (codes) limits
    the channels an integration may report on; ``source`` names the reporter in ``data``."""
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        raise InteractionBatchInvalid(_("Envíe una lista de eventos."))
    if not events:
        raise InteractionBatchInvalid(_("El lote no tiene eventos."))
    if len(events) > INTERACTION_BATCH_MAX:
        raise InteractionBatchInvalid(
            _("Un lote admite hasta %(max)d eventos; este tiene %(count)d.")
            % {"max": INTERACTION_BATCH_MAX, "count": len(events)})
    now = now or timezone.now()
    checker = _EventChecker(now=now, allowed_channels=allowed_channels, source=source)
    parsed = [checker.parse(event) for event in events]
    links = _Links.load(institution, parsed)
    errors: dict[int, dict[str, list[str]]] = {}
    rows = []
    for index, event in enumerate(parsed):
        if event.errors:
            errors[index] = event.errors
            continue
        ticket_id = citizen_id = None
        if event.folio:
            ticket = links.tickets.get(event.folio)
            if ticket is None:
                errors[index] = {"folio": [_("No existe un requerimiento con ese folio en esta "
                                             "institución.")]}
                continue
            ticket_id, citizen_id = ticket
        # The person is linked only when already known: an unverified RUT or e-mail in a
        # self-service log never creates a person record (see ``_Links``).
        citizen_id = (links.citizen_by_rut.get(event.rut) or links.citizen_by_email.get(event.email)
                      or citizen_id)
        rows.append(InteractionRow(
            institution.pk, event.channel.pk, event.kind, event.occurred_at,
            not event.channel.is_assisted, citizen_id, ticket_id, event.data, event.data_json))
    if errors:
        raise InteractionBatchInvalid(
            _("%(invalid)d de %(count)d eventos no son válidos; no se guardó ninguno. "
              "Corríjalos o quítelos y envíe el lote de nuevo.")
            % {"invalid": len(errors), "count": len(events)}, errors)
    return PreparedBatch(rows=rows)


def interaction_batch_store(prepared: PreparedBatch) -> int:
    """Insert the prepared rows; the caller's transaction makes the batch all or nothing
    (inside ``transaction.atomic``, so with the caller's other writes)."""
    if connection.vendor == "postgresql":
        _copy_rows(prepared.rows)
    else:
        Interaction.objects.bulk_create([_model(row) for row in prepared.rows], batch_size=500)
    return len(prepared.rows)


# --- validation ----------------------------------------------------------------------------------


@dataclass
class _ParsedEvent:
    errors: dict[str, list[str]]
    channel: Channel | None = None
    kind: str = ""
    occurred_at: datetime | None = None
    rut: str = ""
    email: str = ""
    folio: str = ""
    data: dict | None = None
    data_json: str = "{}"


class _EventChecker:
    """Field checks of one event that need no per-event query (channels are read once)."""

    def __init__(self, *, now: datetime, allowed_channels: Collection[str] | None, source: str):
        self.now = now
        self.allowed = None if allowed_channels is None else frozenset(allowed_channels)
        self.source = source
        self.channels = {channel.code: channel for channel in Channel.objects.all()}

    def parse(self, event) -> _ParsedEvent:
        parsed = _ParsedEvent(errors={})
        if not isinstance(event, dict):
            parsed.errors["non_field_errors"] = [_("Cada evento debe ser un objeto JSON.")]
            return parsed
        for name in sorted(set(event) - EVENT_FIELDS, key=str)[:5]:
            # Echoed back in the answer: made printable (no lone surrogates) and short.
            shown = str(name)[:40].encode("utf-8", "backslashreplace").decode("utf-8")
            parsed.errors[shown] = [_("Campo desconocido.")]
        for name, check in (("channel", self._channel), ("kind", self._kind),
                            ("occurred_at", self._occurred_at), ("rut", self._rut),
                            ("email", self._email), ("folio", self._folio),
                            ("data", self._data)):
            try:
                check(parsed, event.get(name))
            except ValidationError as error:
                parsed.errors[name] = error.messages
        return parsed

    def _channel(self, parsed: _ParsedEvent, value) -> None:
        if value in (None, ""):
            raise ValidationError(_("Indique el canal."))
        channel = self.channels.get(value) if _is_text(value, 30) else None
        if channel is None or not channel.is_active:
            raise ValidationError(_("Canal desconocido."))
        if self.allowed is not None and channel.code not in self.allowed:
            raise ValidationError(_("Esta integración no puede registrar interacciones por el "
                                    "canal «%(code)s».") % {"code": channel.code})
        parsed.channel = channel

    def _kind(self, parsed: _ParsedEvent, value) -> None:
        channel = parsed.channel
        if value in (None, ""):
            # What a contact on that channel usually is: on a self-service channel the person
            # served themselves; on an assisted one somebody attended them.
            value = (InteractionKind.ATTENDED if channel is not None and channel.is_assisted
                     else InteractionKind.SELF_SERVICE)
        if value not in BATCH_KINDS:
            raise ValidationError(_("Tipo de interacción no válido: use %(kinds)s.")
                                  % {"kinds": ", ".join(BATCH_KINDS)})
        if channel is not None:
            if value == InteractionKind.ATTENDED and not channel.is_assisted:
                raise ValidationError(_("Una atención asistida requiere un canal asistido "
                                        "(teléfono, oficina, videoatención)."))
            if value == InteractionKind.SELF_SERVICE and channel.is_assisted:
                raise ValidationError(_("Una autoatención requiere un canal de autoatención."))
        parsed.kind = str(value)

    def _occurred_at(self, parsed: _ParsedEvent, value) -> None:
        if value in (None, ""):
            raise ValidationError(_("Indique la fecha y hora del contacto."))
        moment = None
        if _is_text(value, 40):
            try:
                moment = parse_datetime(value)
            except ValueError:
                moment = None
        if moment is None:
            raise ValidationError(_("Fecha y hora no válidas: use ISO 8601, por ejemplo "
                                    "2026-03-01T10:15:00-03:00."))
        if timezone.is_naive(moment):
            raise ValidationError(_("Indique la zona horaria (por ejemplo -03:00 o Z)."))
        try:
            too_late, too_early = moment > self.now + FUTURE_SKEW, moment < self.now - MAX_AGE
        except OverflowError:  # year 1 or 9999 with an offset: not a real moment
            too_late, too_early = False, True
        if too_late:
            raise ValidationError(_("La fecha está en el futuro: revise el reloj del sistema "
                                    "que informa."))
        if too_early:
            raise ValidationError(_("La fecha tiene más de %(days)d días: los registros "
                                    "históricos se cargan por importación.")
                                  % {"days": MAX_AGE.days})
        parsed.occurred_at = moment

    def _rut(self, parsed: _ParsedEvent, value) -> None:
        if value in (None, ""):
            return
        if not _is_text(value, 14):
            raise ValidationError(_("El RUT no es válido."))
        parsed.rut = _rut_compact(value)

    def _email(self, parsed: _ParsedEvent, value) -> None:
        if value in (None, ""):
            return
        if not _is_text(value, 254):
            raise ValidationError(_("Correo electrónico no válido."))
        email = normalize_email(value)
        try:
            _email_validator(email)
        except ValidationError:
            raise ValidationError(_("Correo electrónico no válido.")) from None
        parsed.email = email

    def _folio(self, parsed: _ParsedEvent, value) -> None:
        if value in (None, ""):
            return
        if not _is_text(value, 30):
            raise ValidationError(_("Folio no válido."))
        parsed.folio = value.strip().upper()

    def _data(self, parsed: _ParsedEvent, value) -> None:
        data = {} if value is None else value
        if not isinstance(data, dict):
            raise ValidationError(_("«data» debe ser un objeto JSON."))
        if self.source:
            if SOURCE_KEY in data:
                raise ValidationError(_("«data» no puede usar la clave reservada «%(key)s».")
                                      % {"key": SOURCE_KEY})
            data = {**data, SOURCE_KEY: self.source}
        if data:
            try:
                encoded = _data_encoder.encode(data)
            except (TypeError, ValueError):
                raise ValidationError(_("«data» debe ser un objeto JSON.")) from None
            if len(encoded) > DATA_MAX_BYTES:
                raise ValidationError(_("«data» supera %(max)d bytes.")
                                      % {"max": DATA_MAX_BYTES})
            if not _storable(encoded):
                raise ValidationError(_("«data» contiene caracteres no válidos (nulos o "
                                        "texto mal codificado)."))
            if len(encoded.encode()) > DATA_MAX_BYTES:
                raise ValidationError(_("«data» supera %(max)d bytes.")
                                      % {"max": DATA_MAX_BYTES})
            parsed.data_json = encoded
        parsed.data = data


def _is_text(value, max_length: int) -> bool:
    """A string the database can store and compare: PostgreSQL refuses NUL characters and
    text that is not valid UTF-8 (a lone surrogate from a JSON ``\\ud800`` escape)."""
    return isinstance(value, str) and len(value) <= max_length and _storable(value)


def _storable(text: str) -> bool:
    # NUL as it appears raw, and as JSON writes it inside ``data`` (jsonb refuses \u0000).
    if "\x00" in text or "\\u0000" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=4096)
def _rut_compact(value: str) -> str:
    """``rut_normalize`` remembered: the same people come back batch after batch."""
    return rut_normalize(value)


@dataclass
class _Links:
    """The tickets and known people the batch refers to, read with one query each.

    A person is linked by RUT, else by e-mail identity, and only when already known: an
    unverified identifier in a self-service log does not create a person (nobody filed a
    request, and an integration must not be able to fill the registry of people); an
    unknown one is not kept either. Merged records resolve to the record they were merged
    into. With a folio and no known identifier, the ticket's person is linked."""

    tickets: dict[str, tuple[int, int | None]]
    citizen_by_rut: dict[str, int]
    citizen_by_email: dict[str, int]

    @classmethod
    def load(cls, institution: Institution, events: list[_ParsedEvent]) -> _Links:
        folios = {event.folio for event in events if event.folio}
        ruts = {event.rut for event in events if event.rut}
        emails = {event.email for event in events if event.email}
        tickets = {}
        if folios:
            tickets = {folio: (pk, citizen_id) for folio, pk, citizen_id in Ticket.objects.filter(
                institution=institution, folio__in=folios).values_list("folio", "pk",
                                                                        "citizen_id")}
        by_rut: dict[str, tuple[int, int | None]] = {}
        if ruts:
            by_rut = {rut: (pk, merged) for rut, pk, merged in Citizen.objects.filter(
                rut__in=ruts).values_list("rut", "pk", "merged_into_id")}
        by_email: dict[str, tuple[int, int | None]] = {}
        if emails:
            by_email = {value: (pk, merged) for value, pk, merged in ChannelIdentity.objects
                        .filter(kind=IdentityKind.EMAIL, value__in=emails)
                        .values_list("value", "citizen_id", "citizen__merged_into_id")}
        resolve = _surviving_records({merged for _pk, merged in [*by_rut.values(),
                                                                 *by_email.values()] if merged})
        return cls(tickets=tickets,
                   citizen_by_rut={k: resolve(merged or pk) for k, (pk, merged) in by_rut.items()},
                   citizen_by_email={k: resolve(merged or pk)
                                     for k, (pk, merged) in by_email.items()})


def _surviving_records(merged_into: set[int]):
    """``pk → the record it ends up in`` for records merged more than once (rare: one query
    per level, none when nothing in the batch was merged)."""
    parent: dict[int, int] = {}
    seen: set[int] = set()
    frontier = set(merged_into)
    while frontier:
        seen |= frontier
        moved = dict(Citizen.objects.filter(pk__in=frontier, merged_into__isnull=False)
                     .values_list("pk", "merged_into_id"))
        parent.update(moved)
        frontier = set(moved.values()) - seen

    def resolve(pk: int) -> int:
        for _hop in range(len(parent) + 1):  # bounded even if a cycle slipped in
            if pk not in parent:
                break
            pk = parent[pk]
        return pk

    return resolve


# --- insertion -----------------------------------------------------------------------------------


def _model(row: InteractionRow) -> Interaction:
    return Interaction(institution_id=row.institution_id, channel_id=row.channel_id,
                       kind=row.kind, occurred_at=row.occurred_at,
                       is_self_service=row.is_self_service, citizen_id=row.citizen_id,
                       ticket_id=row.ticket_id, data=row.data)


def _copy_rows(rows: list[InteractionRow]) -> None:
    """PostgreSQL ``COPY … FROM STDIN``: the cheapest way to send many rows in one statement
    (psycopg streams them; no SQL text and no parameter list per row)."""
    meta = Interaction._meta
    names = ("institution", "channel", "kind", "occurred_at", "is_self_service", "citizen",
             "ticket", "data")
    columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column) for name in names)
    statement = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    with (connection.cursor() as cursor, connection.wrap_database_errors,
          cursor.cursor.copy(statement) as copy):
        for row in rows:
            copy.write_row((*row[:7], row.data_json))
