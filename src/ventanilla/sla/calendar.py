"""Chilean business calendar: the pure deadline arithmetic behind the SLA engine.

No models and no database here, so the legal rules can be tested quickly and in isolation.
Every public function takes and returns timezone-aware datetimes; arithmetic happens in the
calendar's local time (America/Santiago by default, where DST changes at midnight in April and
September) and results come back in UTC, ready to be stored.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.utils.translation import gettext


class Unit(StrEnum):
    """Deadline units; same values as ``sla.models.Unit`` so stored strings work directly."""

    CALENDAR_HOURS = "calendar_hours"
    BUSINESS_HOURS = "business_hours"
    BUSINESS_DAYS = "business_days"


CALENDAR_HOURS, BUSINESS_HOURS, BUSINESS_DAYS = Unit
SANTIAGO = ZoneInfo("America/Santiago")


@lru_cache(maxsize=256)
def _official_holidays(subdiv: str | None, year: int) -> dict[date, str]:
    # Building a ``holidays`` table is slow (it evaluates every rule of the country), and
    # the sweep asks for the same few years over and over: cache per (subdiv, year).
    table = holidays.country_holidays("CL", subdiv=subdiv, years=year, language="es")
    return dict(table)


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value


def _non_negative(amount: float | Decimal, name: str = "amount") -> float:
    amount = float(amount)
    if not amount >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be zero or positive, got {amount}")
    return amount


@dataclass(frozen=True)
class BusinessCalendar:
    """Working time of an institution.

    A business day is a ``workdays`` weekday that is neither an official holiday (national,
    plus the regional ones of ``holiday_subdiv``) nor in ``extra_non_working``. A day in
    ``extra_working`` is a business day whatever its weekday or holiday status: the package
    applies Ñuble's 20 August to the whole region although by law it only binds Chillán and
    Chillán Viejo, so institutions elsewhere in Ñuble must be able to work it.
    """

    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    holiday_subdiv: str | None = None
    extra_non_working: frozenset[date] = frozenset()
    extra_working: frozenset[date] = frozenset()
    tz: ZoneInfo = SANTIAGO

    def __post_init__(self):
        # Accept any iterable / a zone name from callers, but store hashable values so the
        # calendar stays immutable and usable as a cache key.
        for name in ("workdays", "extra_non_working", "extra_working"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if isinstance(self.tz, str):
            object.__setattr__(self, "tz", ZoneInfo(self.tz))
        if not self.workdays:
            raise ValueError("workdays must not be empty")
        if not self.workdays <= set(range(7)):
            raise ValueError("workdays must be weekday numbers 0 (Monday) to 6 (Sunday)")
        if self.work_end <= self.work_start:
            raise ValueError("work_end must be after work_start")
        if self.work_start.tzinfo or self.work_end.tzinfo:
            raise ValueError("work_start and work_end are local wall-clock times, without tzinfo")
        if self.extra_working & self.extra_non_working:
            raise ValueError("a day cannot be both an extra working and an extra non-working day")

    # -- days ---------------------------------------------------------------------------------

    def holidays_in(self, year: int) -> dict[date, str]:
        """Non-working days of ``year`` that fall outside the weekly rest: official holidays
        (Spanish names) minus ``extra_working``, plus ``extra_non_working``."""
        days = {
            day: name for day, name in _official_holidays(self.holiday_subdiv, year).items()
            if day not in self.extra_working
        }
        label = gettext("Día no hábil declarado por la institución")
        days.update({day: label for day in self.extra_non_working if day.year == year})
        return dict(sorted(days.items()))

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_working:
            return True
        if day in self.extra_non_working or day.weekday() not in self.workdays:
            return False
        return day not in _official_holidays(self.holiday_subdiv, day.year)

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_business_day(day):  # terminates: workdays is non-empty
            day += timedelta(days=1)
        return day

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """Deadline of ``days`` business days (Ley 19.880 art. 25), as an aware UTC datetime.

        - A filing on a non-working day counts as made at the start of the next business
          day; that day becomes the filing day. A filing on a business day after work_end
          stays on that day (the law counts days, not hours).
        - Counting starts the day after the filing day; weekends, holidays and
          ``extra_non_working`` days are skipped, so a deadline never lands on a
          non-working day (it "moves to the next business day").
        - The deadline instant is the END of the working day (work_end) of the Nth business
          day; 0 days means the end of the filing day itself.
        - Fractions are refused: rounding a legal term (e.g. half of 5 days for an art. 26
          extension) is the caller's decision.
        """
        _aware(start, "start")
        amount = _non_negative(days, "days")
        if not amount.is_integer():
            raise ValueError(f"business days must be a whole number, got {amount}")
        day = start.astimezone(self.tz).date()
        if not self.is_business_day(day):
            day = self.next_business_day(day)
        for _ in range(int(amount)):
            day = self.next_business_day(day)
        return self._at(day, self.work_end)

    # -- hours --------------------------------------------------------------------------------

    def _at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.tz).astimezone(UTC)

    def _next_working_moment(self, start: datetime) -> datetime:
        """``start`` itself if inside working time, else the next work_start (UTC)."""
        local = start.astimezone(self.tz)
        day, moment = local.date(), local.timetz().replace(tzinfo=None)
        if self.is_business_day(day) and moment < self.work_end:
            return start.astimezone(UTC) if moment >= self.work_start else self._at(
                day, self.work_start)
        return self._at(self.next_business_day(day), self.work_start)

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """Deadline after ``hours`` of working time, as an aware UTC datetime.

        Only time inside [work_start, work_end) of business days counts. A start outside
        working time begins counting at the next working moment (so 0 hours returns that
        moment). A deadline that exhausts a day exactly ends at that day's work_end, not at
        the next morning.
        """
        _aware(start, "start")
        remaining = timedelta(hours=_non_negative(hours, "hours"))
        current = self._next_working_moment(start)
        while True:
            day = current.astimezone(self.tz).date()
            available = self._at(day, self.work_end) - current  # UTC maths: DST-safe
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self._at(self.next_business_day(day), self.work_start)

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Seconds of working time in [start, end); 0 when end <= start.

        Inverse of ``add_business_hours``: for ``end`` after ``start`` and strictly inside a
        working window, ``add_business_hours(start, result / 3600) == end``. A work_start
        preceded by working time is the same business instant as the previous work_end, and
        ``add_business_hours`` answers with the latter (a term ends at the close).
        """
        _aware(start, "start")
        _aware(end, "end")
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            if self.is_business_day(day):
                # Overlap of [start, end) with this day's working window, compared in UTC.
                lo = max(start, self._at(day, self.work_start))
                hi = min(end, self._at(day, self.work_end))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds()


