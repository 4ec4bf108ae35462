"""The dashboard figures (all but satisfaction, which is ``surveys.selectors``).

Each figure is one function ``(filters, ...) -> Table`` and reads the rollups with one
aggregate query by ids: the whole months of the period from the month rows
(``TicketMonthlyStat``, ``ComunaMonthlyStat``), the days at its edges from the day rows
(``TicketDailyStat``), summed together in one ``UNION ALL`` query (``rollup_sums``); then it
looks up the labels of the few ids it found in one small query per catalog; the parts that
depend on "now" (unanswered past a deadline, the backlog and its ageing) are one more query
over the open tickets, served by the ``(institution, status, -received_at)`` ticket index.
No figure issues a query per row. Inside ``shared_scan`` (``dashboard_figures``; the page,
exports and reports should render inside it too) the volume figures of one set of filters
share one ``GROUPING SETS`` scan on PostgreSQL. Percentages are 0-100 with one decimal,
``None`` when there is nothing to divide by. Tables hold counts only, never personal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ventanilla.catalog.models import Channel, TicketType, Topic
from ventanilla.core.models import Comuna, Region
from ventanilla.reports.models import (
    ComunaMonthlyStat,
    InteractionDailyStat,
    TicketDailyStat,
    TicketMonthlyStat,
)
from ventanilla.reports.services import (
    COMUNA_COUNTS,
    FIRST_ANSWER_TARGET,
    day_range,
    month_start,
    next_month,
)
from ventanilla.reports.tables import Column, DashboardFilters, Table
from ventanilla.sla.selectors import COMPLIANCE_TARGET, DUE_FIELD, STAGES, answered_expression
from ventanilla.tickets.models import OPEN_STATUSES, ResponseStage, Ticket

# Day-by-day volume is offered up to two months; past that, months.
DAY_PERIOD_MAX_DAYS = 62
TOP_TOPICS = 5
TARGET_PERCENT = (COMPLIANCE_TARGET * 100).quantize(Decimal("0.1"))
# Backlog age buckets in whole days since reception: (label, lowest age, highest age or None).
AGE_BUCKETS = (
    (_("0 a 3 días"), 0, 3),
    (_("4 a 10 días"), 4, 10),
    (_("11 a 20 días"), 11, 20),
    (_("21 a 30 días"), 21, 30),
    (_("Más de 30 días"), 31, None),
)
DIMENSIONS = ("period", "month", "day", "channel", "ticket_type", "topic", "region", "comuna")
DIMENSION_LABELS = {
    "period": _("Período"), "month": _("Mes"), "day": _("Día"), "channel": _("Canal"),
    "ticket_type": _("Motivo"), "topic": _("Tema / producto"), "region": _("Región"),
    "comuna": _("Comuna"),
}
SELF_SERVICE, ASSISTED = _("Autoatención"), _("Asistido")
LABEL_SOURCES = {
    "ticket_type": (TicketType, ""), "region": (Region, _("Sin región")),
    "comuna": (Comuna, _("Sin comuna")),
}


def percent(part: int | None, whole: int | None) -> Decimal | None:
    """``part`` of ``whole`` as 0-100 with one decimal (half up), ``None`` if ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _pk(value) -> object:
    return getattr(value, "pk", value)


# --- base querysets ------------------------------------------------------------------------------

def _filtered(stats: QuerySet, filters: DashboardFilters) -> QuerySet:
    if filters.region is not None:
        stats = stats.filter(region_id=_pk(filters.region))
    if filters.area is not None:
        stats = stats.filter(area_id=_pk(filters.area))
    if filters.channel is not None:
        stats = stats.filter(channel_id=_pk(filters.channel))
    return stats


@dataclass(frozen=True)
class PeriodSplit:
    """A period as the rollups read it: the whole months inside it (first days of the first
    and last, or None) from the month rows, and the days at its edges from the day rows."""

    months: tuple[date, date] | None
    days: tuple[tuple[date, date], ...]


