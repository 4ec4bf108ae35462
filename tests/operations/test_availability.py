"""The monthly availability computation over synthetic probe records (one probe a minute),
its boundaries, and the report's command and console page."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.factories import InstitutionFactory
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.operations import availability as calc
from ventanilla.operations.models import MaintenanceWindow, UptimeProbe
from ventanilla.operations.selectors import availability_month

CHILE = ZoneInfo("America/Santiago")
MINUTE = timedelta(minutes=1)
LATER = datetime(2027, 3, 1, tzinfo=CHILE)  # "now" for finished months


def local(*args) -> datetime:
    return datetime(*args, tzinfo=CHILE)


def record(start: datetime, end: datetime, *, ok: bool = True, failed: str = "",
           step: timedelta = MINUTE) -> None:
    """One probe every ``step`` in [start, end)."""
    rows, at = [], start
    while at < end:
        rows.append(UptimeProbe(checked_at=at, ok=ok, failed_checks="" if ok else failed))
        at += step
    UptimeProbe.objects.bulk_create(rows, batch_size=5000)


def month_of_probes(year: int, month: int, *, skip: tuple[datetime, datetime] | None = None):
    start = local(year, month, 1)
    end = local(year + (month == 12), month % 12 + 1, 1)
    if skip is None:
        record(start, end)
    else:
        record(start, skip[0])
        record(skip[1], end)


@pytest.mark.django_db
def test_a_month_of_successful_probes_is_100_percent():
    month_of_probes(2026, 11)
    report = availability_month(year=2026, month=11, now=LATER)
    assert report.elapsed == timedelta(days=30)
    assert report.up == timedelta(days=30) and report.down == report.unknown == timedelta()
    assert report.percent == Decimal("100.000") and report.meets_target is True
    assert report.outages == [] and report.year_outage_count == 0


@pytest.mark.django_db
def test_exactly_99_percent_meets_the_target_and_one_second_less_does_not():
    # November 2026 in Chile has 30 days of 86,400 s: 1 % is 25,920 s = 432 minutes.
    down_from = local(2026, 11, 10, 8, 0)
    down_until = down_from + timedelta(minutes=432)
    month_of_probes(2026, 11, skip=(down_from, down_until))
    UptimeProbe.objects.create(checked_at=down_from, ok=False, failed_checks="database")
    report = availability_month(year=2026, month=11, now=LATER)
    assert report.down == timedelta(minutes=432) and report.unknown == timedelta()
    assert report.percent == Decimal("99.000")
    assert report.meets_target is True
    [outage] = report.outages
    assert (outage.start, outage.end, outage.causes) == (down_from, down_until, ("database",))

    # The recovery seen one second later: 1 s short of the target.
    UptimeProbe.objects.filter(checked_at=down_until).update(
        checked_at=down_until + timedelta(seconds=1))
    report = availability_month(year=2026, month=11, now=LATER)
    assert report.down == timedelta(minutes=432, seconds=1)
    assert report.meets_target is False


@pytest.mark.django_db
def test_an_outage_across_two_months_counts_in_each_month_once_in_the_year():
    start, end = local(2026, 10, 31, 23, 0), local(2026, 11, 1, 1, 0)
    record(local(2026, 10, 1), start)
    record(start, end, ok=False, failed="web")
    record(end, local(2026, 12, 1))
    october = availability_month(year=2026, month=10, now=LATER)
    november = availability_month(year=2026, month=11, now=LATER)
    for report in (october, november):
        [outage] = report.outages
        assert (outage.start, outage.end) == (start, end)
        assert outage.duration == timedelta(hours=2)
        assert outage.in_month == timedelta(hours=1)
        assert report.down == timedelta(hours=1)
    assert october.outages[0].continues_after_month and not october.outages[0].began_before_month
    assert november.outages[0].began_before_month
    assert october.year_outage_count == november.year_outage_count == 1
    assert november.longest_outage == timedelta(hours=2)


@pytest.mark.django_db
def test_a_gap_in_probes_is_unknown_time_not_an_outage_and_counts_against_the_month():
    gap_from, gap_until = local(2026, 11, 5, 10, 0), local(2026, 11, 5, 12, 0)
    month_of_probes(2026, 11, skip=(gap_from, gap_until))
    report = availability_month(year=2026, month=11, now=LATER)
    # The last probe (09:59) vouches for 3 minutes (3 intervals) at most: unknown 10:02-12:00.
    assert report.unknown == timedelta(hours=2) - timedelta(minutes=2)
    assert report.longest_unknown == report.unknown
    assert report.outages == [] and report.down == timedelta()
    assert report.observed_percent == Decimal("100.000")
    assert report.percent < Decimal("100") and report.meets_target is True


@pytest.mark.django_db
def test_silence_after_a_failure_is_down_until_a_probe_succeeds():
    failed_at, back_at = local(2026, 11, 5, 10, 0), local(2026, 11, 5, 15, 0)
    month_of_probes(2026, 11, skip=(failed_at, back_at))
    UptimeProbe.objects.create(checked_at=failed_at, ok=False, failed_checks="web")
    report = availability_month(year=2026, month=11, now=LATER)
    [outage] = report.outages
    assert outage.duration == timedelta(hours=5)
    assert report.meets_longest_outage is False  # over 4 hours
    assert report.unknown == timedelta()


@pytest.mark.django_db
def test_an_ongoing_outage_ends_now():
    record(local(2026, 11, 1), local(2026, 11, 3))
    record(local(2026, 11, 3), local(2026, 11, 3, 1, 0), ok=False, failed="web,database")
    now = local(2026, 11, 3, 1, 0)
    report = availability_month(year=2026, month=11, now=now)
    [outage] = report.outages
    assert outage.ongoing and outage.end == now and outage.causes == ("web", "database")
    assert report.in_progress and report.measured_until == now


@pytest.mark.django_db
def test_maintenance_is_left_out_and_outages_inside_it_do_not_count():
    start, end = local(2026, 11, 7, 2, 0), local(2026, 11, 7, 6, 0)
    month_of_probes(2026, 11, skip=(start, end))
    record(start, end, ok=False, failed="web")
    MaintenanceWindow.objects.create(starts_at=start - timedelta(minutes=30), ends_at=end,
                                     reason="Actualización de PostgreSQL")
    report = availability_month(year=2026, month=11, now=LATER)
    assert report.outages == [] and report.year_outage_count == 0
    assert report.maintenance == timedelta(hours=4, minutes=30)
    assert report.up == timedelta(days=30) - report.maintenance
    assert report.percent == Decimal("100.000")


@pytest.mark.django_db
def test_the_thirteenth_outage_of_the_year_breaks_the_limit():
    record(local(2026, 1, 1), local(2026, 1, 20), step=timedelta(minutes=2))
    for day in range(1, 14):
        UptimeProbe.objects.filter(checked_at=local(2026, 1, day, 12, 0)).update(
            ok=False, failed_checks="web")
    report = availability_month(year=2026, month=1, now=LATER)
    assert report.year_outage_count == 13 and report.meets_outage_count is False
    assert all(o.duration == timedelta(minutes=2) for o in report.year_outages)
    UptimeProbe.objects.filter(checked_at=local(2026, 1, 13, 12, 0)).update(ok=True)
    report = availability_month(year=2026, month=3, now=LATER)  # the year so far
    assert report.year_outage_count == 12 and report.meets_outage_count is True


def test_interval_arithmetic():
    t = local(2026, 1, 1)
    h = timedelta(hours=1)
    assert calc.subtract([(t, t + 4 * h)], [(t + h, t + 2 * h)]) == [(t, t + h),
                                                                      (t + 2 * h, t + 4 * h)]
    assert calc.merge([(t, t + h), (t + h, t + 2 * h)]) == [(t, t + 2 * h)]
    probes = [calc.Probe(t, True), calc.Probe(t + h, False, ("web",)),
              calc.Probe(t + 2 * h, False, ("database",)), calc.Probe(t + 3 * h, True)]
    [outage] = calc.outages_from(probes, until=t + 5 * h)
    assert (outage.start, outage.end, outage.causes) == (t + h, t + 3 * h, ("web", "database"))
    assert calc.up_intervals(probes, valid_for=timedelta(minutes=3), until=t + 5 * h) == [
        (t, t + timedelta(minutes=3)), (t + 3 * h, t + 3 * h + timedelta(minutes=3))]


@pytest.mark.django_db
def test_command_prints_text_and_json():
    start, end = local(2026, 10, 31, 23, 0), local(2026, 11, 1, 1, 0)
    record(local(2026, 10, 1), start)
    record(start, end, ok=False, failed="queue")
    record(end, local(2026, 11, 2))
    out = StringIO()
    call_command("availability", "--month", "2026-10", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["month"] == "2026-10" and data["seconds"]["down"] == 3600
    assert data["outages"][0]["continues_after_month"] is True
    assert data["outages"][0]["causes"] == ["queue"]
    assert data["year"] == {"outages": 1, "max_outages": 12, "meets_outage_count": True,
                            "longest_outage_seconds": 7200, "max_outage_seconds": 14400,
                            "meets_longest_outage": True}
    out = StringIO()
    call_command("availability", "--month", "2026-10", stdout=out)
    text = out.getvalue()
    assert "Cola de tareas" in text and "continúa el mes siguiente" in text
    assert "meta 99 %" in text
    for bad in ("2026-13", "octubre", "2026-1"):
        with pytest.raises(CommandError, match="AAAA-MM"):
            call_command("availability", "--month", bad)


@pytest.mark.django_db
def test_console_page_for_supervisors_and_system_administrators(client):
    institution = InstitutionFactory()
    start = local(2026, 10, 31, 23, 0)
    record(local(2026, 10, 31), start)
    record(start, local(2026, 11, 1, 1, 0), ok=False, failed="database")
    record(local(2026, 11, 1, 1, 0), local(2026, 11, 1, 2, 0))
    url = reverse("console:availability")
    for role in (Role.SUPERVISOR, Role.SYSADMIN):
        client.force_login(staff(institution, role))
        response = client.get(url, {"month": "2026-10"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "Base de datos" in page and "No cumple" in page  # stated in words
        assert "<caption>" in page and 'scope="row"' in page
        assert "style=" not in page and "<script>" not in page
    response = client.get(url, {"month": "2026-99"})
    assert response.status_code == 200 and "AAAA-MM" in response.content.decode()
    assert "error-summary" in response.content.decode()
    for role in (Role.OPERATOR, Role.RESPONDER, Role.AUDITOR):
        client.force_login(staff(institution, role))
        assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302
