"""Every dashboard figure against the hand-computed data set of ``rollup_data`` (see its
docstring for the twelve tickets and the interactions), with filters, empty periods and
one query per figure."""

from datetime import date
from decimal import Decimal

import pytest

from tests.reports.rollup_data import NOW, build_data_set, march
from ventanilla.reports import selectors
from ventanilla.reports.selectors import percent
from ventanilla.reports.services import rollup_rebuild
from ventanilla.reports.tables import DashboardFilters, Table

D = Decimal


@pytest.fixture
def data(db):
    data = build_data_set()
    rollup_rebuild()
    return data


def _rows(table: Table, *keys: str) -> list[tuple]:
    return [tuple(row[key] for key in keys) for row in table.rows]


def _volume(table: Table) -> list[tuple]:
    return _rows(table, "label", "received", "closed", "share")


def test_percent_has_one_decimal_and_none_without_denominator():
    assert percent(2, 3) == D("66.7")
    assert percent(1, 3) == D("33.3")
    assert percent(1, 8) == D("12.5")
    assert percent(0, 5) == D("0.0")
    assert percent(3, 0) is None


def test_volume_by_day_month_and_catalog(data):
    filters = march(data)
    by_day = selectors.volume_by(filters, "period")  # 31 days: by day
    assert by_day.key == "volume_day" and by_day.chart == "line"
    # T9 at 00:00:00 on 1 March is in; T10 at 23:59:59 on 28 February is not (in UTC both
    # are 1 March); T12 at 22:30 on 9 March is the 9th (the 10th in UTC).
    assert _volume(by_day) == [
        ("2026-03-01", 1, 1, D("10.0")), ("2026-03-02", 1, 1, D("10.0")),
        ("2026-03-03", 1, 0, D("10.0")), ("2026-03-04", 1, 0, D("10.0")),
        ("2026-03-05", 1, 1, D("10.0")), ("2026-03-06", 1, 1, D("10.0")),
        ("2026-03-07", 1, 1, D("10.0")), ("2026-03-08", 1, 0, D("10.0")),
        ("2026-03-09", 1, 1, D("10.0")), ("2026-03-18", 1, 0, D("10.0")),
    ]
    assert _volume(selectors.volume_by(filters, "month")) == [("2026-03", 10, 6, D("100.0"))]
    assert _volume(selectors.volume_by(filters, "channel")) == [
        ("Formulario web", 4, 2, D("40.0")), ("Correo electrónico", 3, 3, D("30.0")),
        ("Teléfono", 3, 1, D("30.0")),
    ]
    assert _volume(selectors.volume_by(filters, "ticket_type")) == [
        ("Reclamo", 8, 4, D("80.0")), ("Sugerencia", 2, 2, D("20.0")),
    ]
    assert _volume(selectors.volume_by(filters, "topic")) == [
        ("PAE Básica-Media", 5, 3, D("50.0")), ("Becas › BAES", 3, 2, D("30.0")),
        ("Becas", 2, 1, D("20.0")),
    ]
    assert _volume(selectors.volume_by(filters, "region")) == [
        ("Región Metropolitana de Santiago", 6, 4, D("60.0")),
        ("Región de Valparaíso", 3, 1, D("30.0")), ("Sin región", 1, 1, D("10.0")),
    ]
    assert _volume(selectors.volume_by(filters, "comuna")) == [
        ("Santiago", 5, 3, D("50.0")), ("Valparaíso", 3, 1, D("30.0")),
        ("Providencia", 1, 1, D("10.0")), ("Sin comuna", 1, 1, D("10.0")),
    ]


def test_long_periods_go_by_month_and_day_is_refused(data):
    filters = DashboardFilters(institution=data["institution"], date_from=date(2025, 1, 1),
                               date_to=date(2026, 12, 31))
    assert _volume(selectors.volume_by(filters, "period")) == [
        ("2025-03", 1, 0, D("8.3")), ("2026-02", 1, 0, D("8.3")), ("2026-03", 10, 6, D("83.3")),
    ]
    with pytest.raises(ValueError):
        selectors.volume_by(filters, "day")
    with pytest.raises(ValueError):
        selectors.volume_by(filters, "citizen")


