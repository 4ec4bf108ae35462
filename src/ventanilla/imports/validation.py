"""Reading and checking a CSV of historical tickets, without writing anything.

The format is described in ``FORMAT.md`` (and in ``import_tickets --help``). Every catalog
code is resolved against in-memory dictionaries built once per run (``ImportCatalog``), so
checking a row costs no query; the only per-batch query (already imported references) is
in ``services``.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog.models import (
    Area,
    Channel,
    Institution,
    Organization,
    RequesterType,
    TicketType,
    Topic,
    Workflow,
)
from ventanilla.citizens.services import normalize_email, normalize_phone
from ventanilla.core.models import Comuna, Region
from ventanilla.core.rut import rut_normalize
from ventanilla.tickets.models import Status, Urgency

# A file bigger than this is refused before reading it (split it): the import keeps a set
# of the file's references in memory, and one run should finish in minutes, not hours.
DEFAULT_MAX_FILE_BYTES = 2 * 1024**3
# One field longer than this is almost always an unclosed quote swallowing the file.
MAX_FIELD_CHARS = 100_000
MAX_REFERENCE_CHARS = 60  # stored as "import:<reference>" in Ticket.idempotency_key (100)
MAX_DETAIL_CHARS = 50_000
EARLIEST_YEAR = 1990

# canonical column → accepted header spellings (compared without accents, case or spaces).
COLUMNS: dict[str, tuple[str, ...]] = {
    "referencia": ("referencia", "folio", "folio_anterior", "reference", "id"),
    "fecha_ingreso": ("fecha_ingreso", "fecha", "fecha_recepcion", "received_at"),
    "canal": ("canal", "channel"),
    "motivo": ("motivo", "tipo", "ticket_type", "type"),
    "tema": ("tema", "topic", "producto"),
    "region": ("region", "codigo_region"),
    "comuna": ("comuna", "codigo_comuna"),
    "nombre": ("nombre", "nombre_completo", "name", "full_name"),
    "rut": ("rut", "run"),
    "correo": ("correo", "correo_electronico", "email", "e_mail"),
    "telefono": ("telefono", "fono", "phone"),
    "asunto": ("asunto", "subject"),
    "detalle": ("detalle", "descripcion", "detail"),
    "estado": ("estado", "status"),
    "fecha_cierre": ("fecha_cierre", "closed_at"),
    "area": ("area", "area_respuesta"),
    "urgencia": ("urgencia", "urgency"),
    "plazo": ("plazo", "fecha_plazo", "due_at"),
    "tipo_usuario": ("tipo_usuario", "requester_type"),
    "establecimiento": ("establecimiento", "rbd", "organization"),
}
REQUIRED_COLUMNS = ("referencia", "fecha_ingreso", "canal", "motivo", "tema", "nombre",
                    "asunto", "detalle")

STATUS_WORDS = {
    "recibido": Status.NEW, "nuevo": Status.NEW, "new": Status.NEW,
    "en_proceso": Status.IN_PROGRESS, "en_curso": Status.IN_PROGRESS,
    "in_progress": Status.IN_PROGRESS,
    "esperando_a_la_persona": Status.WAITING_CITIZEN, "esperando": Status.WAITING_CITIZEN,
    "waiting_citizen": Status.WAITING_CITIZEN,
    "cerrado": Status.CLOSED, "cerrada": Status.CLOSED, "closed": Status.CLOSED,
}
URGENCY_WORDS = {
    "baja": Urgency.LOW, "low": Urgency.LOW, "media": Urgency.MEDIUM,
    "medium": Urgency.MEDIUM, "normal": Urgency.MEDIUM, "alta": Urgency.HIGH,
    "high": Urgency.HIGH,
}
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SPACES = re.compile(r"[\s_\-]+")


class ImportFileError(Exception):
    """The file as a whole cannot be imported (encoding, not a CSV, missing columns…).
    The message is Spanish and meant for the person running the import."""


def plain_key(value: str) -> str:
    """Compare names without accents, case or spacing: "Región " == "region"."""
    value = unicodedata.normalize("NFKD", value.strip().casefold())
    value = "".join(ch for ch in value if not unicodedata.combining(ch))
    return _SPACES.sub("_", value).strip("_")


def chile_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# --- the file --------------------------------------------------------------------------------

@dataclass(frozen=True)
class FileCheck:
    sha256: str
    size: int
    delimiter: str


def file_check(path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> FileCheck:
    """Read the whole file once before importing anything: its SHA-256 for the run record,
    and the problems that would otherwise stop an import half-way (not UTF-8, binary,
    too big). Costs about a second per GB, so a bad file never leaves half its rows in."""
    with open(path, "rb") as handle:
        handle.seek(0, io.SEEK_END)
        size = handle.tell()
        handle.seek(0)
        if size == 0:
            raise ImportFileError(_("El archivo está vacío."))
        if size > max_bytes:
            raise ImportFileError(
                _("El archivo pesa %(size)s MB y el máximo es %(max)s MB: divídalo en varios "
                  "archivos (cada uno con la fila de encabezado) e impórtelos uno tras otro.")
                % {"size": size // 1024**2, "max": max_bytes // 1024**2})
        head = handle.read(8)
        handle.seek(0)
        if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFileError(
                _("El archivo es una planilla de Excel, no un CSV. En Excel use «Guardar como» "
                  "→ «CSV UTF-8 (delimitado por comas)» e importe ese archivo."))
        if head.startswith(b"%PDF"):
            raise ImportFileError(_("El archivo es un PDF, no un CSV."))
        digest = hashlib.sha256()
        decoder = codecs.getincrementaldecoder("utf-8")()
        line = 1
        first_line = b""
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            if b"\x00" in chunk:
                raise ImportFileError(
                    _("El archivo contiene bytes nulos: no es un CSV de texto (¿es un archivo "
                      "binario o está en UTF-16?). Expórtelo como «CSV UTF-8»."))
            if not first_line:
                first_line = chunk.split(b"\n", 1)[0]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad_line = line + chunk[:exc.start].count(b"\n")
                raise ImportFileError(
                    _("El archivo no está en UTF-8 (primer carácter inválido en la línea "
                      "%(line)s; probablemente está en Latin-1/Windows-1252). En Excel use "
                      "«Guardar como» → «CSV UTF-8 (delimitado por comas)».")
                    % {"line": bad_line}) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportFileError(
                _("El archivo termina con un carácter UTF-8 incompleto.")) from None
    header = first_line.decode("utf-8", errors="replace").lstrip("\ufeff")
    # Excel in Chile writes ";" (the decimal separator is ","); elsewhere ",".
    delimiter = ";" if header.count(";") > header.count(",") else ","
    if header.count("\t") > max(header.count(";"), header.count(",")):
        delimiter = "\t"
    return FileCheck(sha256=digest.hexdigest(), size=size, delimiter=delimiter)


# --- the catalog -----------------------------------------------------------------------------

class ImportCatalog:
    """Every code a row may name, for one institution, in dictionaries keyed by
    ``plain_key``. Inactive entries are accepted: history refers to retired topics and
    areas, and importing it must not depend on what is offered to new requests today."""

    def __init__(self, institution: Institution):
        self.institution = institution
        self.channels: dict[str, Channel] = {}
        for channel in Channel.objects.all():
            self.channels[plain_key(channel.code)] = channel
            self.channels.setdefault(plain_key(channel.name), channel)
        self.types: dict[str, TicketType] = {}
        for ticket_type in TicketType.objects.filter(institution=institution):
            self.types[plain_key(ticket_type.code)] = ticket_type
            self.types.setdefault(plain_key(ticket_type.name), ticket_type)
        topics = list(Topic.objects.filter(institution=institution))
        by_id = {topic.pk: topic for topic in topics}
        # name → topics with that name (a product name may repeat under two programs);
        # "Programa > Producto" (or the console's arrow, or /) is always unambiguous.
        self.topics: dict[str, list[Topic]] = {}
        for topic in topics:
            self.topics.setdefault(plain_key(topic.name), []).append(topic)
            parent = by_id.get(topic.parent_id)
            if parent is not None:
                self.topics.setdefault(plain_key(f"{parent.name}>{topic.name}"), []).append(topic)
        self.areas = {plain_key(area.name): area.pk
                      for area in Area.objects.filter(institution=institution)}
        self.requester_types = {plain_key(rt.name): rt.pk for rt in
                                RequesterType.objects.filter(institution=institution)}
        self.organizations: dict[str, Organization] = {}
        for org in Organization.objects.filter(institution=institution):
            self.organizations.setdefault(plain_key(org.name), org)
            if org.code:
                self.organizations[plain_key(org.code)] = org
        self.regions: dict[str, str] = {}
        for region in Region.objects.all():
            for key in (region.code, region.name, region.short_name):
                self.regions[plain_key(key)] = region.code
        self.comunas: dict[str, tuple[str, str]] = {}
        names: dict[str, list[tuple[str, str]]] = {}
        for code, name, region_id in Comuna.objects.values_list("code", "name", "region_id"):
            self.comunas[code] = (code, region_id)
            names.setdefault(plain_key(name), []).append((code, region_id))
        for key, found in names.items():
            if len(found) == 1:  # a name two comunas share needs the code
                self.comunas.setdefault(key, found[0])

    def topic(self, value: str) -> Topic:
        key = plain_key(value.replace("›", ">").replace("/", ">"))
        key = re.sub(r"_?>_?", ">", key)
        found = self.topics.get(key)
        if not found:
            raise ValidationError(_("No existe el tema «%(value)s» en esta institución.")
                                  % {"value": value})
        if len(found) > 1:
            raise ValidationError(
                _("Hay %(count)s temas llamados «%(value)s»: escriba «Programa > Producto».")
                % {"count": len(found), "value": value})
        return found[0]

    def comuna(self, value: str) -> tuple[str, str]:
        key = value.strip()
        if key.isdigit():
            key = key.zfill(5)  # Excel drops the leading zero of 05101
            found = self.comunas.get(key)
        else:
            found = self.comunas.get(plain_key(key))
        if found is None:
            raise ValidationError(_("No existe la comuna «%(value)s» (use el código CUT de 5 "
                                    "dígitos, p. ej. 13101).") % {"value": value})
        return found

    def region(self, value: str) -> str:
        key = value.strip()
        key = key.zfill(2) if key.isdigit() else plain_key(key)
        found = self.regions.get(key)
        if found is None:
            raise ValidationError(_("No existe la región «%(value)s» (use el código CUT, "
                                    "p. ej. 13).") % {"value": value})
        return found


# --- one row ---------------------------------------------------------------------------------

@dataclass(slots=True)
class ImportRow:
    """A checked row, with every code resolved to an id."""

    line: int
    reference: str
    received_at: datetime
    channel_id: int
    self_service: bool
    ticket_type_id: int
    informative: bool  # Type 1 workflow
    topic_id: int
    area_id: int | None
    area_given: bool
    region_id: str | None
    comuna_id: str | None
    requester_type_id: int | None
    organization_id: int | None
    full_name: str
    rut: str
    email: str
    phone: str  # as given (trimmed)
    phone_key: str  # normalize_phone, for the identity
    subject: str
    detail: str
    status: str
    closed_at: datetime | None
    urgency: str
    due_at: datetime | None
    citizen_id: int | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    value: str
    message: str
    reference: str = ""


def parse_moment(value: str, zone: ZoneInfo) -> datetime:
    """ISO 8601 (with or without offset) or dd-mm-yyyy [hh:mm[:ss]]; a time without offset
    is Chile time. Raises ValueError."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        match = _DMY.match(text)
        if not match:
            raise
        day, month, year, hour, minute, second = match.groups()
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


