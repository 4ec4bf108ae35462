"""Keeps the dashboard rollups exact: ``rollup_refresh`` (the worker, every minute) and
``rollup_rebuild`` (the ``reports_rebuild`` command, tests).

The unit of work is one institution's day (Chile time). A day is always rebuilt whole from
the source table — its rows deleted and the fresh aggregate inserted in one transaction — so
a rollup row is never adjusted by increments and is always the exact aggregate of its day as
of its last rebuild. In the same transaction the month rows of that day's month
(``TicketMonthlyStat``, ``ComunaMonthlyStat``) are rebuilt whole from the month's day rows,
so a month is exact whenever its days are. The refresh only decides *which* days to rebuild:

- tickets: the days of reception of tickets whose ``updated_at`` is past the watermark minus
  ``ROLLUP_OVERLAP`` (a transaction that stamped ``updated_at`` before the last refresh but
  committed after it is still seen); ``received_at`` never changes, so a ticket stays in one
  day and every change to it lands in that day's rebuild.
- interactions (append-only): the days of interactions whose id is past the id watermark.
  Ids are not handed out in commit order, so the watermark only moves to an id that was
  seen at least ``ROLLUP_OVERLAP`` ago (by then every lower id has committed or rolled back).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DateTimeField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from ventanilla.catalog.models import Channel, Institution
from ventanilla.reports.models import (
    ComunaMonthlyStat,
    InteractionDailyStat,
    RollupState,
    TicketDailyStat,
    TicketMonthlyStat,
)
from ventanilla.sla.selectors import DUE_FIELD, STAGES, answered_expression
from ventanilla.tickets.models import Interaction, Status, Ticket

logger = logging.getLogger(__name__)

ROLLUP_OVERLAP = timedelta(minutes=10)
FIRST_ANSWER_TARGET = timedelta(hours=72)
TICKETS_STATE = "tickets"
INTERACTIONS_STATE = "interactions"
# The highest interaction id seen by a refresh and when: promoted to the watermark once it
# is older than the overlap.
INTERACTIONS_SEEN_STATE = "interactions_seen"
TICKET_DIMENSIONS = ("channel_id", "ticket_type_id", "topic_id", "area_id", "region_id",
                     "comuna_id")
# What the month rows keep of the day rows' dimensions, and the counts they sum.
MONTH_DIMENSIONS = ("channel_id", "ticket_type_id", "topic_id", "area_id", "region_id")
COMUNA_MONTH_DIMENSIONS = ("channel_id", "area_id", "region_id", "comuna_id")
TICKET_COUNTS = ("received", "closed", "ack_due", "ack_on_time", "ack_late", "plan_due",
                 "plan_on_time", "plan_late", "final_due", "final_on_time", "final_late",
                 "answered_72h")
# The counts ComunaMonthlyStat keeps: ``received``, and ``closed`` once the model has it
# (the comuna figure needs both to read month rows; until then it reads the days).
COMUNA_COUNTS = tuple(name for name in ("received", "closed")
                      if name in {field.name for field in ComunaMonthlyStat._meta.concrete_fields})
STAGE_PREFIX = {"ack": "ack", "plan": "plan", "final": "final"}


def chile_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """The first instant of a Chile day, as an aware datetime. On the day clocks move forward
    at midnight (September), 00:00 does not exist: ``fold=0`` gives the offset in force
    before the change, which is the instant the day really starts (01:00 new time)."""
    return datetime.combine(day, time.min, tzinfo=chile_zone())


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) instants of the Chile days ``first`` .. ``last`` (inclusive), in UTC
    (aware datetimes of one zone subtract and compare by wall clock, not by instant)."""
    return (day_start(first).astimezone(UTC),
            day_start(last + timedelta(days=1)).astimezone(UTC))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months that ``first``..``last`` touch."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def chile_day(field: str) -> TruncDate:
    """The Chile day of a datetime column, computed by the database (both backends)."""
    return TruncDate(field, tzinfo=chile_zone())


def first_answer_expression():
    """When the person first heard back: a reply, or the closing message for a ticket closed
    without one (closing notifies the person)."""
    return Coalesce("first_answered_at", "closed_at")


# --- ticket days ---------------------------------------------------------------------------------

