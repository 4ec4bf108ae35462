"""The dashboard figures (all but satisfaction, which is ``surveys.selectors``).

Each figure is one function ``(filters, ...) -> Table`` and reads the rollups
(``TicketDailyStat``, ``InteractionDailyStat``) with one aggregate query by ids, then looks
up the labels of the few ids it found in one small query per catalog; the parts that
depend on "now" (unanswered past a deadline, the backlog and its ageing) are one more query
over the open tickets, served by the ``(institution, status, -received_at)`` ticket index.
No figure issues a query per row. Percentages are 0-100 with one decimal, ``None`` when
there is nothing to divide by. Tables hold counts only, never personal data.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ventanilla.catalog.models import Channel, TicketType, Topic
from ventanilla.core.models import Comuna, Region
from ventanilla.reports.models import InteractionDailyStat, TicketDailyStat
from ventanilla.reports.services import FIRST_ANSWER_TARGET, day_range
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

def ticket_stats(filters: DashboardFilters) -> QuerySet[TicketDailyStat]:
    """The rollup rows of the filters: institution, days of reception, region, area, channel."""
    stats = TicketDailyStat.objects.filter(institution_id=_pk(filters.institution),
                                           day__gte=filters.date_from, day__lte=filters.date_to)
    if filters.region is not None:
        stats = stats.filter(region_id=_pk(filters.region))
    if filters.area is not None:
        stats = stats.filter(area_id=_pk(filters.area))
    if filters.channel is not None:
        stats = stats.filter(channel_id=_pk(filters.channel))
    return stats


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
    stats = ticket_stats(filters)
    totals = {"received": Sum("received"), "closed": Sum("closed")}
    if dimension == "month":
        # Grouped by the plain day column (cheaper than truncating every row in the
        # database: a few hundred thousand rows), then the days summed into months here.
        months: dict[str, dict] = {}
        for group in stats.values("day").annotate(**totals).order_by("day"):
            month = months.setdefault(group["day"].strftime("%Y-%m"),
                                      {"received": 0, "closed": 0})
            month["received"] += group["received"] or 0
            month["closed"] += group["closed"] or 0
        rows = list(months.items())
    elif dimension == "day":
        groups = stats.values("day").annotate(**totals).order_by("day")
        rows = [(group["day"].isoformat(), group) for group in groups]
    else:
        key = f"{dimension}_id"
        groups = list(stats.values(key).annotate(**totals).order_by())
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
    groups = list(ticket_stats(filters).values("channel_id", "topic_id")
                  .annotate(received=Sum("received")).order_by())
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
        rows=rows, chart="", highlighted=highlighted,
        note=_("Destacados: temas que están entre los más consultados en dos o más canales."),
    )


# --- channel mix and self-service ----------------------------------------------------------------

def channel_mix(filters: DashboardFilters) -> Table:
    """Tickets per channel, their share, and whether the channel is assisted or self-service
    (as the channel is classified today)."""
    groups = list(ticket_stats(filters).values("channel_id").annotate(received=Sum("received"))
                  .order_by())
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
        key="channel_mix", title=_("Requerimientos por canal"),
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
    sums = {}
    for stage in STAGES:
        for count in ("due", "on_time", "late"):
            sums[f"{stage}_{count}"] = Sum(f"{stage}_{count}")
    sums.update(received=Sum("received"), answered_72h=Sum("answered_72h"))
    rolled = ticket_stats(filters).aggregate(**sums)

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
    """Every figure of this module, in the dashboard's order."""
    return [
        volume_by(filters, "period"), volume_by(filters, "channel"),
        volume_by(filters, "ticket_type"), volume_by(filters, "topic"),
        volume_by(filters, "region"), volume_by(filters, "comuna"),
        top_topics_by_channel(filters), channel_mix(filters), self_service_share(filters),
        compliance_by_stage(filters, now), backlog_ageing(filters, now),
    ]