def test_top_topics_per_channel_highlights_topics_in_several_channels(data):
    table = selectors.top_topics_by_channel(march(data))
    assert _rows(table, "channel", "rank", "topic", "received", "share",
                 "several_channels") == [
        ("Formulario web", 1, "Becas › BAES", 2, D("50.0"), True),
        ("Formulario web", 2, "PAE Básica-Media", 2, D("50.0"), True),
        ("Correo electrónico", 1, "PAE Básica-Media", 2, D("66.7"), True),
        ("Correo electrónico", 2, "Becas › BAES", 1, D("33.3"), True),
        ("Teléfono", 1, "Becas", 2, D("66.7"), False),
        ("Teléfono", 2, "PAE Básica-Media", 1, D("33.3"), True),
    ]
    assert table.highlighted == [0, 1, 2, 3, 5]
    # Only the first of each channel: each channel's top topic differs, nothing highlighted.
    top_one = selectors.top_topics_by_channel(march(data), n=1)
    assert _rows(top_one, "channel", "topic") == [
        ("Formulario web", "Becas › BAES"), ("Correo electrónico", "PAE Básica-Media"),
        ("Teléfono", "Becas"),
    ]
    assert top_one.highlighted == []


def test_channel_mix(data):
    table = selectors.channel_mix(march(data))
    assert _rows(table, "channel", "attention", "received", "share") == [
        ("Formulario web", "Autoatención", 4, D("40.0")),
        ("Correo electrónico", "Autoatención", 3, D("30.0")),
        ("Teléfono", "Asistido", 3, D("30.0")),
    ]


def test_self_service_share_against_the_year_before(data):
    table = selectors.self_service_share(march(data))
    assert _rows(table, "date_from", "date_to", "self_service", "assisted", "total",
                 "self_service_share", "assisted_share", "change_pp") == [
        (date(2026, 3, 1), date(2026, 3, 31), 9, 4, 13, D("69.2"), D("30.8"), D("19.2")),
        (date(2025, 3, 1), date(2025, 3, 31), 1, 1, 2, D("50.0"), D("50.0"), None),
    ]
    phone = selectors.self_service_share(march(data, channel=data["phone"]))
    assert _rows(phone, "self_service", "assisted", "self_service_share", "change_pp") == [
        (0, 4, D("0.0"), None), (0, 0, None, None),
    ]


def test_self_service_share_of_29_february_compares_with_28(data):
    filters = DashboardFilters(institution=data["institution"], date_from=date(2028, 2, 29),
                               date_to=date(2028, 2, 29))
    table = selectors.self_service_share(filters)
    assert table.rows[1]["date_from"] == date(2027, 2, 28)
    assert table.rows[0]["self_service_share"] is None


def test_compliance_by_stage_and_first_answer_within_72_hours(data):
    table = selectors.compliance_by_stage(march(data), now=NOW)
    assert _rows(table, "stage", "with_deadline", "on_time", "late", "overdue", "pending",
                 "share", "target", "meets") == [
        ("Acuse de recibo", 8, 8, 0, 0, 0, D("100.0"), D("98.0"), True),
        ("Respuesta intermedia", 10, 7, 1, 1, 1, D("77.8"), D("98.0"), False),
        ("Respuesta final", 10, 5, 2, 2, 1, D("55.6"), D("98.0"), False),
        ("Primera respuesta dentro de 72 horas", 10, 7, 1, 1, 1, D("77.8"), D("98.0"), False),
    ]


def test_compliance_matches_the_sla_report_on_the_same_tickets(data):
    """Same definitions as ``sla.selectors.sla_compliance`` (which reads tickets directly)."""
    from ventanilla.reports.services import day_range
    from ventanilla.sla.selectors import sla_compliance

    start, end = day_range(date(2026, 3, 1), date(2026, 3, 31))
    report = sla_compliance(institution=data["institution"], start=start, end=end, now=NOW)
    table = selectors.compliance_by_stage(march(data), now=NOW)
    for row, stage in zip(table.rows, ("ack", "plan", "final"), strict=False):
        cell = report.by_stage[stage]
        assert (row["with_deadline"], row["on_time"], row["late"], row["overdue"]) == (
            cell.with_deadline, cell.on_time, cell.late, cell.overdue)


def test_backlog_ageing(data):
    table = selectors.backlog_ageing(march(data), now=NOW)
    # Open: T4 (2 days), T2, T3, T8, T10 (11-20 days; all but T2 past their deadline), T11.
    assert _rows(table, "age", "open", "past_deadline", "share") == [
        ("0 a 3 días", 1, 0, D("16.7")), ("4 a 10 días", 0, 0, D("0.0")),
        ("11 a 20 días", 4, 3, D("66.7")), ("21 a 30 días", 0, 0, D("0.0")),
        ("Más de 30 días", 1, 1, D("16.7")),
    ]