def _ticket_aggregates() -> dict:
    """The counts of one rollup row, as aggregates over tickets. Stage definitions are those
    of ``sla.selectors.sla_compliance`` (same answered-time expression)."""
    aggregates = {
        "received": Count("pk"),
        "closed": Count("pk", filter=Q(status=Status.CLOSED)),
        "answered_72h": Count("pk", filter=Q(rollup_first_answer__lte=F("rollup_answer_limit"))),
    }
    for stage in STAGES:
        due, answered, prefix = DUE_FIELD[stage], f"rollup_{stage}_answered", str(stage)
        aggregates[f"{prefix}_due"] = Count("pk", filter=Q(**{f"{due}__isnull": False}))
        aggregates[f"{prefix}_on_time"] = Count("pk", filter=Q(**{
            f"{due}__isnull": False, f"{answered}__lte": F(due)}))
        aggregates[f"{prefix}_late"] = Count("pk", filter=Q(**{
            f"{due}__isnull": False, f"{answered}__gt": F(due)}))
    return aggregates


def _insert_grouped(model, groups, *, constants: dict, columns: dict[str, str],
                    params: tuple = ()) -> int:
    """``INSERT INTO <model's table> SELECT … FROM (<groups>)``: an aggregate goes from the
    source table into its rollup inside the database, without a round trip of every row
    through Python (a three-year rebuild of millions of tickets writes millions of rows).
    ``constants``: column → value; ``columns``: column → SQL over the ``grouped`` subquery
    (whose columns are named after the ``values()``/``annotate()`` keys); ``params`` belong
    to those SQL snippets."""
    sql, group_params = groups.query.sql_with_params()
    quote = connection.ops.quote_name
    targets = [*constants, *columns]
    selects = ["%s"] * len(constants) + list(columns.values())
    # Table and column names come from the models; every value is a parameter.
    statement = (f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
                 f"({', '.join(quote(column) for column in targets)}) "
                 f"SELECT {', '.join(selects)} FROM ({sql}) AS grouped")
    with connection.cursor() as cursor:
        cursor.execute(statement, [*constants.values(), *params, *group_params])
        return cursor.rowcount


def _grouped(names: Iterable[str]) -> dict[str, str]:
    return {name: f"grouped.{connection.ops.quote_name(name)}" for name in names}


def _replace_ticket_days(institution_id: int, first: date, last: date) -> int:
    TicketDailyStat.objects.filter(institution_id=institution_id, day__gte=first,
                                   day__lte=last).delete()
    start, end = day_range(first, last)
    tickets = Ticket.objects.filter(institution_id=institution_id, received_at__gte=start,
                                    received_at__lt=end)
    tickets = tickets.alias(
        rollup_first_answer=first_answer_expression(),
        rollup_answer_limit=ExpressionWrapper(F("received_at") + FIRST_ANSWER_TARGET,
                                              output_field=DateTimeField()),
        **{f"rollup_{stage}_answered": answered_expression(stage) for stage in STAGES},
    )
    aggregates = _ticket_aggregates()
    groups = (tickets.annotate(stat_day=chile_day("received_at"))
              .values("stat_day", *TICKET_DIMENSIONS).annotate(**aggregates).order_by())
    # Self-service or assisted is the channel's; one CASE over the few assisted channels.
    assisted = list(Channel.objects.filter(is_assisted=True).values_list("pk", flat=True))
    self_service = "TRUE"
    if assisted:
        self_service = (f"CASE WHEN grouped.channel_id IN ({', '.join(['%s'] * len(assisted))})"
                        " THEN FALSE ELSE TRUE END")
    return _insert_grouped(
        TicketDailyStat, groups, constants={"institution_id": institution_id},
        columns={"day": "grouped.stat_day", "is_self_service": self_service,
                 **_grouped((*TICKET_DIMENSIONS, *aggregates))},
        params=tuple(assisted))


def rebuild_ticket_months(institution_id: int, months: Iterable[date]) -> int:
    """Replace the month rows of ``months`` (first days) with the sums of their day rows.
    Run inside the transaction that rebuilt the days (the benchmark calls it directly)."""
    created = 0
    for month in months:
        TicketMonthlyStat.objects.filter(institution_id=institution_id, month=month).delete()
        ComunaMonthlyStat.objects.filter(institution_id=institution_id, month=month).delete()
        days = TicketDailyStat.objects.filter(institution_id=institution_id, day__gte=month,
                                              day__lt=next_month(month))
        constants = {"institution_id": institution_id, "month": month}
        created += _insert_grouped(
            TicketMonthlyStat,
            days.values(*MONTH_DIMENSIONS).annotate(
                **{count: Sum(count) for count in TICKET_COUNTS}).order_by(),
            constants=constants, columns=_grouped((*MONTH_DIMENSIONS, *TICKET_COUNTS)))
        _insert_grouped(
            ComunaMonthlyStat,
            days.values(*COMUNA_MONTH_DIMENSIONS).annotate(
                **{count: Sum(count) for count in COMUNA_COUNTS}).order_by(),
            constants=constants, columns=_grouped((*COMUNA_MONTH_DIMENSIONS, *COMUNA_COUNTS)))
    return created