def split_period(date_from: date, date_to: date) -> PeriodSplit:
    first_whole = date_from if date_from.day == 1 else next_month(date_from)
    after_whole = month_start(date_to + timedelta(days=1))  # the day after the last whole month
    if first_whole >= after_whole:
        return PeriodSplit(None, ((date_from, date_to),))
    edges = []
    if date_from < first_whole:
        edges.append((date_from, first_whole - timedelta(days=1)))
    if after_whole <= date_to:
        edges.append((after_whole, date_to))
    return PeriodSplit((first_whole, month_start(after_whole - timedelta(days=1))),
                       tuple(edges))


# ComunaMonthlyStat can serve the comuna figure only once it also sums ``closed``; until
# then that figure reads the day rows over the whole period (exact, slower on long ranges).
COMUNA_MONTHS_HAVE_CLOSED = "closed" in COMUNA_COUNTS


def _grouped(stats: QuerySet, keys: Sequence[str], sums: Sequence[str],
             period_field: str) -> QuerySet:
    """``stats`` summed per ``keys``, every column under an alias of its own (``k_<key>``,
    ``s_<count>``) so that a day part and a month part line up in a ``UNION ALL``. The key
    ``period`` is the row's date column (its day, or its month's first day)."""
    columns = {f"k_{key}": F(period_field if key == "period" else key) for key in keys}
    if not columns:  # one total: a constant, which Django leaves out of the GROUP BY
        columns = {"k_total": Value(1)}
    return stats.values(**columns).annotate(**{f"s_{name}": Sum(name) for name in sums}
                                            ).order_by()


def _as_date(value) -> date:
    # SQLite hands back a date column of a UNION ALL as text.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _is_short(filters: DashboardFilters) -> bool:
    return (filters.date_to - filters.date_from).days < DAY_PERIOD_MAX_DAYS


def _rollup_parts(filters: DashboardFilters, split: PeriodSplit, comuna: bool,
                  group: Callable[[QuerySet, str], QuerySet]) -> list[QuerySet]:
    """The month part and the edge-days part of ``split`` (those that are not empty), each
    filtered and shaped by ``group(queryset, date column)``."""
    institution_id = _pk(filters.institution)
    parts = []
    if split.months is not None:
        monthly = (ComunaMonthlyStat if comuna else TicketMonthlyStat).objects.filter(
            institution_id=institution_id, month__gte=split.months[0],
            month__lte=split.months[1])
        parts.append(group(_filtered(monthly, filters), "month"))
    if split.days:
        edges = Q()
        for first, last in split.days:
            edges |= Q(day__gte=first, day__lte=last)
        daily = TicketDailyStat.objects.filter(edges, institution_id=institution_id)
        parts.append(group(_filtered(daily, filters), "day"))
    return parts


def _union_sql(parts: list[QuerySet]) -> tuple[str, list]:
    sql_parts, params = [], []
    for part in parts:
        sql, part_params = part.query.sql_with_params()
        sql_parts.append(sql)
        params.extend(part_params)
    return " UNION ALL ".join(sql_parts), params


def _fetch(sql: str, params: list) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def rollup_sums(filters: DashboardFilters, keys: Sequence[str], sums: Sequence[str], *,
                comuna: bool = False) -> list[dict]:
    """The ticket rollups of ``filters`` summed per ``keys`` (``period``, or ``<dimension>_id``
    columns; none: one total row), in one query: whole months from ``TicketMonthlyStat``
    (``ComunaMonthlyStat`` when ``comuna``), edge days from ``TicketDailyStat``. Rows are
    dicts of the keys and the sums (sums of no rows are None); ``period`` is a date.
    Inside ``shared_scan`` on PostgreSQL, answered from the one scan of every breakdown."""
    if not comuna and set(sums) <= set(SHARED_SUMS):
        shared = _shared_breakdown(filters, keys)
        if shared is not None:
            return shared
    if "period" in keys and _is_short(filters):
        # A short range read as days (the day figure needs days; a month costs as much).
        split = PeriodSplit(None, ((filters.date_from, filters.date_to),))
    elif comuna and not COMUNA_MONTHS_HAVE_CLOSED and "closed" in sums:
        split = PeriodSplit(None, ((filters.date_from, filters.date_to),))
    else:
        split = split_period(filters.date_from, filters.date_to)
    parts = _rollup_parts(filters, split, comuna,
                          lambda stats, period_field: _grouped(stats, keys, sums, period_field))
    rows = list(parts[0]) if len(parts) == 1 else _union_sums(parts, keys, sums)
    result = []
    for row in rows:
        values = {key: row[f"k_{key}"] for key in keys}
        if "period" in values:
            values["period"] = _as_date(values["period"])
        values.update({name: row[f"s_{name}"] for name in sums})
        result.append(values)
    return result