def test_filters_apply_to_every_figure(data):
    region = data["santiago"].region
    by_region = march(data, region=region)
    # RM in March: T1, T2 (web), T5, T6 (email), T4, T9 (phone).
    assert _volume(selectors.volume_by(by_region, "channel")) == [
        ("Correo electrónico", 2, 2, D("33.3")), ("Formulario web", 2, 1, D("33.3")),
        ("Teléfono", 2, 1, D("33.3")),
    ]
    assert _rows(selectors.compliance_by_stage(by_region, now=NOW), "stage", "with_deadline",
                 "on_time", "late", "overdue", "pending")[1:3] == [
        ("Respuesta intermedia", 6, 4, 1, 0, 1), ("Respuesta final", 6, 4, 1, 0, 1),
    ]
    becas = march(data, area=data["becas_area"])
    assert _volume(selectors.volume_by(becas, "topic")) == [
        ("Becas › BAES", 3, 2, D("60.0")), ("Becas", 2, 1, D("40.0")),
    ]
    assert _rows(selectors.backlog_ageing(becas, now=NOW), "open", "past_deadline") == [
        (1, 0), (0, 0), (1, 1), (0, 0), (0, 0)]
    web = march(data, channel=data["web"])
    assert _volume(selectors.volume_by(web, "topic")) == [
        ("Becas › BAES", 2, 1, D("50.0")), ("PAE Básica-Media", 2, 1, D("50.0")),
    ]
    assert _rows(selectors.backlog_ageing(web, now=NOW), "open", "past_deadline") == [
        (0, 0), (0, 0), (3, 2), (0, 0), (1, 1)]
    assert _rows(selectors.compliance_by_stage(web, now=NOW), "stage", "with_deadline",
                 "on_time", "late", "overdue", "pending")[3] == (
        "Primera respuesta dentro de 72 horas", 4, 3, 1, 0, 0)
    assert _rows(selectors.channel_mix(web), "channel", "received") == [("Formulario web", 4)]
    assert _rows(selectors.top_topics_by_channel(web), "channel", "topic") == [
        ("Formulario web", "Becas › BAES"), ("Formulario web", "PAE Básica-Media")]