def _rebuild_ticket_days(institution_id: int, first: date, last: date) -> int:
    """Replace the rollup rows of days ``first``..``last`` with their exact aggregate, and
    the rows of the months they fall in with the sums of those months' days."""
    with transaction.atomic():
        _lock_state(TICKETS_STATE)
        created = _replace_ticket_days(institution_id, first, last)
        rebuild_ticket_months(institution_id, months_between(first, last))
    return created


def _rebuild_ticket_day_set(institution_id: int, days: list[date]) -> int:
    """The refresh's unit: scattered days of one month, rebuilt with their month at once
    (a month summed once, not once per changed day)."""
    with transaction.atomic():
        _lock_state(TICKETS_STATE)
        created = sum(_replace_ticket_days(institution_id, day, day) for day in days)
        rebuild_ticket_months(institution_id, sorted({month_start(day) for day in days}))
    return created


# --- interaction days ----------------------------------------------------------------------------

def _rebuild_interaction_days(institution_id: int, first: date, last: date) -> int:
    start, end = day_range(first, last)
    with transaction.atomic():
        _lock_state(INTERACTIONS_STATE)
        InteractionDailyStat.objects.filter(institution_id=institution_id, day__gte=first,
                                            day__lte=last).delete()
        groups = (Interaction.objects
                  .filter(institution_id=institution_id, occurred_at__gte=start,
                          occurred_at__lt=end)
                  .annotate(stat_day=chile_day("occurred_at"))
                  .values("stat_day", "channel_id", "kind", "is_self_service")
                  .annotate(count=Count("pk")).order_by())
        return _insert_grouped(
            InteractionDailyStat, groups, constants={"institution_id": institution_id},
            columns={"day": "grouped.stat_day",
                     **_grouped(("channel_id", "kind", "is_self_service", "count"))})


# --- state ---------------------------------------------------------------------------------------

def _state(name: str) -> RollupState:
    state, _created = RollupState.objects.get_or_create(name=name)
    return state


def _lock_state(name: str) -> RollupState:
    """Serialise rebuilds of one rollup: two refreshes deleting and inserting the same day at
    once would, under READ COMMITTED, each miss the other's fresh rows and leave both."""
    _state(name)
    return RollupState.objects.select_for_update().get(name=name)


def _advance_state(name: str, *, watermark_time: datetime | None = None,
                   watermark_id: int | None = None, replace: bool = False) -> None:
    """Move a watermark forward (never back, unless ``replace``: the candidate row)."""
    with transaction.atomic():
        state = _lock_state(name)
        if watermark_time is not None and (replace or state.watermark_time is None
                                           or watermark_time > state.watermark_time):
            state.watermark_time = watermark_time
        if watermark_id is not None and (replace or watermark_id > state.watermark_id):
            state.watermark_id = watermark_id
        state.refreshed_at = timezone.now()
        state.save()


# --- public --------------------------------------------------------------------------------------

@dataclass
class RollupResult:
    ticket_days: int = 0
    ticket_rows: int = 0
    interaction_days: int = 0
    interaction_rows: int = 0

    def __bool__(self) -> bool:
        return bool(self.ticket_days or self.interaction_days)

    def __str__(self) -> str:
        return (f"{self.ticket_days} ticket day(s) ({self.ticket_rows} rows), "
                f"{self.interaction_days} interaction day(s) ({self.interaction_rows} rows)")


def _chunks(first: date, last: date) -> Iterable[tuple[date, date]]:
    """A full rebuild goes one calendar month (or the part of it in range) per transaction:
    bounded memory, short transactions, and each month summed once."""
    while first <= last:
        chunk_last = min(last, next_month(first) - timedelta(days=1))
        yield first, chunk_last
        first = chunk_last + timedelta(days=1)


def _local_date(moment: datetime) -> date:
    return timezone.localtime(moment, chile_zone()).date()