def _union_sums(parts: list[QuerySet], keys: Sequence[str], sums: Sequence[str]) -> list[dict]:
    """Sum the grouped parts again over their ``UNION ALL``: one round trip, one plan."""
    quote = connection.ops.quote_name
    union, params = _union_sql(parts)
    key_columns = [quote(f"k_{key}") for key in keys]
    select = key_columns + [f"SUM({quote(f's_{name}')}) AS {quote(f's_{name}')}"
                            for name in sums]
    # Only quoted aliases of ours and Django's compiled parts; every value is a parameter.
    sql = f"SELECT {', '.join(select)} FROM ({union}) parts"  # noqa: S608
    if key_columns:
        sql += f" GROUP BY {', '.join(key_columns)}"
    return _fetch(sql, params)


# --- one scan for every breakdown (PostgreSQL) ---------------------------------------------------
#
# The ticket figures of one dashboard read the same rollup rows, each grouped its own way.
# Inside ``shared_scan`` the first of them asks PostgreSQL for every breakdown at once
# (``GROUP BY GROUPING SETS``: one pass over the rows, one hash table per breakdown) and the
# others take theirs from it. Elsewhere (SQLite), or outside the scope, each figure runs its
# own query: both paths give the same tables (tested on PostgreSQL).

SHARED_KEYS = ("period", "channel_id", "ticket_type_id", "topic_id", "region_id")
# The breakdowns asked of the database; the channel, topic and grand-total breakdowns are
# sums of the (channel, topic) one (every row has both), added up here: fewer hash tables.
SCANNED_BREAKDOWNS = (("period",), ("ticket_type_id",), ("region_id",),
                      ("channel_id", "topic_id"))
DERIVED_BREAKDOWNS = (("channel_id",), ("topic_id",), ())
SHARED_BREAKDOWNS = SCANNED_BREAKDOWNS + DERIVED_BREAKDOWNS
# Enough memory for every breakdown's hash table at once (a few MB even for 3 years): with
# the default 4 MB PostgreSQL sorts the rows on disk for some of them instead.
SCAN_WORK_MEM = "64MB"
# Only the volumes: every sum costs each row once per breakdown, and the stage counts are
# wanted only as totals (compliance runs its own query).
SHARED_SUMS = ("received", "closed")
_shared_scans: ContextVar[dict | None] = ContextVar("dashboard_shared_scans", default=None)


@contextmanager
def shared_scan() -> Iterator[None]:
    """Within this block the ticket figures of the same filters share one scan of the rollups
    (on PostgreSQL). Scoped to one rendering, so nothing is ever served stale."""
    token = _shared_scans.set({})
    try:
        yield
    finally:
        _shared_scans.reset(token)


def _grouping_mask(breakdown: tuple[str, ...]) -> int:
    """PostgreSQL's ``GROUPING(k1, .., kn)`` of a breakdown: bit set per key not grouped by,
    the first key the highest bit."""
    width = len(SHARED_KEYS)
    return sum(1 << (width - 1 - index) for index, key in enumerate(SHARED_KEYS)
               if key not in breakdown)


def _shared_breakdown(filters: DashboardFilters, keys: Sequence[str]) -> list[dict] | None:
    scans = _shared_scans.get()
    breakdown = tuple(keys)
    if scans is None or connection.vendor != "postgresql" or breakdown not in SHARED_BREAKDOWNS:
        return None
    if filters not in scans:
        scans[filters] = _grouping_sets_scan(filters)
    return [dict(row) for row in scans[filters].get(breakdown, [])]


