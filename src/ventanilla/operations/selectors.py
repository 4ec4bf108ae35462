"""Reads of the uptime record: the monthly availability report and the worker heartbeat."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ventanilla.operations import availability as calc
from ventanilla.operations.models import MaintenanceWindow, UptimeProbe

# An outage that began this long before the year is still found (and counted in the year
# it began); longer ones are cut at this point.
OUTAGE_LOOKBACK = timedelta(days=31)


def last_probe_at() -> datetime | None:
    """The time of the newest probe: the worker's heartbeat (one index lookup)."""
    return (UptimeProbe.objects.order_by("-checked_at")
            .values_list("checked_at", flat=True).first())


def _probe(row: tuple) -> calc.Probe:
    checked_at, ok, failed = row
    return calc.Probe(checked_at, ok, tuple(name for name in failed.split(",") if name))


_FIELDS = ("checked_at", "ok", "failed_checks")


def _outages_starting_between(start: datetime, end: datetime, *,
                              now: datetime) -> list[calc.Outage]:
    """Outages whose first failing probe lies in [start, end), each followed to its
    recovery even past ``end``. Reads only failing probes and one success per outage
    (a handful of queries a year), never the whole year of probes."""
    failing = list(UptimeProbe.objects.filter(checked_at__gte=start, checked_at__lt=end,
                                              ok=False)
                   .order_by("checked_at").values_list(*_FIELDS))
    probes: list[calc.Probe] = []
    recovered_at: datetime | None = None
    for row in failing:
        if recovered_at is not None and row[0] < recovered_at:
            probes.append(_probe(row))
            continue
        if recovered_at is not None:
            # The recovery of the previous outage goes between its failures and this one.
            probes.append(calc.Probe(recovered_at, True))
        probes.append(_probe(row))
        recovered_at = (UptimeProbe.objects.filter(checked_at__gt=row[0], ok=True)
                        .order_by("checked_at").values_list("checked_at", flat=True).first())
        if recovered_at is None:
            recovered_at = now + timedelta(days=36500)  # still down: nothing after it
    if recovered_at is not None and recovered_at <= now:
        probes.append(calc.Probe(recovered_at, True))
    return calc.outages_from(probes, until=now)


def _maintenance_between(start: datetime, end: datetime) -> list[calc.Interval]:
    return [(row[0], row[1]) for row in MaintenanceWindow.objects.filter(
        starts_at__lt=end, ends_at__gt=start).values_list("starts_at", "ends_at")]


def _percent(part: timedelta, whole: timedelta) -> Decimal | None:
    if whole <= timedelta():
        return None
    value = Fraction(_us(part) * 100, _us(whole))
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.001"))