def rollup_rebuild(*, institution: Institution | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> RollupResult:
    """Rebuild every rollup day of ``institution`` (default: all) in [date_from, date_to]
    (default: from its first ticket or interaction to its last). Days without tickets lose
    their rows. Safe to run while the platform works and while the refresh runs."""
    result = RollupResult()
    institutions = ([institution.pk] if institution is not None
                    else list(Institution.objects.order_by("pk").values_list("pk", flat=True)))
    for institution_id in institutions:
        for model, source, field, rebuild, kind in (
            (TicketDailyStat, Ticket, "received_at", _rebuild_ticket_days, "ticket"),
            (InteractionDailyStat, Interaction, "occurred_at", _rebuild_interaction_days,
             "interaction"),
        ):
            first, last = date_from, date_to
            if first is None or last is None:
                bounds = source.objects.filter(institution_id=institution_id).aggregate(
                    first=Min(field), last=Max(field))
                stored = model.objects.filter(institution_id=institution_id).aggregate(
                    first=Min("day"), last=Max("day"))
                candidates_first = [d for d in (stored["first"], bounds["first"] and
                                                _local_date(bounds["first"])) if d]
                candidates_last = [d for d in (stored["last"], bounds["last"] and
                                               _local_date(bounds["last"])) if d]
                if not candidates_first:
                    continue
                first = first or min(candidates_first)
                last = last or max(candidates_last)
            for chunk_first, chunk_last in _chunks(first, last):
                rows = rebuild(institution_id, chunk_first, chunk_last)
                setattr(result, f"{kind}_days", getattr(result, f"{kind}_days")
                        + (chunk_last - chunk_first).days + 1)
                setattr(result, f"{kind}_rows", getattr(result, f"{kind}_rows") + rows)
    return result


def _refresh_tickets(result: RollupResult, now: datetime) -> None:
    """The watermark is the time this pass started (or the newest stamp seen, if a web
    server's clock runs ahead): the next pass reads changes stamped after it minus the
    overlap, so a quiet platform rebuilds nothing once the overlap has passed."""
    state = _state(TICKETS_STATE)
    if state.watermark_time is None:
        # Never built: everything; changes made during the build are after ``now``.
        rebuilt = rollup_rebuild_tickets()
        result.ticket_days += rebuilt.ticket_days
        result.ticket_rows += rebuilt.ticket_rows
        _advance_state(TICKETS_STATE, watermark_time=now)
        return
    changed = Ticket.objects.filter(updated_at__gt=state.watermark_time - ROLLUP_OVERLAP)
    pairs = sorted(changed.annotate(stat_day=chile_day("received_at"))
                   .values_list("institution_id", "stat_day").annotate(newest=Max("updated_at"))
                   .order_by())
    by_month: dict[tuple[int, date], list[date]] = {}
    for institution_id, day, _newest in pairs:
        by_month.setdefault((institution_id, month_start(day)), []).append(day)
    for (institution_id, _month), days in by_month.items():
        result.ticket_rows += _rebuild_ticket_day_set(institution_id, days)
        result.ticket_days += len(days)
    newest = max((stamp for _i, _d, stamp in pairs), default=now)
    _advance_state(TICKETS_STATE, watermark_time=max(now, newest))


def rollup_rebuild_tickets() -> RollupResult:
    """Every ticket day of every institution (the interactions are left as they are)."""
    result = RollupResult()
    for institution_id in Institution.objects.order_by("pk").values_list("pk", flat=True):
        bounds = Ticket.objects.filter(institution_id=institution_id).aggregate(
            first=Min("received_at"), last=Max("received_at"))
        if bounds["first"] is None:
            continue
        for first, last in _chunks(_local_date(bounds["first"]), _local_date(bounds["last"])):
            result.ticket_rows += _rebuild_ticket_days(institution_id, first, last)
            result.ticket_days += (last - first).days + 1
    return result


def _refresh_interactions(result: RollupResult, now: datetime) -> None:
    state, seen = _state(INTERACTIONS_STATE), _state(INTERACTIONS_SEEN_STATE)
    safe = state.watermark_id
    promote = seen.watermark_time is None or seen.watermark_time <= now - ROLLUP_OVERLAP
    if seen.watermark_time is not None and promote and seen.watermark_id > safe:
        safe = seen.watermark_id
        _advance_state(INTERACTIONS_STATE, watermark_id=safe)
    new = Interaction.objects.filter(pk__gt=safe)
    top = new.aggregate(top=Max("pk"))["top"]
    if top is not None:
        pairs = sorted(set(new.annotate(stat_day=chile_day("occurred_at"))
                           .values_list("institution_id", "stat_day").distinct()))
        for institution_id, day in pairs:
            result.interaction_rows += _rebuild_interaction_days(institution_id, day, day)
            result.interaction_days += 1
    if promote:
        _advance_state(INTERACTIONS_SEEN_STATE, watermark_time=now,
                       watermark_id=top if top is not None else safe, replace=True)


def rollup_refresh(*, now: datetime | None = None) -> RollupResult:
    """One incremental pass: rebuild the days touched since the last pass (see the module
    docstring). Idempotent; concurrent passes are safe (rebuilds are serialised per rollup)."""
    now = now or timezone.now()
    result = RollupResult()
    _refresh_tickets(result, now)
    _refresh_interactions(result, now)
    if result:
        logger.info("rollup refresh: %s", result)
    return result
