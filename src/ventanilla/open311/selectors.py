"""Reads for Open311: services (topics), service requests (tickets) and their public updates."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from ventanilla.catalog.models import Institution, Topic
from ventanilla.tickets.models import EventKind, Status, Ticket, TicketEvent

MAX_REQUESTS = 1000  # GeoReport v2: "90 days or first 1000 requests, whichever is smallest"
DEFAULT_SPAN_DAYS = 90
# Public timeline events that a partner system follows as updates (citizen messages and
# notification records are left out: they carry the person's own words or addresses).
UPDATE_KINDS = (EventKind.CREATED, EventKind.STATUS_CHANGED, EventKind.REPLY,
                EventKind.MERGED, EventKind.SPLIT)


def institution_active_list():
    return Institution.objects.filter(is_active=True)


def service_list(*, institution: Institution):
    return (Topic.objects.filter(institution=institution, is_active=True)
            .select_related("parent").order_by("position", "name", "id"))


def service_get(*, institution: Institution, code: str) -> Topic | None:
    if not str(code).isdigit() or len(str(code)) > 18:
        return None
    return Topic.objects.filter(institution=institution, is_active=True, pk=int(code)).first()


def _tickets():
    return Ticket.objects.select_related("topic", "area", "institution")


def request_list(*, institution: Institution, ids=None, service_code=None, start=None, end=None,
                 status=None):
    qs = _tickets().filter(institution=institution)
    if ids:
        # The specification: service_request_id "overrides all other arguments".
        return list(qs.filter(folio__in=ids).order_by("-received_at", "-id")[:MAX_REQUESTS])
    else:
        # Without ids the span defaults to the last 90 days (the specification's default).
        if start is None and end is None:
            start = timezone.now() - timezone.timedelta(days=DEFAULT_SPAN_DAYS)
        if start is not None:
            qs = qs.filter(received_at__gte=start)
        if end is not None:
            qs = qs.filter(received_at__lte=end)
    if service_code is not None:
        qs = qs.filter(topic_id=service_code)
    statuses = set(status or ())
    if statuses == {"open"}:
        qs = qs.exclude(status=Status.CLOSED)
    elif statuses == {"closed"}:
        qs = qs.filter(status=Status.CLOSED)
    return list(qs.order_by("-received_at", "-id")[:MAX_REQUESTS])


def request_get(*, folio: str, institution: Institution | None = None) -> Ticket | None:
    qs = _tickets().filter(folio=folio)
    if institution is not None:
        qs = qs.filter(institution=institution)
    return qs.first()


def request_extras(tickets) -> dict[int, dict]:
    """Per ticket: the Open311 data kept on the creation event (location, media) and the last
    public reply (``status_notes``). Two queries whatever the number of tickets."""
    ids = [t.pk for t in tickets]
    extras: dict[int, dict] = {pk: {"open311": {}, "notes": None} for pk in ids}
    created = TicketEvent.objects.filter(ticket_id__in=ids, kind=EventKind.CREATED)
    for ticket_id, data in created.values_list("ticket_id", "data"):
        extras[ticket_id]["open311"] = (data or {}).get("open311") or {}
    replies = (TicketEvent.objects.filter(ticket_id__in=ids, kind=EventKind.REPLY, is_public=True)
               .order_by("created_at", "id").values_list("ticket_id", "body"))
    for ticket_id, body in replies:
        extras[ticket_id]["notes"] = body
    return extras


def update_list(*, institution: Institution, start: datetime | None, end: datetime | None):
    if start is None and end is None:
        start = timezone.now() - timezone.timedelta(days=DEFAULT_SPAN_DAYS)
    qs = (TicketEvent.objects.filter(ticket__institution=institution, is_public=True,
                                     kind__in=UPDATE_KINDS)
          .select_related("ticket"))
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lte=end)
    return list(qs.order_by("created_at", "id")[:MAX_REQUESTS])


def token_get(*, token: str, institution: Institution | None = None) -> Ticket | None:
    from ventanilla.api.models import IdempotencyRecord

    qs = IdempotencyRecord.objects.filter(scope__startswith="open311:", key=token)
    if institution is not None:
        qs = qs.filter(ticket__institution=institution)
    record = qs.select_related("ticket").first()
    return record.ticket if record else None


def local(value: datetime | None) -> str | None:
    """ISO 8601 (W3C subset) with the offset, in the installation's time zone."""
    if value is None:
        return None
    return timezone.localtime(value, timezone=_tz()).isoformat(timespec="seconds")


def _tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.TIME_ZONE)