def test_an_empty_period_gives_empty_tables_and_no_shares(data):
    filters = DashboardFilters(institution=data["institution"], date_from=date(2024, 1, 1),
                               date_to=date(2024, 1, 31))
    assert selectors.volume_by(filters, "channel").rows == []
    assert selectors.top_topics_by_channel(filters).rows == []
    compliance = selectors.compliance_by_stage(filters, now=NOW)
    assert {row["share"] for row in compliance.rows} == {None}
    assert {row["meets"] for row in compliance.rows} == {None}
    other = DashboardFilters(institution=data["other"]["institution"],
                             date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert _volume(selectors.volume_by(other, "channel")) == [
        ("Formulario web", 1, 0, D("100.0"))]


def test_each_figure_is_one_aggregate_and_its_labels(data, django_assert_num_queries):
    """One aggregate per figure plus one small query per catalog it names, whatever the
    number of rows (never a query per row)."""
    filters = march(data, region=data["santiago"].region, area=data["pae_area"],
                    channel=data["web"])
    with django_assert_num_queries(1):
        selectors.volume_by(filters, "period")
    for dimension in ("channel", "ticket_type", "topic", "region", "comuna"):
        with django_assert_num_queries(2):
            selectors.volume_by(filters, dimension)
    with django_assert_num_queries(3):  # channels and topics
        selectors.top_topics_by_channel(filters)
    with django_assert_num_queries(2):
        selectors.channel_mix(filters)
    with django_assert_num_queries(1):
        selectors.self_service_share(filters)
    with django_assert_num_queries(2):  # the rollup, and the open tickets (live overdue)
        selectors.compliance_by_stage(filters, now=NOW)
    with django_assert_num_queries(1):
        selectors.backlog_ageing(filters, now=NOW)


def test_tables_are_labelled_and_hold_no_personal_data(data):
    tables = selectors.dashboard_figures(march(data), now=NOW)
    assert len({table.key for table in tables}) == len(tables)
    personal = {"Juana Soto", "juana@example.cl"}
    for table in tables:
        keys = {column.key for column in table.columns}
        assert all(str(column.label) for column in table.columns)
        for row in table.rows:
            assert set(row) == keys
            assert not personal & {str(value) for value in row.values()}


# --- whole months from the month rows, edge days from the day rows -------------------------------

def test_split_period_reads_whole_months_and_edge_days():
    split = selectors.split_period(date(2026, 1, 20), date(2026, 3, 8))
    assert split.months == (date(2026, 2, 1), date(2026, 2, 1))
    assert split.days == ((date(2026, 1, 20), date(2026, 1, 31)),
                          (date(2026, 3, 1), date(2026, 3, 8)))
    whole = selectors.split_period(date(2025, 1, 1), date(2026, 12, 31))
    assert whole.months == (date(2025, 1, 1), date(2026, 12, 1)) and whole.days == ()
    inside = selectors.split_period(date(2026, 3, 2), date(2026, 3, 30))
    assert inside.months is None and inside.days == ((date(2026, 3, 2), date(2026, 3, 30)),)
    leap = selectors.split_period(date(2024, 2, 1), date(2024, 2, 29))
    assert leap.months == (date(2024, 2, 1), date(2024, 2, 1)) and leap.days == ()


@pytest.fixture
def spread(data):
    """The March data set plus tickets in January, February and April 2026, rolled up."""
    from tests.factories import open_ticket
    from tests.reports.rollup_data import local

    catalog = data["catalog"]
    for when, chan, topic, comuna in (
        (local(2026, 1, 10, 9), data["web"], data["pae"], data["santiago"]),  # before
        (local(2026, 1, 20, 0, 0), data["phone"], data["becas"], data["valparaiso"]),
        (local(2026, 1, 31, 23, 59), data["web"], data["baes"], data["providencia"]),
        (local(2026, 2, 1, 0, 0), data["email"], data["pae"], data["santiago"]),
        (local(2026, 2, 14, 12), data["phone"], data["pae"], None),
        (local(2026, 4, 5, 10), data["web"], data["pae"], data["santiago"]),  # after
    ):
        open_ticket(catalog, channel=chan, topic=topic, organization=None,
                    region=comuna.region if comuna else None, comuna=comuna, received_at=when)
    rollup_rebuild()
    return data


def _days_only(monkeypatch):
    """The same figures computed from the day rows alone (the reference)."""
    monkeypatch.setattr(selectors, "split_period",
                        lambda first, last: selectors.PeriodSplit(None, ((first, last),)))


FIGURE_CALLS = {
    **{f"volume_{d}": (lambda f, d=d: selectors.volume_by(f, d))
       for d in ("period", "month", "channel", "ticket_type", "topic", "region", "comuna")},
    "top_topics": selectors.top_topics_by_channel,
    "channel_mix": selectors.channel_mix,
    "compliance": lambda f: selectors.compliance_by_stage(f, now=NOW),
}


@pytest.mark.parametrize("extra", [{}, {"region": "santiago"}, {"channel": "web"},
                                   {"area": "becas_area"}])
def test_months_and_edge_days_give_the_figures_of_the_days_alone(spread, monkeypatch, extra):
    # 20 January .. 8 March: 12 edge days of January, all of February, 8 of March.
    filters = DashboardFilters(
        institution=spread["institution"], date_from=date(2026, 1, 20),
        date_to=date(2026, 3, 8),
        **{key: (spread[value].region if value == "santiago" else spread[value])
           for key, value in extra.items()})
    mixed = {name: call(filters) for name, call in FIGURE_CALLS.items()}
    _days_only(monkeypatch)
    reference = {name: call(filters) for name, call in FIGURE_CALLS.items()}
    for name in FIGURE_CALLS:
        assert mixed[name].rows == reference[name].rows, name
    if not extra:
        # By hand: January's two edge tickets, February's three (T10 at 23:59:59 on the
        # 28th), March 1-8's eight (T1-T3, T5-T9); not the 10 January nor the 5 April.
        assert _volume(mixed["volume_month"]) == [
            ("2026-01", 2, 0, D("15.4")), ("2026-02", 3, 0, D("23.1")),
            ("2026-03", 8, 5, D("61.5"))]
        assert _volume(mixed["volume_channel"]) == [
            ("Formulario web", 6, 2, D("46.2")), ("Teléfono", 4, 1, D("30.8")),
            ("Correo electrónico", 3, 2, D("23.1"))]


def test_month_rows_are_read_for_long_ranges(spread, monkeypatch):
    """Whole months come from the month rows, not the days: a month row changed behind the
    rollups' back shows (the test's way to see which table answered)."""
    from ventanilla.reports.models import TicketMonthlyStat

    filters = DashboardFilters(institution=spread["institution"], date_from=date(2026, 1, 20),
                               date_to=date(2026, 3, 8))
    row = TicketMonthlyStat.objects.filter(institution=spread["institution"],
                                           month=date(2026, 2, 1)).first()
    TicketMonthlyStat.objects.filter(pk=row.pk).update(received=row.received + 100)
    by_channel = _rows(selectors.volume_by(filters, "channel"), "received")
    assert sum(received for (received,) in by_channel) == 13 + 100
    # Up to 62 days the period figure goes by day, so it reads the day rows alone.
    by_day = _rows(selectors.volume_by(filters, "period"), "received")
    assert sum(received for (received,) in by_day) == 13


def test_channel_mix_title_and_top_topics_chart(data):
    mix = selectors.channel_mix(march(data))
    assert str(mix.title) == "Mezcla de canales: autoatención y asistida"
    assert str(mix.title) != str(selectors.volume_by(march(data), "channel").title)
    top = selectors.top_topics_by_channel(march(data))
    assert (top.chart, top.chart_label, top.chart_series) == ("bar", "topic", ["received"])


SHARED_FIGURES = ("volume_period", "volume_month", "volume_channel", "volume_ticket_type",
                  "volume_topic", "volume_region", "top_topics", "channel_mix")


@pytest.mark.parametrize("period, extra", [
    ((date(2026, 3, 1), date(2026, 3, 31)), {}),
    ((date(2026, 1, 20), date(2026, 3, 8)), {}),
    ((date(2025, 1, 15), date(2026, 4, 20)), {}),  # long: months, with edges
    ((date(2025, 1, 15), date(2026, 4, 20)), {"channel": "web"}),
    ((date(2025, 1, 15), date(2026, 4, 20)), {"area": "becas_area"}),
    ((date(2024, 1, 1), date(2024, 12, 31)), {}),  # nothing
])
def test_one_shared_scan_gives_the_tables_of_separate_queries(spread, period, extra):
    """Inside ``shared_scan`` PostgreSQL answers the volume figures from one GROUPING SETS
    query; SQLite (and any database outside the scope) runs one query per figure."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    filters = DashboardFilters(spread["institution"], *period,
                               **{key: spread[value] for key, value in extra.items()})
    separate = {name: FIGURE_CALLS[name](filters) for name in SHARED_FIGURES}
    with selectors.shared_scan(), CaptureQueriesContext(connection) as queries:
        shared = {name: FIGURE_CALLS[name](filters) for name in SHARED_FIGURES}
        compliance = FIGURE_CALLS["compliance"](filters)
    for name in SHARED_FIGURES:
        assert shared[name].rows == separate[name].rows, name
        assert shared[name].highlighted == separate[name].highlighted, name
    assert compliance.rows == FIGURE_CALLS["compliance"](filters).rows
    rollup_reads = [q["sql"] for q in queries.captured_queries
                    if "dailystat" in q["sql"] or "monthlystat" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(rollup_reads) == 2  # the shared scan, and compliance's own totals
        assert sum("GROUPING SETS" in sql for sql in rollup_reads) == 1
    else:
        assert len(rollup_reads) == len(SHARED_FIGURES) + 1


def test_dashboard_figures_share_the_scan_and_match_the_figures_one_by_one(spread):
    filters = DashboardFilters(spread["institution"], date(2025, 1, 15), date(2026, 4, 20))
    together = selectors.dashboard_figures(filters, now=NOW)
    one_by_one = [selectors.volume_by(filters, d) for d in
                  ("period", "channel", "ticket_type", "topic", "region", "comuna")]
    one_by_one += [selectors.top_topics_by_channel(filters), selectors.channel_mix(filters),
                   selectors.self_service_share(filters),
                   selectors.compliance_by_stage(filters, now=NOW),
                   selectors.backlog_ageing(filters, now=NOW)]
    assert [t.rows for t in together] == [t.rows for t in one_by_one]
