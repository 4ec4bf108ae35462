"""The rollups stay the exact aggregate of their days: full rebuild, incremental refresh
(tickets by ``updated_at`` watermark with overlap, interactions by id watermark), Chile
days at midnight and at the daylight-saving changes, and the ``reports_rebuild`` command."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from tests.factories import channel, make_catalog, open_ticket
from tests.reports.rollup_data import build_data_set, local, march
from ventanilla.reports import selectors
from ventanilla.reports.models import (
    ComunaMonthlyStat,
    InteractionDailyStat,
    RollupState,
    TicketDailyStat,
    TicketMonthlyStat,
)
from ventanilla.reports.services import (
    COMUNA_COUNTS,
    COMUNA_MONTH_DIMENSIONS,
    INTERACTIONS_SEEN_STATE,
    INTERACTIONS_STATE,
    MONTH_DIMENSIONS,
    ROLLUP_OVERLAP,
    TICKET_COUNTS,
    TICKETS_STATE,
    day_range,
    months_between,
    next_month,
    rollup_rebuild,
    rollup_refresh,
)
from ventanilla.tickets.models import Interaction, Status, Ticket
from ventanilla.tickets.services import (
    interaction_record_attended,
    ticket_change_area,
    ticket_change_status,
)

TICKET_FIELDS = [f.attname for f in TicketDailyStat._meta.concrete_fields if f.name != "id"]
INTERACTION_FIELDS = [f.attname for f in InteractionDailyStat._meta.concrete_fields
                      if f.name != "id"]


def ticket_rows() -> list[tuple]:
    return sorted(TicketDailyStat.objects.values_list(*TICKET_FIELDS), key=repr)


def interaction_rows() -> list[tuple]:
    return sorted(InteractionDailyStat.objects.values_list(*INTERACTION_FIELDS), key=repr)


@pytest.fixture
def data(db):
    return build_data_set()


def test_rebuild_puts_each_ticket_on_its_chile_day(data):
    result = rollup_rebuild(institution=data["institution"])
    assert result.ticket_rows == TicketDailyStat.objects.filter(
        institution=data["institution"]).count()
    days = dict(TicketDailyStat.objects.filter(institution=data["institution"])
                .values_list("day").annotate(n=Sum("received")))
    # T10 23:59:59 on 28 Feb, T9 00:00:00 on 1 March, T12 22:30 on 9 March (10 March in UTC).
    assert days[date(2026, 2, 28)] == 1
    assert days[date(2026, 3, 1)] == 1
    assert days[date(2026, 3, 9)] == 1 and date(2026, 3, 10) not in days
    assert sum(days.values()) == Ticket.objects.filter(institution=data["institution"]).count()
    # Nothing of the other institution was built (it was not asked for).
    assert not TicketDailyStat.objects.filter(institution=data["other"]["institution"]).exists()
    t3 = data["tickets"][3]
    row = TicketDailyStat.objects.get(institution=data["institution"], day=date(2026, 3, 4))
    assert (row.channel_id, row.ticket_type_id, row.topic_id, row.area_id, row.region_id,
            row.comuna_id) == (t3.channel_id, t3.ticket_type_id, t3.topic_id, t3.area_id,
                               t3.region_id, t3.comuna_id)
    assert row.is_self_service is False  # phone
    assert (row.received, row.closed, row.ack_due, row.ack_on_time, row.plan_due,
            row.plan_on_time, row.plan_late, row.final_due, row.answered_72h) == (
        1, 0, 1, 1, 1, 0, 0, 1, 0)


def test_interaction_rows_count_every_contact_per_day(data):
    rollup_rebuild()
    march_rows = InteractionDailyStat.objects.filter(
        institution=data["institution"], day__gte=date(2026, 3, 1), day__lte=date(2026, 3, 31))
    assert march_rows.aggregate(n=Sum("count"))["n"] == 13
    tracking = march_rows.filter(kind="tracking").values_list("day", "count")
    assert sorted(tracking) == [(date(2026, 3, 10), 1), (date(2026, 3, 11), 1)]
    assert march_rows.get(kind="attended").is_self_service is False


@pytest.mark.parametrize("received, expected_day", [
    # April: clocks go back at midnight, 23:00-24:00 of the 4th happens twice.
    (local(2026, 4, 4, 23, 30, fold=0), date(2026, 4, 4)),
    (local(2026, 4, 4, 23, 30, fold=1), date(2026, 4, 4)),
    (local(2026, 4, 5, 0, 0), date(2026, 4, 5)),
    # September: clocks jump from 24:00 to 01:00, the day starts at 01:00.
    (local(2026, 9, 5, 23, 59, 59), date(2026, 9, 5)),
    (local(2026, 9, 6, 1, 0), date(2026, 9, 6)),
])
def test_days_across_daylight_saving_changes(catalog, received, expected_day):
    ticket = open_ticket(catalog, received_at=received)
    rollup_rebuild(institution=catalog["institution"])
    assert list(TicketDailyStat.objects.values_list("day", flat=True)) == [expected_day]
    start, end = day_range(expected_day, expected_day)
    assert start <= ticket.received_at < end


def test_day_range_is_the_chile_day():
    start, end = day_range(date(2026, 3, 1), date(2026, 3, 1))
    assert start == local(2026, 3, 1) and end == local(2026, 3, 2)
    # The September change: the 6th starts at 04:00 UTC and lasts 23 hours.
    start, end = day_range(date(2026, 9, 6), date(2026, 9, 6))
    assert end - start == timedelta(hours=23)


def test_first_refresh_builds_everything_then_follows_changes(data):
    assert RollupState.objects.filter(name=TICKETS_STATE).first() is None
    rollup_refresh()
    built = ticket_rows()
    assert built and interaction_rows()
    rollup_rebuild()
    assert ticket_rows() == built
    state = RollupState.objects.get(name=TICKETS_STATE)
    assert state.watermark_time >= Ticket.objects.latest("updated_at").updated_at


def _age_everything(hours: int = 1) -> None:
    """As if the last change happened an hour ago and the refreshes since caught up (test
    setup: no service moves ``updated_at`` back)."""
    Ticket.objects.update(updated_at=timezone.now() - timedelta(hours=hours))
    RollupState.objects.filter(name=TICKETS_STATE).update(watermark_time=timezone.now())


def test_refresh_rebuilds_only_the_days_of_changed_tickets_and_equals_a_rebuild(data):
    rollup_refresh()
    _age_everything()
    t2, t3 = data["tickets"][2], data["tickets"][3]
    before = selectors.volume_by(march(data), "channel").rows
    ticket_change_status(ticket=t2, actor=data["supervisor"], to_status=Status.CLOSED)
    ticket_change_area(ticket=t3, actor=data["supervisor"], area=data["becas_area"])

    result = rollup_refresh()
    assert result.ticket_days == 2  # 3 March (T2) and 4 March (T3), nothing else
    refreshed = ticket_rows()
    rollup_rebuild()
    assert ticket_rows() == refreshed

    after = selectors.volume_by(march(data), "channel").rows
    web_before = next(r for r in before if r["label"] == "Formulario web")
    web_after = next(r for r in after if r["label"] == "Formulario web")
    assert web_after["closed"] == web_before["closed"] + 1
    becas = march(data, area=data["becas_area"])
    assert {r["label"]: r["received"] for r in selectors.volume_by(becas, "topic").rows} == {
        "Becas › BAES": 3, "Becas": 2, "PAE Básica-Media": 1}


def test_a_change_stamped_before_the_watermark_within_the_overlap_is_not_missed(data):
    """A transaction that stamped ``updated_at`` before the last refresh and committed
    after it: its stamp is behind the watermark, but within the overlap."""
    rollup_refresh()
    _age_everything()
    t2 = data["tickets"][2]
    ticket_change_status(ticket=t2, actor=data["supervisor"], to_status=Status.CLOSED)
    stamp = Ticket.objects.get(pk=t2.pk).updated_at
    RollupState.objects.filter(name=TICKETS_STATE).update(
        watermark_time=stamp + ROLLUP_OVERLAP - timedelta(seconds=1))
    assert rollup_refresh().ticket_days == 1
    refreshed = ticket_rows()
    rollup_rebuild()
    assert ticket_rows() == refreshed


def test_refresh_without_changes_rebuilds_nothing(data):
    start = timezone.now()
    rollup_refresh(now=start)
    _age_everything()
    assert rollup_refresh(now=start).ticket_days == 0
    # Interactions are read again until the highest id seen is older than the overlap.
    assert rollup_refresh(now=start + timedelta(minutes=1)).interaction_days
    rollup_refresh(now=start + ROLLUP_OVERLAP + timedelta(seconds=1))
    assert not rollup_refresh(now=start + ROLLUP_OVERLAP + timedelta(minutes=1))


def test_interactions_refresh_by_id_and_late_commits_are_not_missed(data):
    start = timezone.now()
    rollup_refresh(now=start)
    seen = RollupState.objects.get(name=INTERACTIONS_SEEN_STATE)
    assert seen.watermark_id == Interaction.objects.latest("pk").pk
    assert RollupState.objects.get(name=INTERACTIONS_STATE).watermark_id == 0

    interaction_record_attended(institution=data["institution"], channel=channel("phone"),
                                actor=data["supervisor"], summary="Consulta",
                                at=local(2026, 3, 12, 15))
    rollup_refresh(now=start + timedelta(minutes=1))
    refreshed = interaction_rows()
    rollup_rebuild()
    assert interaction_rows() == refreshed
    assert InteractionDailyStat.objects.get(
        institution=data["institution"], day=date(2026, 3, 12), kind="attended").count == 2

    # An id handed out before the candidate was seen but committed after it (simulated by
    # making the candidate that id): it stays above the watermark until the overlap passes.
    late = interaction_record_attended(institution=data["institution"],
                                       channel=channel("phone"), actor=data["supervisor"],
                                       summary="Consulta", at=local(2026, 3, 13, 10))
    RollupState.objects.filter(name=INTERACTIONS_SEEN_STATE).update(watermark_id=late.pk)
    rollup_refresh(now=start + timedelta(minutes=2))
    assert InteractionDailyStat.objects.get(
        institution=data["institution"], day=date(2026, 3, 13), kind="attended").count == 1

    # Past the overlap the candidate becomes the watermark and only newer ids are read.
    rollup_refresh(now=start + ROLLUP_OVERLAP + timedelta(minutes=1))
    assert RollupState.objects.get(name=INTERACTIONS_STATE).watermark_id == late.pk
    assert not rollup_refresh(now=start + ROLLUP_OVERLAP + timedelta(minutes=2))


def test_rebuild_of_a_range_removes_stale_rows_and_leaves_other_days(data):
    rollup_rebuild()
    institution = data["institution"]
    stale = TicketDailyStat.objects.filter(institution=institution).first()
    stale_copy = TicketDailyStat.objects.create(
        **{f: getattr(stale, f) for f in TICKET_FIELDS if f != "day"}, day=date(2026, 3, 25))
    outside = TicketDailyStat.objects.create(
        **{f: getattr(stale, f) for f in TICKET_FIELDS if f != "day"}, day=date(2026, 5, 1))
    rollup_rebuild(institution=institution, date_from=date(2026, 3, 1),
                   date_to=date(2026, 3, 31))
    assert not TicketDailyStat.objects.filter(pk=stale_copy.pk).exists()
    assert TicketDailyStat.objects.filter(pk=outside.pk).exists()
    assert TicketDailyStat.objects.filter(
        institution=institution, day__gte=date(2026, 3, 1), day__lte=date(2026, 3, 31)
    ).aggregate(n=Sum("received"))["n"] == 10


def test_command_rebuilds_a_range_of_one_institution_and_refreshes(data):
    out = StringIO()
    call_command("reports_rebuild", "--institution", data["institution"].slug, "--from",
                 "2026-03-01", "--to", "2026-03-31", stdout=out)
    assert "31 ticket day(s)" in out.getvalue()
    assert set(TicketDailyStat.objects.values_list("day", flat=True)) <= {
        date(2026, 3, d) for d in range(1, 32)}
    assert not TicketDailyStat.objects.filter(institution=data["other"]["institution"]).exists()
    call_command("reports_rebuild", "--refresh", stdout=out)
    assert TicketDailyStat.objects.filter(institution=data["other"]["institution"]).exists()
    assert "rollup refresh" in out.getvalue()


@pytest.mark.parametrize("args", [
    ["--from", "2026-13-01"],
    ["--from", "2026-03-31", "--to", "2026-03-01"],
    ["--institution", "no-such-institution"],
    ["--refresh", "--from", "2026-03-01"],
    ["--every", "5"],
    ["--refresh", "--every", "-1"],
])
def test_command_refuses_bad_arguments(db, args):
    with pytest.raises(CommandError):
        call_command("reports_rebuild", *args, stdout=StringIO())


def test_rebuild_of_an_institution_without_tickets_does_nothing(db):
    catalog = make_catalog()
    result = rollup_rebuild(institution=catalog["institution"])
    assert not result and not TicketDailyStat.objects.exists()


# --- month rows ----------------------------------------------------------------------------------

def months_from_days() -> tuple[list[tuple], list[tuple]]:
    """The month rows as they must be: the day rows summed per month (and per comuna)."""
    tickets: dict[tuple, list[int]] = {}
    comunas: dict[tuple, list[int]] = {}
    for row in TicketDailyStat.objects.values():
        month = row["day"].replace(day=1)
        key = (row["institution_id"], month, *(row[d] for d in MONTH_DIMENSIONS))
        sums = tickets.setdefault(key, [0] * len(TICKET_COUNTS))
        for index, count in enumerate(TICKET_COUNTS):
            sums[index] += row[count]
        comuna_key = (row["institution_id"], month,
                      *(row[d] for d in COMUNA_MONTH_DIMENSIONS))
        comuna_sums = comunas.setdefault(comuna_key, [0] * len(COMUNA_COUNTS))
        for index, count in enumerate(COMUNA_COUNTS):
            comuna_sums[index] += row[count]
    return (sorted(((*key, *sums) for key, sums in tickets.items()), key=repr),
            sorted(((*key, *sums) for key, sums in comunas.items()), key=repr))


def month_rows() -> tuple[list[tuple], list[tuple]]:
    ticket_fields = ["institution_id", "month", *MONTH_DIMENSIONS, *TICKET_COUNTS]
    comuna_fields = ["institution_id", "month", *COMUNA_MONTH_DIMENSIONS, *COMUNA_COUNTS]
    return (sorted(TicketMonthlyStat.objects.values_list(*ticket_fields), key=repr),
            sorted(ComunaMonthlyStat.objects.values_list(*comuna_fields), key=repr))


def test_a_rebuild_sums_the_days_into_month_rows(data):
    rollup_rebuild()
    tickets, comunas = month_rows()
    assert (tickets, comunas) == months_from_days()
    institution = data["institution"]
    march_rows = TicketMonthlyStat.objects.filter(institution=institution,
                                                  month=date(2026, 3, 1))
    assert march_rows.aggregate(n=Sum("received"))["n"] == 10
    assert march_rows.aggregate(n=Sum("closed"))["n"] == 6
    assert set(TicketMonthlyStat.objects.filter(institution=institution)
               .values_list("month", flat=True)) == {
        date(2025, 3, 1), date(2026, 2, 1), date(2026, 3, 1)}
    # Fewer rows than days: T1 and T2 (web, complaint, PAE, Santiago) share one month row.
    t1 = data["tickets"][1]
    assert march_rows.get(channel_id=t1.channel_id, topic_id=t1.topic_id,
                          region_id=t1.region_id, ticket_type_id=t1.ticket_type_id).received == 2
    santiago = ComunaMonthlyStat.objects.get(institution=institution, month=date(2026, 3, 1),
                                             comuna=data["santiago"], channel=data["web"])
    assert santiago.received == 2


def test_month_rows_follow_the_refreshed_days(data):
    rollup_refresh()
    _age_everything()
    t2, t3, t10 = data["tickets"][2], data["tickets"][3], data["tickets"][10]
    ticket_change_status(ticket=t2, actor=data["supervisor"], to_status=Status.CLOSED)
    ticket_change_area(ticket=t3, actor=data["supervisor"], area=data["becas_area"])
    ticket_change_area(ticket=t10, actor=data["supervisor"], area=data["becas_area"])
    result = rollup_refresh()
    assert result.ticket_days == 3  # 3 and 4 March, 28 February
    assert month_rows() == months_from_days()
    march_becas = TicketMonthlyStat.objects.filter(
        institution=data["institution"], month=date(2026, 3, 1), area=data["becas_area"])
    assert march_becas.aggregate(n=Sum("received"))["n"] == 6
    refreshed = month_rows()
    rollup_rebuild()
    assert month_rows() == refreshed


def test_a_rebuild_of_part_of_a_month_keeps_its_month_whole_and_drops_stale_months(data):
    rollup_rebuild()
    institution = data["institution"]
    template = TicketMonthlyStat.objects.filter(institution=institution).first()
    stale = TicketMonthlyStat.objects.create(
        **{f.attname: getattr(template, f.attname) for f in TicketMonthlyStat._meta.concrete_fields
           if f.name not in ("id", "month")}, month=date(2026, 4, 1))
    # Only the 1st-5th March and April: March keeps the tickets of its other days.
    rollup_rebuild(institution=institution, date_from=date(2026, 3, 1),
                   date_to=date(2026, 3, 5))
    assert TicketMonthlyStat.objects.filter(
        institution=institution, month=date(2026, 3, 1)).aggregate(n=Sum("received"))["n"] == 10
    rollup_rebuild(institution=institution, date_from=date(2026, 4, 10),
                   date_to=date(2026, 4, 10))
    assert not TicketMonthlyStat.objects.filter(pk=stale.pk).exists()
    assert month_rows() == months_from_days()


def test_month_helpers_cover_every_month_touched():
    assert months_between(date(2025, 12, 31), date(2026, 2, 1)) == [
        date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert months_between(date(2026, 3, 5), date(2026, 3, 5)) == [date(2026, 3, 1)]
    assert next_month(date(2024, 1, 31)) == date(2024, 2, 1)
    assert next_month(date(2026, 12, 15)) == date(2027, 1, 1)