class RowChecker:
    """Checks rows one by one against the catalog; collects every problem of a row."""

    def __init__(self, catalog: ImportCatalog, *, now: datetime | None = None):
        self.catalog = catalog
        self.zone = chile_zone()
        self.latest = (now or timezone.now()) + timedelta(hours=1)
        self.earliest = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
        # Many rows repeat the same RUT, e-mail or catalog value: check each once.
        self._rut_cache: dict[str, str | ValidationError] = {}
        self._email_cache: dict[str, bool] = {}
        self._lookups: dict[str, dict] = {}
        self._plain_keys: dict[str, str] = {}

    def _lookup(self, column: str, raw: str, resolve):
        """``resolve(raw)`` once per distinct value of a column (files repeat the same few
        codes thousands of times): the value, or a ValidationError's message."""
        cache = self._lookups.setdefault(column, {})
        found = cache.get(raw)
        if found is None:
            try:
                found = (resolve(raw), None)
            except ValidationError as exc:
                found = (None, exc.messages[0])
            cache[raw] = found
        return found

    def _moment(self, value: str, column: str, errors: list) -> datetime | None:
        try:
            moment = parse_moment(value, self.zone)
        except ValueError:
            errors.append((column, value, _(
                "La fecha «%(value)s» no se entiende: use AAAA-MM-DD HH:MM (ISO 8601) o "
                "DD-MM-AAAA HH:MM.") % {"value": value}))
            return None
        if not self.earliest <= moment <= self.latest:
            errors.append((column, value, _("La fecha «%(value)s» está fuera de rango (antes "
                                            "de %(year)s o en el futuro).")
                           % {"value": value, "year": EARLIEST_YEAR}))
            return None
        return moment

    def _rut(self, value: str, errors: list) -> str:
        cached = self._rut_cache.get(value)
        if cached is None:
            try:
                cached = rut_normalize(value)
            except ValidationError as exc:
                cached = exc
            self._rut_cache[value] = cached
        if isinstance(cached, ValidationError):
            errors.append(("rut", value, cached.messages[0]))
            return ""
        return cached

    def _email(self, value: str, errors: list) -> str:
        email = normalize_email(value)
        valid = self._email_cache.get(email)
        if valid is None:
            try:
                validate_email(email)
                valid = len(email) <= 254
            except ValidationError:
                valid = False
            self._email_cache[email] = valid
        if not valid:
            errors.append(("correo", value, _("El correo «%(value)s» no es válido.")
                           % {"value": value}))
            return ""
        return email

    def _plain(self, raw: str) -> str:
        key = self._plain_keys.get(raw)
        if key is None:
            key = self._plain_keys[raw] = plain_key(raw)
        return key

    def _channel(self, raw: str) -> Channel:
        channel = self.catalog.channels.get(plain_key(raw))
        if channel is None:
            codes = ", ".join(sorted({c.code for c in self.catalog.channels.values()}))
            raise ValidationError(_("No existe el canal «%(value)s» (códigos: %(codes)s).")
                                  % {"value": raw, "codes": codes})
        return channel

    def _type(self, raw: str) -> TicketType:
        ticket_type = self.catalog.types.get(plain_key(raw))
        if ticket_type is None:
            raise ValidationError(_("No existe el motivo «%(value)s» en esta institución.")
                                  % {"value": raw})
        return ticket_type

    def _area(self, raw: str) -> int:
        area_id = self.catalog.areas.get(plain_key(raw))
        if area_id is None:
            raise ValidationError(_("No existe el área «%(value)s» en esta institución.")
                                  % {"value": raw})
        return area_id

    def _requester_type(self, raw: str) -> int:
        found = self.catalog.requester_types.get(plain_key(raw))
        if found is None:
            raise ValidationError(_("No existe el tipo de usuario «%(value)s».")
                                  % {"value": raw})
        return found

    def _organization(self, raw: str) -> Organization:
        found = self.catalog.organizations.get(plain_key(raw))
        if found is None:
            raise ValidationError(_("No existe el establecimiento «%(value)s» (use su código "
                                    "o su nombre).") % {"value": raw})
        return found

    def check(self, line: int, values: dict[str, str]) -> tuple[ImportRow | None, list[tuple]]:
        """(row, []) or (None, [(column, value, message), …])."""
        errors: list[tuple] = []
        get = values.get
        catalog = self.catalog

        for column in REQUIRED_COLUMNS:
            if not get(column, "").strip():
                errors.append((column, "", _("Falta el valor de «%(column)s».")
                               % {"column": column}))
        reference = get("referencia", "").strip()
        if len(reference) > MAX_REFERENCE_CHARS:
            errors.append(("referencia", reference[:80], _(
                "La referencia tiene más de %(max)s caracteres.") % {"max": MAX_REFERENCE_CHARS}))

        received_at = closed_at = due_at = None
        if get("fecha_ingreso", "").strip():
            received_at = self._moment(values["fecha_ingreso"], "fecha_ingreso", errors)
        if get("fecha_cierre", "").strip():
            closed_at = self._moment(values["fecha_cierre"], "fecha_cierre", errors)
        if get("plazo", "").strip():
            due_at = self._moment(values["plazo"], "plazo", errors)

        lookup = self._lookup
        channel = ticket_type = topic = None
        raw = get("canal", "").strip()
        if raw:
            channel, message = lookup("canal", raw, self._channel)
            if message:
                errors.append(("canal", raw, message))
        raw = get("motivo", "").strip()
        if raw:
            ticket_type, message = lookup("motivo", raw, self._type)
            if message:
                errors.append(("motivo", raw, message))
        raw = get("tema", "").strip()
        if raw:
            topic, message = lookup("tema", raw, catalog.topic)
            if message:
                errors.append(("tema", raw, message))

        region_id = comuna_id = None
        raw = get("comuna", "").strip()
        if raw:
            found, message = lookup("comuna", raw, catalog.comuna)
            if message:
                errors.append(("comuna", raw, message))
            else:
                comuna_id, region_id = found
        raw = get("region", "").strip()
        if raw:
            region, message = lookup("region", raw, catalog.region)
            if message:
                errors.append(("region", raw, message))
            else:
                if comuna_id and region != region_id:
                    errors.append(("comuna", get("comuna", ""), _(
                        "La comuna «%(comuna)s» no pertenece a la región «%(region)s».")
                        % {"comuna": get("comuna", ""), "region": raw}))
                region_id = region

        area_id = None
        raw = get("area", "").strip()
        if raw:
            area_id, message = lookup("area", raw, self._area)
            if message:
                errors.append(("area", raw, message))
        requester_type_id = None
        raw = get("tipo_usuario", "").strip()
        if raw:
            requester_type_id, message = lookup("tipo_usuario", raw, self._requester_type)
            if message:
                errors.append(("tipo_usuario", raw, message))
        organization_id = None
        raw = get("establecimiento", "").strip()
        if raw:
            organization, message = lookup("establecimiento", raw, self._organization)
            if message:
                errors.append(("establecimiento", raw, message))
            else:
                organization_id = organization.pk
                if region_id is None:
                    region_id = organization.region_id
                    comuna_id = comuna_id or organization.comuna_id

        status = None
        raw = get("estado", "").strip()
        if raw:
            status = STATUS_WORDS.get(self._plain(raw))
            if status is None:
                errors.append(("estado", raw, _("El estado «%(value)s» no existe (use "
                                                "recibido, en proceso, esperando o cerrado).")
                               % {"value": raw}))
        elif not any(column == "fecha_cierre" for column, _v, _m in errors):
            status = Status.CLOSED if closed_at else Status.NEW
        if status == Status.CLOSED and closed_at is None and not get("fecha_cierre", "").strip():
            errors.append(("fecha_cierre", "", _("Un requerimiento cerrado necesita su fecha "
                                                 "de cierre.")))
        if status is not None and status != Status.CLOSED and closed_at is not None:
            errors.append(("fecha_cierre", get("fecha_cierre", ""), _(
                "Un requerimiento en estado «%(value)s» no puede tener fecha de cierre.")
                % {"value": get("estado", "")}))
        if received_at and closed_at and closed_at < received_at:
            errors.append(("fecha_cierre", get("fecha_cierre", ""), _(
                "La fecha de cierre es anterior a la de ingreso.")))
        if received_at and due_at and due_at < received_at:
            errors.append(("plazo", get("plazo", ""), _(
                "El plazo es anterior a la fecha de ingreso.")))

        urgency = Urgency.MEDIUM
        raw = get("urgencia", "").strip()
        if raw:
            urgency = URGENCY_WORDS.get(self._plain(raw))
            if urgency is None:
                errors.append(("urgencia", raw, _("La urgencia «%(value)s» no existe (use "
                                                  "baja, media o alta).") % {"value": raw}))

        full_name = get("nombre", "").strip()
        if len(full_name) > 200:
            errors.append(("nombre", full_name[:80], _("El nombre tiene más de 200 caracteres.")))
        subject = get("asunto", "").strip()
        if len(subject) > 200:
            errors.append(("asunto", subject[:80], _("El asunto tiene más de 200 caracteres.")))
        detail = get("detalle", "").strip()
        if len(detail) > MAX_DETAIL_CHARS:
            errors.append(("detalle", detail[:80], _("El detalle tiene más de %(max)s "
                                                     "caracteres.") % {"max": MAX_DETAIL_CHARS}))
        raw = get("rut", "").strip()
        rut = self._rut(raw, errors) if raw else ""
        raw = get("correo", "").strip()
        email = self._email(raw, errors) if raw else ""
        phone = get("telefono", "").strip()
        phone_key = ""
        if phone:
            phone_key = normalize_phone(phone)
            if not 8 <= len(phone_key) <= 15 or len(phone) > 30:
                errors.append(("telefono", phone, _("El teléfono «%(value)s» no es válido.")
                               % {"value": phone}))

        if errors:
            return None, errors
        area_given = area_id is not None
        return ImportRow(
            line=line, reference=reference, received_at=received_at, channel_id=channel.pk,
            self_service=not channel.is_assisted, ticket_type_id=ticket_type.pk,
            informative=ticket_type.workflow == Workflow.INFORMATIVE, topic_id=topic.pk,
            area_id=area_id if area_given else topic.default_area_id, area_given=area_given,
            region_id=region_id, comuna_id=comuna_id, requester_type_id=requester_type_id,
            organization_id=organization_id, full_name=full_name, rut=rut, email=email,
            phone=phone, phone_key=phone_key, subject=subject, detail=detail, status=status,
            closed_at=closed_at, urgency=urgency, due_at=due_at,
        ), []


