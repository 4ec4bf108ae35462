"""Deadline arithmetic of the Chilean business calendar. No database needed.

Dates used (checked against the ``holidays`` package): Monday 29 June 2026 is San Pedro y San
Pablo, Thursday 21 May 2026 is Glorias Navales, Friday 3 April 2026 is Viernes Santo, Monday
7 June 2027 is Arica's regional holiday, Thursday 20 August 2026 is Ñuble's. Santiago leaves DST
at 2026-04-05 00:00 (-03 → -04) and enters it at 2026-09-06 00:00 (-04 → -03).
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ventanilla.sla.calendar import (
    BUSINESS_DAYS,
    BUSINESS_HOURS,
    CALENDAR_HOURS,
    BusinessCalendar,
    Unit,
    add_calendar_hours,
    deadline,
    elapsed,
    time_used_ratio,
)

SCL = ZoneInfo("America/Santiago")
CAL = BusinessCalendar()


def local(*args):
    return datetime(*args, tzinfo=SCL)


def as_local(value):
    assert value.tzinfo is UTC  # results are always returned in UTC
    return value.astimezone(SCL).replace(tzinfo=None)


# -- Ley 19.880 art. 25 / Ley 20.285 check-values from CHILE.md ----------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2020, 11, 12), 20, date(2020, 12, 11)),
        (date(2026, 9, 10), 20, date(2026, 10, 9)),
        (date(2026, 9, 10), 30, date(2026, 10, 26)),
        (date(2026, 12, 22), 20, date(2027, 1, 21)),
    ],
)
def test_chile_md_check_values(start, days, expected):
    due = CAL.add_business_days(datetime.combine(start, time(11, 30), tzinfo=SCL), days)
    assert as_local(due) == datetime.combine(expected, time(18, 0))


def test_filing_on_saturday_counts_from_next_business_day():
    # Saturday 27 June 2026 → counts as filed Tuesday 30 (Monday 29 is a holiday), so the
    # first counted day is Wednesday 1 July.
    assert as_local(CAL.add_business_days(local(2026, 6, 27, 11), 1)) == datetime(2026, 7, 1, 18)
    assert as_local(CAL.add_business_days(local(2026, 6, 27, 11), 0)) == datetime(2026, 6, 30, 18)


def test_filing_on_holiday_counts_from_next_business_day():
    assert as_local(CAL.add_business_days(local(2026, 6, 29, 10), 1)) == datetime(2026, 7, 1, 18)


def test_business_days_skip_weekend_and_holiday():
    # Thursday 11 June + 2 → Friday 12, Monday 15.
    assert as_local(CAL.add_business_days(local(2026, 6, 11, 10), 2)) == datetime(2026, 6, 15, 18)
    # Wednesday 20 May + 1 → Thursday 21 is Glorias Navales → Friday 22.
    assert as_local(CAL.add_business_days(local(2026, 5, 20, 10), 1)) == datetime(2026, 5, 22, 18)


def test_business_hours_skip_weekend_and_holiday():
    # Friday 12 June 16:00 + 4 h: 2 h on Friday, 2 h on Monday.
    assert as_local(CAL.add_business_hours(local(2026, 6, 12, 16), 4)) == datetime(2026, 6, 15, 11)
    # Wednesday 20 May 17:00 + 2 h: 1 h Wednesday, Thursday is a holiday, 1 h Friday.
    assert as_local(CAL.add_business_hours(local(2026, 5, 20, 17), 2)) == datetime(2026, 5, 22, 10)


def test_business_hours_start_outside_working_time():
    # Before opening, after closing and on a Sunday: counting starts at the next 9:00.
    assert as_local(CAL.add_business_hours(local(2026, 6, 15, 7), 1)) == datetime(2026, 6, 15, 10)
    assert as_local(CAL.add_business_hours(local(2026, 6, 15, 18), 1)) == datetime(2026, 6, 16, 10)
    assert as_local(CAL.add_business_hours(local(2026, 6, 14, 12), 0)) == datetime(2026, 6, 15, 9)
    # A term that uses a whole day exactly ends at that day's close, not the next morning.
    assert as_local(CAL.add_business_hours(local(2026, 6, 15, 9), 9)) == datetime(2026, 6, 15, 18)


# -- Friday 26 June 2026, 17:00, before the Monday 29 June holiday -------------------------------

FRIDAY_17 = local(2026, 6, 26, 17)


def test_friday_before_monday_holiday_calendar_hours():
    assert as_local(deadline(FRIDAY_17, 72, CALENDAR_HOURS, CAL)) == datetime(2026, 6, 29, 17)


def test_friday_before_monday_holiday_business_hours():
    # 1 h Friday + 9 h Tuesday + 6 h Wednesday = 16 h → Wednesday 1 July 15:00.
    assert as_local(deadline(FRIDAY_17, 16, BUSINESS_HOURS, CAL)) == datetime(2026, 7, 1, 15)


def test_friday_before_monday_holiday_business_days():
    assert as_local(deadline(FRIDAY_17, 1, BUSINESS_DAYS, CAL)) == datetime(2026, 6, 30, 18)
    # Filed on Friday after closing: still Friday's filing (the law counts days, not hours).
    late = local(2026, 6, 26, 21)
    assert as_local(deadline(late, 1, BUSINESS_DAYS, CAL)) == datetime(2026, 6, 30, 18)


# -- institution exceptions and regional holidays --------------------------------------------------


def test_extra_non_working_day_is_skipped():
    cal = BusinessCalendar(extra_non_working=frozenset({date(2026, 6, 12)}))
    assert not cal.is_business_day(date(2026, 6, 12))
    assert as_local(cal.add_business_days(local(2026, 6, 11, 10), 1)) == datetime(2026, 6, 15, 18)
    assert as_local(cal.add_business_hours(local(2026, 6, 11, 17), 2)) == datetime(2026, 6, 15, 10)
    assert date(2026, 6, 12) in cal.holidays_in(2026)


def test_extra_working_day_overrides_regional_holiday():
    nuble = BusinessCalendar(holiday_subdiv="NB")
    assert not nuble.is_business_day(date(2026, 8, 20))
    assert as_local(nuble.add_business_days(local(2026, 8, 19, 10), 1)) == datetime(2026, 8, 21, 18)

    outside_chillan = BusinessCalendar(holiday_subdiv="NB", extra_working={date(2026, 8, 20)})
    assert outside_chillan.is_business_day(date(2026, 8, 20))
    due = outside_chillan.add_business_days(local(2026, 8, 19, 10), 1)
    assert as_local(due) == datetime(2026, 8, 20, 18)
    assert date(2026, 8, 20) not in outside_chillan.holidays_in(2026)


def test_arica_holiday_only_with_its_subdiv():
    # Monday 7 June 2027.
    arica = BusinessCalendar(holiday_subdiv="AP")
    assert CAL.is_business_day(date(2027, 6, 7))
    assert not arica.is_business_day(date(2027, 6, 7))
    assert as_local(CAL.add_business_days(local(2027, 6, 4, 10), 1)) == datetime(2027, 6, 7, 18)
    assert as_local(arica.add_business_days(local(2027, 6, 4, 10), 1)) == datetime(2027, 6, 8, 18)
    assert date(2027, 6, 7) in arica.holidays_in(2027)
    assert date(2027, 6, 7) not in CAL.holidays_in(2027)


def test_holidays_in_2026_lists_the_16_national_holidays():
    national = CAL.holidays_in(2026)
    assert len(national) == 16
    assert national[date(2026, 9, 18)] == "Día de la Independencia"
    assert list(national) == sorted(national)


def test_next_business_day_is_strictly_after():
    assert CAL.next_business_day(date(2026, 6, 15)) == date(2026, 6, 16)
    assert CAL.next_business_day(date(2026, 6, 26)) == date(2026, 6, 30)


def test_custom_workdays_and_hours():
    # Saturday-morning office: Monday to Saturday, 8:30 to 13:00.
    cal = BusinessCalendar(workdays={0, 1, 2, 3, 4, 5}, work_start=time(8, 30),
                           work_end=time(13, 0))
    assert cal.is_business_day(date(2026, 6, 13))
    # Friday 12:00 + 2 h: 1 h Friday, 1 h Saturday.
    assert as_local(cal.add_business_hours(local(2026, 6, 12, 12), 2)) == datetime(
        2026, 6, 13, 9, 30)


# -- DST -------------------------------------------------------------------------------------------


def test_dst_end_april():
    # Thursday 2 April 17:00 (-03); Friday 3 is Viernes Santo; Monday 6 is -04.
    due = CAL.add_business_hours(local(2026, 4, 2, 17), 2)
    assert due == datetime(2026, 4, 6, 14, tzinfo=UTC)  # 10:00 -04
    assert CAL.business_seconds_between(local(2026, 4, 2, 17), due) == 7200
    due = CAL.add_business_days(local(2026, 3, 31, 10), 5)
    assert due == datetime(2026, 4, 8, 22, tzinfo=UTC)  # 18:00 -04
    # Calendar hours are absolute: 24 h later the local clock reads one hour less.
    due = add_calendar_hours(local(2026, 4, 4, 12), 24)
    assert due == datetime(2026, 4, 5, 15, tzinfo=UTC)
    assert as_local(due) == datetime(2026, 4, 5, 11)


def test_dst_start_september():
    # Friday 4 September 17:00 is -04 (21:00 UTC); Monday 7 is -03.
    start = local(2026, 9, 4, 17)
    assert start.astimezone(UTC) == datetime(2026, 9, 4, 21, tzinfo=UTC)
    due = CAL.add_business_hours(start, 2)
    assert due == datetime(2026, 9, 7, 13, tzinfo=UTC)  # 10:00 -03
    assert CAL.business_seconds_between(start, due) == 7200
    assert CAL.add_business_days(start, 1) == datetime(2026, 9, 7, 21, tzinfo=UTC)
    due = add_calendar_hours(local(2026, 9, 5, 12), 24)
    assert as_local(due) == datetime(2026, 9, 6, 13)


# -- business_seconds_between ---------------------------------------------------------------------


def test_business_seconds_between():
    assert CAL.business_seconds_between(local(2026, 6, 26, 17), local(2026, 7, 1, 15)) == 16 * 3600
    assert CAL.business_seconds_between(local(2026, 6, 15, 12), local(2026, 6, 15, 12)) == 0
    assert CAL.business_seconds_between(local(2026, 6, 16, 12), local(2026, 6, 15, 12)) == 0
    # Only a weekend in between.
    assert CAL.business_seconds_between(local(2026, 6, 13, 8), local(2026, 6, 14, 20)) == 0


def test_work_start_is_the_same_business_instant_as_the_previous_close():
    monday_open, friday = local(2026, 6, 15, 9), local(2026, 6, 12, 17)
    assert CAL.business_seconds_between(friday, monday_open) == 3600
    assert as_local(CAL.add_business_hours(friday, 1)) == datetime(2026, 6, 12, 18)


@pytest.mark.parametrize(
    "cal",
    [CAL, BusinessCalendar(holiday_subdiv="AP", extra_non_working={date(2026, 6, 12)},
                           extra_working={date(2026, 6, 29)}, work_start=time(8, 30),
                           work_end=time(17, 15))],
)
def test_round_trip_between_add_and_seconds(cal):
    rng = random.Random(20260626)
    span = int(timedelta(days=730).total_seconds())
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(400):
        a = origin + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(10**6))
        # b inside working time: the first working moment at or after a random instant,
        # nudged off work_start (which is the same business instant as the previous close).
        b = cal.add_business_hours(a + timedelta(seconds=rng.randrange(40 * 86400)), 0)
        if b.astimezone(SCL).time() == cal.work_start:
            b += timedelta(seconds=rng.randrange(1, 3600))
        assert cal.add_business_hours(a, cal.business_seconds_between(a, b) / 3600) == b
        hours = rng.randrange(0, 400 * 3600) / 3600
        due = cal.add_business_hours(a, hours)
        assert cal.business_seconds_between(a, due) == pytest.approx(hours * 3600, abs=1e-5)


# -- elapsed / time used -------------------------------------------------------------------------


def test_elapsed_per_unit():
    start, end = local(2026, 6, 26, 17), local(2026, 6, 30, 10)
    assert elapsed(start, end, CALENDAR_HOURS, CAL) == (end - start).total_seconds()
    assert elapsed(start, end, BUSINESS_HOURS, CAL) == 2 * 3600
    assert elapsed(start, end, BUSINESS_DAYS, CAL) == 2 * 3600
    assert elapsed(end, start, CALENDAR_HOURS, CAL) == 0


def test_time_used_ratio_business_hours():
    start = local(2026, 6, 15, 9)
    due = deadline(start, 8, BUSINESS_HOURS, CAL)  # Monday 17:00
    assert time_used_ratio(start, due, start, BUSINESS_HOURS, CAL) == 0
    assert time_used_ratio(start, due, local(2026, 6, 15, 15), BUSINESS_HOURS, CAL) == 0.75
    assert time_used_ratio(start, due, due, BUSINESS_HOURS, CAL) == 1
    assert time_used_ratio(start, due, local(2026, 6, 16, 10), BUSINESS_HOURS, CAL) == 1.25


def test_time_used_ratio_calendar_hours():
    start = FRIDAY_17
    due = deadline(start, 72, CALENDAR_HOURS, CAL)
    assert time_used_ratio(start, due, start + timedelta(hours=54), CALENDAR_HOURS, CAL) == 0.75
    assert time_used_ratio(start, due, due + timedelta(hours=36), CALENDAR_HOURS, CAL) == 1.5


def test_time_used_ratio_business_days_overdue_after_hours():
    start = local(2026, 6, 15, 9)
    due = deadline(start, 1, BUSINESS_DAYS, CAL)  # Tuesday 18:00: 18 working hours
    assert time_used_ratio(start, due, local(2026, 6, 16, 4), BUSINESS_DAYS, CAL) == 0.5
    # Overdue at 20:00 although no working time passed since 18:00.
    assert time_used_ratio(start, due, local(2026, 6, 16, 20), BUSINESS_DAYS, CAL) == 1


def test_time_used_ratio_zero_length_term():
    start = local(2026, 6, 15, 10)
    due = deadline(start, 0, BUSINESS_HOURS, CAL)
    assert due == start
    assert time_used_ratio(start, due, start - timedelta(minutes=1), BUSINESS_HOURS, CAL) == 0
    assert time_used_ratio(start, due, start, BUSINESS_HOURS, CAL) == 1


def test_deadline_accepts_decimal_and_unit_members():
    assert deadline(FRIDAY_17, Decimal("72.00"), Unit.CALENDAR_HOURS, CAL) == deadline(
        FRIDAY_17, 72, "calendar_hours", CAL)
    assert as_local(deadline(FRIDAY_17, Decimal("1.00"), "business_days", CAL)) == datetime(
        2026, 6, 30, 18)


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"workdays": frozenset()},
        {"workdays": {0, 7}},
        {"work_start": time(18), "work_end": time(9)},
        {"work_start": time(9), "work_end": time(9)},
        {"extra_working": {date(2026, 1, 1)}, "extra_non_working": {date(2026, 1, 1)}},
    ],
)
def test_invalid_calendar(kwargs):
    with pytest.raises(ValueError):
        BusinessCalendar(**kwargs)


@pytest.mark.parametrize(
    ("amount", "unit"),
    [(-1, CALENDAR_HOURS), (-0.5, BUSINESS_HOURS), (-1, BUSINESS_DAYS), (1.5, BUSINESS_DAYS),
     (float("nan"), BUSINESS_HOURS), (1, "weeks")],
)
def test_invalid_deadline(amount, unit):
    with pytest.raises(ValueError):
        deadline(FRIDAY_17, amount, unit, CAL)


def test_naive_datetimes_are_refused():
    naive = datetime(2026, 6, 15, 10)
    with pytest.raises(ValueError):
        deadline(naive, 1, BUSINESS_HOURS, CAL)
    with pytest.raises(ValueError):
        CAL.business_seconds_between(naive, FRIDAY_17)
    with pytest.raises(ValueError):
        elapsed(FRIDAY_17, naive, CALENDAR_HOURS, CAL)