def _grouping_sets_scan(filters: DashboardFilters) -> dict[tuple, list[dict]]:
    """Every breakdown of ``SHARED_BREAKDOWNS`` with every count summed, in one query over
    the month rows and the edge days (short ranges: the days alone, as ``rollup_sums``)."""
    split = (PeriodSplit(None, ((filters.date_from, filters.date_to),)) if _is_short(filters)
             else split_period(filters.date_from, filters.date_to))

    def raw_columns(stats: QuerySet, period_field: str) -> QuerySet:
        columns = {f"k_{key}": F(period_field if key == "period" else key)
                   for key in SHARED_KEYS}
        columns.update({f"s_{name}": F(name) for name in SHARED_SUMS})
        return stats.values(**columns).order_by()

    union, params = _union_sql(_rollup_parts(filters, split, False, raw_columns))
    quote = connection.ops.quote_name
    key_columns = [quote(f"k_{key}") for key in SHARED_KEYS]
    sets = ", ".join("(" + ", ".join(quote(f"k_{key}") for key in breakdown) + ")"
                     for breakdown in SCANNED_BREAKDOWNS)
    select = [f"GROUPING({', '.join(key_columns)}) AS grouping_mask", *key_columns,
              *(f"SUM({quote(f's_{name}')}) AS {quote(f's_{name}')}" for name in SHARED_SUMS)]
    # Only quoted aliases of ours and Django's compiled parts; every value is a parameter.
    sql = (f"SELECT {', '.join(select)} FROM ({union}) parts "  # noqa: S608
           f"GROUP BY GROUPING SETS ({sets})")
    by_mask = {_grouping_mask(breakdown): breakdown for breakdown in SCANNED_BREAKDOWNS}
    result: dict[tuple, list[dict]] = defaultdict(list)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{SCAN_WORK_MEM}'")
            # Compiling this one query costs more than it saves.
            cursor.execute("SET LOCAL jit = off")
        fetched = _fetch(sql, params)
    for row in fetched:
        breakdown = by_mask[row["grouping_mask"]]
        values = {key: row[f"k_{key}"] for key in breakdown}
        values.update({name: row[f"s_{name}"] for name in SHARED_SUMS})
        result[breakdown].append(values)
    for derived in DERIVED_BREAKDOWNS:
        sums: dict[tuple, dict] = {}
        for row in result[("channel_id", "topic_id")]:
            key = tuple(row[name] for name in derived)
            total = sums.setdefault(key, {**dict(zip(derived, key, strict=True)),
                                          **dict.fromkeys(SHARED_SUMS)})
            for name in SHARED_SUMS:
                if row[name] is not None:
                    total[name] = (total[name] or 0) + row[name]
        if not derived and not sums:  # a grand total is one row, also of nothing
            sums[()] = dict.fromkeys(SHARED_SUMS)
        result[derived] = list(sums.values())
    return dict(result)


def open_tickets(filters: DashboardFilters, *, in_period: bool = True) -> QuerySet[Ticket]:
    """Open tickets of the filters (received in the period unless ``in_period`` is False)."""
    tickets = Ticket.objects.filter(institution_id=_pk(filters.institution),
                                    status__in=OPEN_STATUSES)
    if in_period:
        start, end = day_range(filters.date_from, filters.date_to)
        tickets = tickets.filter(received_at__gte=start, received_at__lt=end)
    if filters.region is not None:
        tickets = tickets.filter(region_id=_pk(filters.region))
    if filters.area is not None:
        tickets = tickets.filter(area_id=_pk(filters.area))
    if filters.channel is not None:
        tickets = tickets.filter(channel_id=_pk(filters.channel))
    return tickets


# --- volume --------------------------------------------------------------------------------------

def _period_dimension(filters: DashboardFilters, dimension: str) -> str:
    days = (filters.date_to - filters.date_from).days + 1
    if dimension == "period":
        return "day" if days <= DAY_PERIOD_MAX_DAYS else "month"
    if dimension == "day" and days > DAY_PERIOD_MAX_DAYS:
        raise ValueError(f"day volume is offered for at most {DAY_PERIOD_MAX_DAYS} days")
    return dimension