def _us(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass
class MonthOutage:
    outage: calc.Outage
    began_before_month: bool
    continues_after_month: bool
    in_month: timedelta

    @property
    def start(self) -> datetime:
        return self.outage.start

    @property
    def end(self) -> datetime:
        return self.outage.end

    @property
    def duration(self) -> timedelta:
        return self.outage.duration

    @property
    def causes(self) -> tuple[str, ...]:
        return self.outage.causes

    @property
    def ongoing(self) -> bool:
        return self.outage.ongoing


@dataclass
class AvailabilityReport:
    year: int
    month: int
    start: datetime
    end: datetime
    measured_until: datetime  # the month's end, or now while it runs
    elapsed: timedelta
    maintenance: timedelta
    up: timedelta
    down: timedelta
    unknown: timedelta
    target_percent: Decimal
    max_outages_per_year: int
    max_outage: timedelta
    outages: list[MonthOutage] = field(default_factory=list)
    unknown_intervals: list[calc.Interval] = field(default_factory=list)
    year_outages: list[calc.Outage] = field(default_factory=list)
    maintenance_windows: list[calc.Interval] = field(default_factory=list)

    @property
    def counted(self) -> timedelta:
        """The time the target applies to: elapsed minus planned maintenance."""
        return self.elapsed - self.maintenance

    @property
    def percent(self) -> Decimal | None:
        return _percent(self.up, self.counted)

    @property
    def observed_percent(self) -> Decimal | None:
        return _percent(self.up, self.up + self.down)

    @property
    def meets_target(self) -> bool | None:
        if self.counted <= timedelta():
            return None
        target = Fraction(self.target_percent)
        return Fraction(_us(self.up) * 100) >= target * _us(self.counted)

    @property
    def year_outage_count(self) -> int:
        return len(self.year_outages)

    @property
    def meets_outage_count(self) -> bool:
        return self.year_outage_count <= self.max_outages_per_year

    @property
    def longest_outage(self) -> timedelta:
        return max((outage.duration for outage in self.year_outages), default=timedelta())

    @property
    def meets_longest_outage(self) -> bool:
        return self.longest_outage <= self.max_outage

    @property
    def longest_unknown(self) -> timedelta:
        return max((end - start for start, end in self.unknown_intervals), default=timedelta())

    @property
    def in_progress(self) -> bool:
        return self.measured_until < self.end


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month in the installation's time zone (America/Santiago), as aware datetimes."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start, end


def availability_month(*, year: int, month: int,
                       now: datetime | None = None) -> AvailabilityReport:
    now = now or timezone.now()
    start, end = month_bounds(year, month)
    measured_until = max(start, min(end, now))
    year_start, _ = month_bounds(year, 1)
    valid_for = timedelta(seconds=settings.UPTIME_PROBE_VALID_FOR)

    maintenance_all = calc.merge(_maintenance_between(year_start - OUTAGE_LOOKBACK, now))
    outages = calc.outages_outside(
        _outages_starting_between(year_start - OUTAGE_LOOKBACK, measured_until, now=now),
        maintenance_all)
    year_outages = [o for o in outages if year_start <= o.start < measured_until]

    month_maintenance = calc.clip(maintenance_all, start, measured_until)
    month_outages = [
        MonthOutage(outage=o, began_before_month=o.start < start,
                    continues_after_month=o.end > end,
                    in_month=calc.total(calc.clip([(o.start, o.end)], start, measured_until)))
        for o in outages if o.start < measured_until and o.end > start
    ]
    down_intervals = calc.merge(
        interval for o in month_outages
        for interval in calc.clip([(o.start, o.end)], start, measured_until))

    # Every probe of the month plus the last one before it (it may vouch for the first
    # minutes). A month is ~43,200 rows of three columns.
    previous = (UptimeProbe.objects.filter(checked_at__lt=start).order_by("-checked_at")
                .values_list(*_FIELDS).first())
    rows = UptimeProbe.objects.filter(
        Q(checked_at__gte=start) & Q(checked_at__lt=measured_until)
    ).order_by("checked_at").values_list(*_FIELDS)
    probes = ([_probe(previous)] if previous else []) + [_probe(row) for row in rows.iterator(
        chunk_size=5000)]
    up_raw = calc.up_intervals(probes, valid_for=valid_for, until=measured_until)
    up_intervals = calc.subtract(calc.clip(up_raw, start, measured_until),
                                 [*month_maintenance, *down_intervals])
    unknown_intervals = calc.gaps([*up_intervals, *down_intervals, *month_maintenance],
                                  start, measured_until)
    return AvailabilityReport(
        year=year, month=month, start=start, end=end, measured_until=measured_until,
        elapsed=measured_until - start, maintenance=calc.total(month_maintenance),
        up=calc.total(up_intervals), down=calc.total(down_intervals),
        unknown=calc.total(unknown_intervals),
        target_percent=Decimal(settings.AVAILABILITY_TARGET_PERCENT),
        max_outages_per_year=settings.AVAILABILITY_MAX_OUTAGES_PER_YEAR,
        max_outage=timedelta(hours=settings.AVAILABILITY_MAX_OUTAGE_HOURS),
        outages=month_outages, unknown_intervals=unknown_intervals,
        year_outages=year_outages, maintenance_windows=month_maintenance,
    )


def cause_labels(causes) -> str:
    from ventanilla.operations.models import Check

    labels = {choice.value: str(choice.label) for choice in Check}
    return ", ".join(labels.get(cause, cause) for cause in causes) or "—"


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [f"{days} d"] if days else []
    if hours or days:
        parts.append(f"{hours} h")
    parts.append(f"{minutes} min")
    if not days and not hours:
        parts.append(f"{seconds} s")
    return " ".join(parts)


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat()


def availability_as_dict(report: AvailabilityReport) -> dict:
    """The report for ``--json`` and any machine reader: times in Chile time (ISO 8601),
    durations in seconds, percentages as strings (exact decimals)."""
    def seconds(delta: timedelta) -> int:
        return int(delta.total_seconds())

    def percent(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "month": f"{report.year:04d}-{report.month:02d}",
        "start": _when(report.start), "end": _when(report.end),
        "measured_until": _when(report.measured_until), "in_progress": report.in_progress,
        "seconds": {"elapsed": seconds(report.elapsed),
                    "maintenance": seconds(report.maintenance), "up": seconds(report.up),
                    "down": seconds(report.down), "unknown": seconds(report.unknown),
                    "longest_unknown": seconds(report.longest_unknown)},
        "availability_percent": percent(report.percent),
        "observed_availability_percent": percent(report.observed_percent),
        "target_percent": str(report.target_percent),
        "meets_target": report.meets_target,
        "outages": [{"start": _when(o.start), "end": _when(o.end),
                     "duration_seconds": seconds(o.duration),
                     "seconds_in_month": seconds(o.in_month), "causes": list(o.causes),
                     "ongoing": o.ongoing, "began_before_month": o.began_before_month,
                     "continues_after_month": o.continues_after_month}
                    for o in report.outages],
        "year": {"outages": report.year_outage_count,
                 "max_outages": report.max_outages_per_year,
                 "meets_outage_count": report.meets_outage_count,
                 "longest_outage_seconds": seconds(report.longest_outage),
                 "max_outage_seconds": seconds(report.max_outage),
                 "meets_longest_outage": report.meets_longest_outage},
    }
