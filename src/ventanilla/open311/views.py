"""GeoReport v2 endpoints (https://wiki.open311.org/GeoReport_v2). Thin: parse, call a
selector or the intake adapter, render JSON or XML; every bad input is a spec-format error."""

from __future__ import annotations

import math
import time
from datetime import datetime
from datetime import time as dtime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from ventanilla.api.services import api_key_authenticate
from ventanilla.api.throttling import window_increment
from ventanilla.catalog.models import Channel, Institution
from ventanilla.core.ratelimit import client_key, limited_json_response, rate_limit
from ventanilla.open311 import selectors
from ventanilla.open311.render import error_response, respond
from ventanilla.open311.services import (
    Open311Conflict,
    Open311Request,
    open311_request_create,
    request_hash,
    ticket_type_for_open311,
)
from ventanilla.tickets.models import Status

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-22T00:00:00-03:00"
TEXT_MAX = 10000
FIELD_MAX = 200
MAX_ATTRIBUTES = 50


class Problem(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


# --- helpers -----------------------------------------------------------------------------

def _param(data, name: str, max_length: int = FIELD_MAX) -> str:
    value = (data.get(name) or "").strip()
    if "\x00" in value:
        raise Problem(400, _("El parámetro %(name)s contiene caracteres no válidos.")
                      % {"name": name})
    if len(value) > max_length:
        raise Problem(400, _("El parámetro %(name)s es demasiado largo (máximo %(max)s).")
                      % {"name": name, "max": max_length})
    return value


def _jurisdiction(data, *, required: bool) -> Institution | None:
    slug = _param(data, "jurisdiction_id")
    if slug:
        institution = selectors.institution_active_list().filter(slug=slug).first()
        if institution is None:
            raise Problem(404, _("jurisdiction_id desconocido: %(slug)s") % {"slug": slug})
        return institution
    institutions = list(selectors.institution_active_list()[:2])
    if len(institutions) == 1:
        return institutions[0]
    if required:
        raise Problem(400, _("Falta jurisdiction_id: esta instalación atiende a varias "
                             "instituciones."))
    return None


def _date(data, name: str, *, end: bool = False) -> datetime | None:
    raw = _param(data, name, 40)
    if not raw:
        return None
    tz = selectors._tz()
    try:
        value = parse_datetime(raw.replace(" ", "+") if "T" in raw else raw)
    except ValueError:
        value = None
    if value is None:
        try:
            day = parse_date(raw)
        except ValueError:
            day = None
        if day is None:
            raise Problem(400, _("%(name)s no es una fecha ISO 8601 válida (por ejemplo "
                                 "2026-03-01T00:00:00-03:00).") % {"name": name})
        value = datetime.combine(day, dtime.max if end else dtime.min)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=tz)
    return value