# --- reading ---------------------------------------------------------------------------------

def header_columns(header: list[str]) -> list[str | None]:
    """Canonical name of each header cell; raises ImportFileError on unknown, repeated or
    missing columns (an unknown one is usually a typo that would drop data silently)."""
    aliases = {plain_key(alias): name for name, spellings in COLUMNS.items()
               for alias in spellings}
    names: list[str | None] = []
    unknown, seen = [], set()
    for cell in header:
        key = plain_key(cell)
        if not key:
            names.append(None)  # a trailing empty column Excel adds
            continue
        name = aliases.get(key)
        if name is None:
            unknown.append(cell)
        elif name in seen:
            raise ImportFileError(_("La columna «%(name)s» aparece dos veces en el "
                                    "encabezado.") % {"name": cell})
        seen.add(name)
        names.append(name)
    if unknown:
        raise ImportFileError(
            _("Columnas desconocidas en el encabezado: %(unknown)s. Columnas aceptadas: "
              "%(known)s.") % {"unknown": ", ".join(f"«{u}»" for u in unknown),
                               "known": ", ".join(COLUMNS)})
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        raise ImportFileError(_("Faltan columnas obligatorias: %(missing)s.")
                              % {"missing": ", ".join(missing)})
    return names


def read_rows(path, delimiter: str) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """Yield (line, {column: value}, "") per record, or (line, None, message) for a record
    with the wrong number of fields. ``line`` is the physical line where the record
    starts (a quoted field may span lines). Raises ImportFileError on a broken structure."""
    csv.field_size_limit(MAX_FIELD_CHARS)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFileError(_("El archivo está vacío.")) from None
        names = header_columns(header)
        width = len(names)
        last_line = reader.line_num
        try:
            for record in reader:
                line = last_line + 1
                last_line = reader.line_num
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # a blank line
                if len(record) != width:
                    # Excel leaves trailing empty cells off short rows: accept when the
                    # missing or extra cells are empty.
                    if len(record) > width and not any(c.strip() for c in record[width:]):
                        record = record[:width]
                    elif len(record) < width:
                        record = record + [""] * (width - len(record))
                    else:
                        yield line, None, _(
                            "La fila tiene %(got)s columnas y el encabezado %(want)s (¿un "
                            "separador «%(sep)s» dentro de un texto sin comillas?).") % {
                            "got": len(record), "want": width, "sep": delimiter}
                        continue
                yield line, {name: value for name, value in zip(names, record, strict=True)
                             if name}, ""
        except csv.Error as exc:
            raise ImportFileError(
                _("Línea %(line)s: el archivo no es un CSV válido desde aquí (%(error)s); "
                  "revise las comillas de esa fila.") % {"line": last_line + 1,
                                                          "error": exc}) from None