def _topic_label(name: str, parent: str | None) -> str:
    return f"{parent} › {name}" if parent else name


# The rollups are aggregated by ids alone and the few labels looked up afterwards in one
# small query: joining the catalog before aggregating costs a third more on large ranges.

def _topic_labels(ids) -> dict:
    return {pk: _topic_label(name, parent) for pk, name, parent in
            Topic.objects.filter(pk__in=set(ids)).values_list("pk", "name", "parent__name")}


def _channels(ids) -> dict:
    return {channel.pk: channel for channel in Channel.objects.filter(pk__in=set(ids))}


def _names(model, ids, none_label) -> dict:
    names = dict(model.objects.filter(pk__in={pk for pk in ids if pk is not None})
                 .values_list("pk", "name"))
    names[None] = str(none_label)
    return names


def volume_by(filters: DashboardFilters, dimension: str) -> Table:
    """Tickets received (and of them, closed) per ``dimension``: ``period`` (days for ranges
    up to 62 days, else months), ``month``, ``day``, ``channel``, ``ticket_type``, ``topic``
    (sub-topics as "Programa > Producto", with the angle quote), ``region``, ``comuna``."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    dimension = _period_dimension(filters, dimension)
    totals = ("received", "closed")
    if dimension in ("month", "day"):
        # Grouped by the plain date column (a month row's month, an edge day row's day), then
        # summed into months here: cheaper than truncating every row in the database.
        groups = sorted(rollup_sums(filters, ["period"], totals), key=lambda g: g["period"])
        labels: dict[str, dict] = {}
        for group in groups:
            label = group["period"].strftime("%Y-%m" if dimension == "month" else "%Y-%m-%d")
            entry = labels.setdefault(label, {"received": 0, "closed": 0})
            entry["received"] += group["received"] or 0
            entry["closed"] += group["closed"] or 0
        rows = list(labels.items())
    else:
        key = f"{dimension}_id"
        groups = rollup_sums(filters, [key], totals, comuna=dimension == "comuna")
        ids = [group[key] for group in groups]
        if dimension == "topic":
            labels = _topic_labels(ids)
        elif dimension == "channel":
            labels = {pk: channel.name for pk, channel in _channels(ids).items()}
        else:
            model, none_label = LABEL_SOURCES[dimension]
            labels = _names(model, ids, none_label)
        rows = [(labels[group[key]], group) for group in groups]
    total = sum(group["received"] or 0 for _label, group in rows)
    table_rows = [{"label": label, "received": group["received"] or 0,
                   "closed": group["closed"] or 0, "share": percent(group["received"], total)}
                  for label, group in rows]
    chronological = dimension in ("month", "day")
    if not chronological:
        table_rows.sort(key=lambda row: (-row["received"], row["label"].casefold()))
    return Table(
        key=f"volume_{dimension}",
        title=_("Requerimientos por %(dimension)s") % {
            "dimension": str(DIMENSION_LABELS[dimension]).lower()},
        columns=[Column("label", DIMENSION_LABELS[dimension]),
                 Column("received", _("Recibidos"), "int"),
                 Column("closed", _("Cerrados"), "int"),
                 Column("share", _("% del total"), "percent")],
        rows=table_rows, chart="line" if chronological else "bar", chart_label="label",
        chart_series=["received"],
        note=_("Requerimientos recibidos en el período (día de ingreso, hora de Chile); "
               "«Cerrados»: de ellos, los cerrados a la fecha."),
    )


# --- top topics per channel ----------------------------------------------------------------------

def top_topics_by_channel(filters: DashboardFilters, n: int = TOP_TOPICS) -> Table:
    """The ``n`` topics ("productos") with most tickets on each channel; rows whose topic is
    in the top ``n`` of two or more channels are highlighted."""
    groups = rollup_sums(filters, ["channel_id", "topic_id"], ["received"])
    channels = _channels(group["channel_id"] for group in groups)
    topics = _topic_labels(group["topic_id"] for group in groups)
    by_channel: dict[int, list[dict]] = defaultdict(list)
    for group in groups:
        by_channel[group["channel_id"]].append(group)
    channel_order = sorted(by_channel, key=lambda pk: (channels[pk].position, channels[pk].name))
    ranked = []
    topic_channels: dict[int, int] = defaultdict(int)
    for channel_id in channel_order:
        entries = by_channel[channel_id]
        channel_total = sum(entry["received"] for entry in entries)
        entries.sort(key=lambda e: (-e["received"], topics[e["topic_id"]]))
        for rank, entry in enumerate(entries[:n], start=1):
            ranked.append((rank, entry, channel_total))
            topic_channels[entry["topic_id"]] += 1
    rows, highlighted = [], []
    for index, (rank, entry, channel_total) in enumerate(ranked):
        several = topic_channels[entry["topic_id"]] >= 2
        rows.append({
            "channel": channels[entry["channel_id"]].name, "rank": rank,
            "topic": topics[entry["topic_id"]],
            "received": entry["received"], "share": percent(entry["received"], channel_total),
            "several_channels": several,
        })
        if several:
            highlighted.append(index)
    return Table(
        key="top_topics_by_channel",
        title=_("Los %(n)d temas más consultados por canal") % {"n": n},
        columns=[Column("channel", _("Canal")), Column("rank", _("Lugar"), "int"),
                 Column("topic", _("Tema / producto")), Column("received", _("Recibidos"), "int"),
                 Column("share", _("% del canal"), "percent"),
                 Column("several_channels", _("Demandado en varios canales"), "bool")],
        rows=rows, chart="bar", chart_label="topic", chart_series=["received"],
        highlighted=highlighted,
        note=_("Destacados: temas que están entre los más consultados en dos o más canales."),
    )


# --- channel mix and self-service ----------------------------------------------------------------

def channel_mix(filters: DashboardFilters) -> Table:
    """Tickets per channel, their share, and whether the channel is assisted or self-service
    (as the channel is classified today)."""
    groups = rollup_sums(filters, ["channel_id"], ["received"])
    channels = _channels(group["channel_id"] for group in groups)
    groups.sort(key=lambda g: (-g["received"], channels[g["channel_id"]].position,
                               channels[g["channel_id"]].name))
    total = sum(group["received"] for group in groups)
    rows = [{"channel": channels[group["channel_id"]].name,
             "attention": str(ASSISTED if channels[group["channel_id"]].is_assisted
                              else SELF_SERVICE),
             "received": group["received"], "share": percent(group["received"], total)}
            for group in groups]
    return Table(
        key="channel_mix", title=_("Mezcla de canales: autoatención y asistida"),
        columns=[Column("channel", _("Canal")), Column("attention", _("Atención")),
                 Column("received", _("Recibidos"), "int"),
                 Column("share", _("% del total"), "percent")],
        rows=rows, chart="bar", chart_label="channel", chart_series=["share"],
    )


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def self_service_share(filters: DashboardFilters) -> Table:
    """Every contact (interactions, also those that open no ticket) split into self-service
    and assisted, for the period and the same period one year before, and the change of the
    self-service share in percentage points. One query over ``InteractionDailyStat``."""
    before_from, before_to = _year_before(filters.date_from), _year_before(filters.date_to)
    current = Q(day__gte=filters.date_from, day__lte=filters.date_to)
    before = Q(day__gte=before_from, day__lte=before_to)
    stats = InteractionDailyStat.objects.filter(
        current | before, institution_id=_pk(filters.institution))
    if filters.channel is not None:
        stats = stats.filter(channel_id=_pk(filters.channel))
    sums = stats.aggregate(
        now_self=Sum("count", filter=current & Q(is_self_service=True)),
        now_assisted=Sum("count", filter=current & Q(is_self_service=False)),
        before_self=Sum("count", filter=before & Q(is_self_service=True)),
        before_assisted=Sum("count", filter=before & Q(is_self_service=False)),
    )
    rows = []
    for key, label, first, last in (
        ("now", _("Período seleccionado"), filters.date_from, filters.date_to),
        ("before", _("Mismo período del año anterior"), before_from, before_to),
    ):
        self_count, assisted = sums[f"{key}_self"] or 0, sums[f"{key}_assisted"] or 0
        total = self_count + assisted
        rows.append({"period": str(label), "date_from": first, "date_to": last,
                     "self_service": self_count, "assisted": assisted, "total": total,
                     "self_service_share": percent(self_count, total),
                     "assisted_share": percent(assisted, total), "change_pp": None})
    now_share, before_share = rows[0]["self_service_share"], rows[1]["self_service_share"]
    if now_share is not None and before_share is not None:
        rows[0]["change_pp"] = now_share - before_share
    note = _("Todas las interacciones, también las que no abren un requerimiento (consultas "
             "de estado, autoatención, atenciones resueltas en el momento). Variación: "
             "diferencia en puntos porcentuales de la proporción de autoatención.")
    if filters.region is not None or filters.area is not None:
        note = _("%(note)s Los filtros de región y área no se aplican: una interacción no "
                 "tiene territorio ni área.") % {"note": note}
    return Table(
        key="self_service_share", title=_("Autoatención frente a atención asistida"),
        columns=[Column("period", _("Período")), Column("date_from", _("Desde"), "date"),
                 Column("date_to", _("Hasta"), "date"),
                 Column("self_service", SELF_SERVICE, "int"),
                 Column("assisted", ASSISTED, "int"), Column("total", _("Total"), "int"),
                 Column("self_service_share", _("% autoatención"), "percent"),
                 Column("assisted_share", _("% asistida"), "percent"),
                 Column("change_pp", _("Variación (puntos porcentuales)"), "decimal")],
        rows=rows, chart="stacked", chart_label="period",
        chart_series=["self_service", "assisted"], note=note,
    )


# --- deadline compliance -------------------------------------------------------------------------

def _compliance_row(label, *, with_deadline: int, on_time: int, late: int,
                    overdue: int) -> dict:
    decided = on_time + late + overdue
    share = percent(on_time, decided)
    return {"stage": str(label), "with_deadline": with_deadline, "on_time": on_time,
            "late": late, "overdue": overdue,
            "pending": max(with_deadline - decided, 0), "share": share,
            "target": TARGET_PERCENT, "meets": None if share is None else share >= TARGET_PERCENT}


def compliance_by_stage(filters: DashboardFilters, now: datetime | None = None) -> Table:
    """Per answer stage, of the tickets received in the period: with that deadline, answered
    on time, answered late, unanswered past the deadline (now), the share on time
    (on time / (on time + late + overdue)) against the 98 % target; and the first answer
    within 72 hours of reception. Same definitions as ``sla.selectors.sla_compliance``."""
    now = now or timezone.now()
    sums = [f"{stage}_{count}" for stage in STAGES for count in ("due", "on_time", "late")]
    sums += ["received", "answered_72h"]
    rolled = rollup_sums(filters, [], sums)[0]

    live_counts = {}
    live = open_tickets(filters)
    for stage in STAGES:
        due, answered = DUE_FIELD[stage], f"live_{stage}_answered"
        live = live.alias(**{answered: answered_expression(stage)})
        live_counts[f"{stage}_overdue"] = Count("pk", filter=Q(**{
            f"{due}__isnull": False, f"{answered}__isnull": True, f"{due}__lt": now,
            "paused_at__isnull": True}))
    live_counts["unanswered"] = Count("pk", filter=Q(first_answered_at__isnull=True))
    live_counts["unanswered_72h_past"] = Count("pk", filter=Q(
        first_answered_at__isnull=True, received_at__lt=now - FIRST_ANSWER_TARGET))
    current = live.aggregate(**live_counts)

    rows = [
        _compliance_row(ResponseStage(stage).label,
                        with_deadline=rolled[f"{stage}_due"] or 0,
                        on_time=rolled[f"{stage}_on_time"] or 0,
                        late=rolled[f"{stage}_late"] or 0,
                        overdue=current[f"{stage}_overdue"] or 0)
        for stage in STAGES
    ]
    received, answered_72h = rolled["received"] or 0, rolled["answered_72h"] or 0
    unanswered = current["unanswered"] or 0
    rows.append(_compliance_row(
        _("Primera respuesta dentro de 72 horas"), with_deadline=received, on_time=answered_72h,
        late=max(received - answered_72h - unanswered, 0),
        overdue=current["unanswered_72h_past"] or 0))
    return Table(
        key="compliance_by_stage", title=_("Cumplimiento de plazos por etapa"),
        columns=[Column("stage", _("Etapa")),
                 Column("with_deadline", _("Con plazo"), "int"),
                 Column("on_time", _("Respondidos en plazo"), "int"),
                 Column("late", _("Respondidos fuera de plazo"), "int"),
                 Column("overdue", _("Vencidos sin respuesta"), "int"),
                 Column("pending", _("Pendientes en plazo"), "int"),
                 Column("share", _("% en plazo"), "percent"),
                 Column("target", _("Meta"), "percent"),
                 Column("meets", _("Cumple la meta"), "bool")],
        rows=rows, chart="bar", chart_label="stage", chart_series=["share", "target"],
        note=_("% en plazo = en plazo / (en plazo + fuera de plazo + vencidos sin respuesta), "
               "de los requerimientos recibidos en el período. Los pendientes aún en plazo (o "
               "en pausa) no cuentan. Primera respuesta: la primera respuesta a la persona o, "
               "si se cerró sin ella, el cierre."),
    )


# --- backlog -------------------------------------------------------------------------------------

def backlog_ageing(filters: DashboardFilters, now: datetime | None = None) -> Table:
    """Open tickets now (whatever their day of reception; region, area and channel filters
    apply) by whole days since reception, and how many are past their current deadline."""
    now = now or timezone.now()
    counts = {}
    for index, (_label, low, high) in enumerate(AGE_BUCKETS):
        # Age in whole days is ``low``..``high`` ⇔ received in (now-(high+1)d, now-low d].
        bucket = Q(received_at__lte=now - timedelta(days=low))
        if high is not None:
            bucket &= Q(received_at__gt=now - timedelta(days=high + 1))
        counts[f"open_{index}"] = Count("pk", filter=bucket)
        counts[f"late_{index}"] = Count("pk", filter=bucket & Q(
            next_due_at__lt=now, paused_at__isnull=True))
    current = open_tickets(filters, in_period=False).aggregate(**counts)
    total = sum(current[f"open_{index}"] or 0 for index in range(len(AGE_BUCKETS)))
    rows = []
    for index, (label, _low, _high) in enumerate(AGE_BUCKETS):
        open_count = current[f"open_{index}"] or 0
        rows.append({"age": str(label), "open": open_count,
                     "past_deadline": current[f"late_{index}"] or 0,
                     "share": percent(open_count, total)})
    return Table(
        key="backlog_ageing", title=_("Requerimientos abiertos por antigüedad"),
        columns=[Column("age", _("Antigüedad")), Column("open", _("Abiertos"), "int"),
                 Column("past_deadline", _("Con plazo vencido"), "int"),
                 Column("share", _("% de los abiertos"), "percent")],
        rows=rows, chart="bar", chart_label="age", chart_series=["open", "past_deadline"],
        note=_("Requerimientos abiertos hoy, cualquiera sea su fecha de ingreso. Plazo vencido: "
               "el plazo de la etapa en curso ya pasó (sin contar los que esperan a la "
               "persona)."),
    )


def dashboard_figures(filters: DashboardFilters, now: datetime | None = None) -> list[Table]:
    """Every figure of this module, in the dashboard's order (sharing one scan)."""
    with shared_scan():
        return [
            volume_by(filters, "period"), volume_by(filters, "channel"),
            volume_by(filters, "ticket_type"), volume_by(filters, "topic"),
            volume_by(filters, "region"), volume_by(filters, "comuna"),
            top_topics_by_channel(filters), channel_mix(filters), self_service_share(filters),
            compliance_by_stage(filters, now), backlog_ageing(filters, now),
        ]