def _throttle(request, bucket: str, ident: str) -> None:
    rates = settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {})
    rate = rates.get(bucket)
    if not rate:
        return
    count, _sep, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(period[:1], 60)
    window = int(time.time() // seconds)
    # One atomic increment in the shared cache (as the API's throttles and the web limits).
    used = window_increment(f"open311:throttle:{bucket}:{ident}:{window}", timeout=seconds)
    if used > int(count):
        retry = seconds - int(time.time()) % seconds
        raise Problem(429, _("Demasiadas solicitudes; intente de nuevo en %(s)s segundos.")
                      % {"s": retry}, retry_after=retry)


def _client_ip(request) -> str:
    # The address the trusted proxy saw (TRUSTED_PROXY_COUNT): behind a proxy REMOTE_ADDR is
    # the proxy's, and every civic app would share one budget.
    return client_key(request) or "unknown"


def _guard(view):
    """Turn a ``Problem`` into the specification's error list; throttle per IP."""
    def wrapped(request, *args, fmt: str = "json", **kwargs):
        try:
            if request.method == "GET":
                _throttle(request, "anon", _client_ip(request))
            return view(request, *args, fmt=fmt, **kwargs)
        except Problem as problem:
            headers = {}
            if problem.retry_after is not None:
                headers["Retry-After"] = str(problem.retry_after)
            return error_response(fmt, problem.status, problem.description, headers=headers)
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _open311_status(ticket) -> str:
    return "closed" if ticket.status == Status.CLOSED else "open"


def _may_read_texts(request, institution_id: int) -> bool:
    """The person's own words and whereabouts (description, answers, address, location) are
    published only to a read key of the ticket's institution (``api_key`` parameter);
    anyone else gets status, service, agency and dates. Personal data stays out of a
    public feed (Ley 21.719: purpose and minimisation)."""
    cache = getattr(request, "_open311_reader", None)
    if cache is None:
        api_key = api_key_authenticate(_param(request.GET, "api_key", 200))
        cache = api_key.institution_id if api_key and api_key.can_read else 0
        request._open311_reader = cache
    return cache == institution_id


def _request_row(ticket, extra: dict, *, with_texts: bool) -> dict:
    data = (extra.get("open311") or {}) if with_texts else {}
    return {
        "service_request_id": ticket.folio,
        "status": _open311_status(ticket),
        "status_notes": extra.get("notes") if with_texts else None,
        "service_name": ticket.topic.name,
        "service_code": str(ticket.topic_id),
        "description": ticket.subject if with_texts else None,
        "agency_responsible": ticket.area.name if ticket.area_id else None,
        "service_notice": None,
        "requested_datetime": selectors.local(ticket.received_at),
        "updated_datetime": selectors.local(ticket.updated_at),
        "expected_datetime": selectors.local(ticket.next_due_at or ticket.due_at),
        "address": data.get("address_string") or None,
        "address_id": data.get("address_id") or None,
        "zipcode": None,
        "lat": data.get("lat"),
        "long": data.get("long"),
        "media_url": data.get("media_url") or None,
    }


def _requests_response(request, fmt: str, tickets) -> object:
    extras = selectors.request_extras(tickets)
    rows = [_request_row(t, extras[t.pk],
                         with_texts=_may_read_texts(request, t.institution_id))
            for t in tickets]
    return respond(fmt, "service_requests", "request", rows)


# --- endpoints ---------------------------------------------------------------------------

@require_GET
@_guard
def discovery(request, fmt):
    institutions = list(selectors.institution_active_list()[:2])
    contact = (institutions[0].contact_email if len(institutions) == 1
               and institutions[0].contact_email else settings.DEFAULT_FROM_EMAIL)
    row = {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": _("Solicite una clave de API a la institución (administración de "
                         "Ventanilla, claves de API)."),
        "endpoints": [{
            "specification": SPEC_URL,
            "url": request.build_absolute_uri("/open311/v2"),
            "changeset": CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    return respond(fmt, "discovery", None, row)


def _service_row(topic) -> dict:
    return {
        "service_code": str(topic.pk),
        "service_name": topic.name,
        "description": topic.full_name,
        "metadata": False,  # topics carry no extra fields yet
        "type": "realtime",
        "keywords": "",
        "group": topic.parent.name if topic.parent_id else topic.name,
    }


@require_GET
@_guard
def service_list(request, fmt):
    institution = _jurisdiction(request.GET, required=True)
    rows = [_service_row(t) for t in selectors.service_list(institution=institution)]
    return respond(fmt, "services", "service", rows)


@require_GET
@_guard
def service_definition(request, service_code, fmt):
    institution = _jurisdiction(request.GET, required=True)
    topic = selectors.service_get(institution=institution, code=service_code)
    if topic is None:
        raise Problem(404, _("service_code desconocido: %(code)s") % {"code": service_code[:50]})
    return respond(fmt, "service_definition", None,
                   {"service_code": str(topic.pk), "attributes": []})


@csrf_exempt
@require_http_methods(["GET", "POST"])
@rate_limit("open311_post", on_limit=limited_json_response)
@_guard
def requests_collection(request, fmt):
    if request.method == "POST":
        return _request_create(request, fmt)
    data = request.GET
    institution = _jurisdiction(data, required=True)
    ids = [x.strip() for x in _param(data, "service_request_id", 4000).split(",") if x.strip()]
    if len(ids) > selectors.MAX_REQUESTS:
        raise Problem(400, _("Demasiados service_request_id (máximo 1000)."))
    code = _param(data, "service_code")
    service_code = None
    if code:
        topic = selectors.service_get(institution=institution, code=code)
        if topic is None:
            raise Problem(404, _("service_code desconocido: %(code)s") % {"code": code[:50]})
        service_code = topic.pk
    status = [x.strip() for x in _param(data, "status").lower().split(",") if x.strip()]
    if any(x not in ("open", "closed") for x in status):
        raise Problem(400, _("status debe ser open, closed o ambos separados por coma."))
    start, end = _date(data, "start_date"), _date(data, "end_date", end=True)
    if start and end and start > end:
        raise Problem(400, _("start_date debe ser anterior a end_date."))
    tickets = selectors.request_list(institution=institution, ids=ids, service_code=service_code,
                                     start=start, end=end, status=status or None)
    return _requests_response(request, fmt, tickets)


def _float(data, name: str, low: float, high: float) -> float | None:
    raw = _param(data, name, 40)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise Problem(400, _("%(name)s no es una coordenada válida.") % {"name": name})
    return value


def _request_create(request, fmt):
    data = request.POST
    raw_key = _param(data, "api_key")
    if not raw_key:
        raise Problem(403, _("Falta api_key: se requiere una clave para crear solicitudes."))
    api_key = api_key_authenticate(raw_key)
    if api_key is None:
        raise Problem(403, _("api_key no válida o revocada."))
    _throttle(request, "api_key", str(api_key.pk))
    channel = Channel.objects.filter(code="api", is_active=True).first()
    if (not api_key.can_write or channel is None
            or not api_key.channels.filter(pk=channel.pk).exists()):
        raise Problem(403, _("Esta clave no puede ingresar solicitudes por el canal API."))
    slug = _param(data, "jurisdiction_id")
    if slug:
        if not selectors.institution_active_list().filter(slug=slug).exists():
            raise Problem(404, _("jurisdiction_id desconocido: %(slug)s") % {"slug": slug})
        if slug != api_key.institution.slug:
            raise Problem(403, _("La clave no corresponde a esa jurisdiction_id."))
    institution = api_key.institution

    code = _param(data, "service_code")
    if not code:
        raise Problem(400, _("Falta service_code."))
    topic = selectors.service_get(institution=institution, code=code)
    if topic is None:
        raise Problem(404, _("service_code desconocido: %(code)s") % {"code": code[:50]})

    errors = []
    lat, long = _float(data, "lat", -90, 90), _float(data, "long", -180, 180)
    address_string = _param(data, "address_string", 500)
    address_id = _param(data, "address_id")
    if (lat is None) != (long is None):
        errors.append(_("lat y long deben enviarse juntos."))
    elif lat is None and not address_string and not address_id:
        errors.append(_("Indique la ubicación: lat y long, address_string o address_id."))
    email = _param(data, "email", 254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(_("email no es un correo electrónico válido."))
    media_url = _param(data, "media_url", 500)
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except ValidationError:
            errors.append(_("media_url no es una URL válida."))
    description = _param(data, "description", TEXT_MAX)
    attributes = {}
    for name in data:
        if name.startswith("attribute[") and "]" in name:
            attr = name[len("attribute["):name.index("]")].strip()
            values = [v.strip() for v in data.getlist(name)]
            if not attr or len(attr) > 100 or any(len(v) > 1000 for v in values):
                errors.append(_("Atributo no válido: %(name)s") % {"name": name[:60]})
                continue
            attributes[attr] = values if name.endswith("[]") else values[-1]
    if len(attributes) > MAX_ATTRIBUTES:
        errors.append(_("Demasiados atributos."))
    if errors:
        return error_response(fmt, 400, *errors)
    ticket_type = ticket_type_for_open311(institution)
    if ticket_type is None:
        raise Problem(400, _("La institución no tiene un tipo de requerimiento para Open311."))

    req = Open311Request(
        topic=topic, description=description or topic.name,
        first_name=_param(data, "first_name"), last_name=_param(data, "last_name"),
        email=email, phone=_param(data, "phone", 30), lat=lat, long=long,
        address_string=address_string, address_id=address_id,
        device_id=_param(data, "device_id"), account_id=_param(data, "account_id"),
        media_url=media_url, attributes=attributes,
    )
    idem = request.headers.get("Idempotency-Key", "").strip()[:200]
    body = request_hash([(k, v) for k in data for v in data.getlist(k) if k != "api_key"])
    try:
        ticket, token = open311_request_create(
            api_key=api_key, req=req, channel=channel, ticket_type=ticket_type,
            idempotency_key=idem, body_hash=body)
    except Open311Conflict:
        raise Problem(409, _("Idempotency-Key ya usada con otro contenido.")) from None
    except ValidationError as exc:
        messages = [m for msgs in getattr(exc, "message_dict", {"": exc.messages}).values()
                    for m in msgs]
        return error_response(fmt, 400, *messages)
    notice = _("Folio %(folio)s. Respuesta comprometida antes del %(due)s.") % {
        "folio": ticket.folio, "due": selectors.local(ticket.due_at) or "—"}
    return respond(fmt, "service_requests", "request", [{
        "service_request_id": ticket.folio, "service_notice": notice,
        "account_id": req.account_id or None, "token": token,
    }])


@require_GET
@_guard
def request_detail(request, service_request_id, fmt):
    institution = _jurisdiction(request.GET, required=False)
    ticket = selectors.request_get(folio=service_request_id[:40], institution=institution)
    if ticket is None:
        raise Problem(404, _("service_request_id desconocido."))
    return _requests_response(request, fmt, [ticket])


@require_GET
@_guard
def token_detail(request, token, fmt):
    institution = _jurisdiction(request.GET, required=False)
    ticket = selectors.token_get(token=token[:200], institution=institution)
    if ticket is None:
        raise Problem(404, _("token desconocido."))
    return respond(fmt, "service_requests", "request",
                   [{"service_request_id": ticket.folio, "token": token}])


@require_GET
@_guard
def request_updates(request, fmt):
    data = request.GET
    institution = _jurisdiction(data, required=True)
    start, end = _date(data, "start_date"), _date(data, "end_date", end=True)
    if start and end and start > end:
        raise Problem(400, _("start_date debe ser anterior a end_date."))
    rows = []
    for event in selectors.update_list(institution=institution, start=start, end=end):
        if event.to_status:
            status = "closed" if event.to_status == Status.CLOSED else "open"
        else:
            status = _open311_status(event.ticket)
        rows.append({
            "update_id": str(event.pk),
            "service_request_id": event.ticket.folio,
            "status": status,
            "updated_datetime": selectors.local(event.created_at),
            "description": (event.body if _may_read_texts(request, institution.pk) else "")
            or event.get_kind_display(),
            "media_url": None,
        })
    return respond(fmt, "service_requests_updates", "request_update", rows)