def add_calendar_hours(start: datetime, hours: float) -> datetime:
    """``hours`` of elapsed (absolute) time, in UTC. Across a DST change the local clock
    reading shifts by an hour, but exactly ``hours`` hours pass: that is what the tenders'
    "72 horas" promise a citizen."""
    _aware(start, "start")
    return start.astimezone(UTC) + timedelta(hours=_non_negative(hours, "hours"))


def _unit(unit: str) -> Unit:
    try:
        return Unit(unit)
    except ValueError:
        raise ValueError(f"unknown deadline unit {unit!r}") from None


def deadline(start: datetime, amount: float, unit: str, calendar: BusinessCalendar) -> datetime:
    """Due instant (aware, UTC) of a target of ``amount`` ``unit`` counted from ``start``.

    ``amount`` may be a Decimal (as stored by the policies); business days must be whole.
    """
    unit = _unit(unit)
    if unit is Unit.CALENDAR_HOURS:
        return add_calendar_hours(start, amount)
    if unit is Unit.BUSINESS_HOURS:
        return calendar.add_business_hours(start, amount)
    return calendar.add_business_days(start, amount)


def elapsed(start: datetime, end: datetime, unit: str, calendar: BusinessCalendar) -> float:
    """Seconds that count against a target of ``unit`` between ``start`` and ``end``.

    Calendar hours: absolute seconds. Business hours AND business days: seconds of working
    time only. For business days this is deliberate: a day-based deadline ends at work_end, so
    measuring working time makes the clock stand still at night, on weekends and holidays,
    exactly as the legal term does, and pauses subtract the same kind of time they stopped.
    Never negative.
    """
    unit = _unit(unit)
    _aware(start, "start")
    _aware(end, "end")
    if unit is Unit.CALENDAR_HOURS:
        return max(0.0, (end - start).total_seconds())
    return calendar.business_seconds_between(start, end)


def time_used_ratio(
    start: datetime, due: datetime, now: datetime, unit: str, calendar: BusinessCalendar
) -> float:
    """Fraction of the term already used at ``now`` (0.0 at start, 1.0 at due, above 1.0
    once overdue; not capped so reports can show how late). Compare it with a policy's
    at-risk ratio. A term with no countable time is 0.0 before ``due`` and 1.0 from it."""
    total = elapsed(start, due, unit, calendar)
    used = elapsed(start, now, unit, calendar)
    if total <= 0:
        return 1.0 if now >= due else 0.0
    # elapsed() grows with its end, so from ``due`` on the ratio is >= 1 even when no working
    # time has passed since (a business-day term due at 18:00, checked at 20:00, is 1.0).
    return used / total
