"""Results against a small data set computed by hand (see the comments beside each row)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import AreaFactory, channel, open_ticket
from tests.surveys.helpers import make_office, make_survey
from ventanilla.core.models import Region
from ventanilla.reports.tables import DashboardFilters
from ventanilla.surveys.models import Source, SurveyInvitation, SurveyResponse
from ventanilla.surveys.selectors import satisfaction_by

pytestmark = pytest.mark.django_db
CHILE = ZoneInfo("America/Santiago")


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=CHILE)


@pytest.fixture
def data(catalog):
    institution = catalog["institution"]
    area_2 = AreaFactory(institution=institution, name="Área Becas")
    default = make_survey(institution)  # 5 faces
    kiosk_survey = make_survey(institution, channel_code="in_person", scale=3)
    centro = make_office(institution, "Oficina Centro", "13101")
    puerto = make_office(institution, "Oficina Puerto", "05101")

    def invited(channel_code, area, created, answer=None):
        ticket = open_ticket(catalog, channel=channel(channel_code))
        ticket.area = area
        ticket.save(update_fields=["area"])
        invitation = SurveyInvitation.objects.create(
            survey=default, ticket=ticket, created_at=at(created),
            expires_at=at("2026-06-30"), used_at=at(answer[1]) if answer else None)
        if answer:
            SurveyResponse.objects.create(
                institution=institution, survey=default, invitation=invitation, ticket=ticket,
                source=Source.LINK, channel=ticket.channel, area=area, topic=ticket.topic,
                region=ticket.region, scale=5, score=answer[0], answered_at=at(answer[1]))

    def kiosk(office, score, when):
        SurveyResponse.objects.create(
            institution=institution, survey=kiosk_survey, source=Source.KIOSK,
            channel=channel("in_person"), office=office, region=office.region, scale=3,
            score=score, answered_at=when)

    area_1 = catalog["area"]
    invited("web", area_1, "2026-03-05", (5, "2026-03-06"))   # 100
    invited("web", area_1, "2026-03-10", (2, "2026-03-11"))   # 25
    invited("web", area_1, "2026-03-12")                      # not answered
    invited("phone", area_2, "2026-03-15", (4, "2026-03-16"))  # 75
    invited("phone", area_2, "2026-02-27", (1, "2026-03-02"))  # 0; invited in February
    kiosk(centro, 3, at("2026-03-20"))                         # 100
    kiosk(centro, 1, at("2026-03-20"))                         # 0
    kiosk(centro, 3, at("2026-03-20"))                         # 100
    kiosk(centro, 3, at("2026-03-31", 23, 30))                 # 100: still March in Chile
    kiosk(puerto, 2, at("2026-03-21"))                         # 50
    kiosk(centro, 1, at("2026-04-01", 0, 30))                  # April in Chile: outside
    return {"institution": institution, "area_1": area_1, "area_2": area_2,
            "centro": centro, "puerto": puerto}


def _filters(data, **overrides):
    fields = {"institution": data["institution"], "date_from": date(2026, 3, 1),
              "date_to": date(2026, 3, 31)}
    fields.update(overrides)
    return DashboardFilters(**fields)


def _by_label(table):
    return {row["label"]: row for row in table.rows}


def test_by_channel(data):
    table = satisfaction_by(_filters(data), "channel")
    assert table.key == "satisfaction-channel"
    rows = _by_label(table)
    assert set(rows) == {"Formulario web", "Teléfono", "Presencial (oficina)"}
    web, phone, counter = rows["Formulario web"], rows["Teléfono"], rows["Presencial (oficina)"]
    assert (web["invitations"], web["responses"], web["response_rate"]) == (3, 2, 66.7)
    assert (web["score_percent"], web["satisfied_share"]) == (62.5, 50.0)
    assert (web["face5_5"], web["face5_2"], web["face5_1"], web["face3_3"]) == (1, 1, 0, 0)
    assert (phone["invitations"], phone["responses"], phone["response_rate"]) == (1, 2, 100.0)
    assert (phone["score_percent"], phone["satisfied_share"]) == (37.5, 50.0)
    assert (counter["invitations"], counter["responses"], counter["response_rate"]) == (
        0, 5, None)
    assert (counter["score_percent"], counter["satisfied_share"]) == (70.0, 60.0)
    assert (counter["face3_1"], counter["face3_2"], counter["face3_3"]) == (1, 1, 3)
    keys = [column.key for column in table.columns]
    assert keys[:6] == ["label", "invitations", "responses", "response_rate",
                        "score_percent", "satisfied_share"]
    assert keys[6:] == [f"face5_{n}" for n in range(1, 6)] + [f"face3_{n}" for n in (1, 2, 3)]


def test_by_office(data):
    rows = _by_label(satisfaction_by(_filters(data), "office"))
    centro, puerto = rows["Oficina Centro"], rows["Oficina Puerto"]
    assert (centro["responses"], centro["score_percent"], centro["satisfied_share"]) == (
        4, 75.0, 75.0)
    assert (puerto["responses"], puerto["score_percent"], puerto["satisfied_share"]) == (
        1, 50.0, 0.0)
    assert centro["invitations"] == 0 and centro["response_rate"] is None
    rest = rows["Sin oficina (enlace y seguimiento web)"]
    assert (rest["invitations"], rest["response_rate"], rest["responses"]) == (4, 75.0, 4)
    assert (rest["score_percent"], rest["satisfied_share"]) == (50.0, 50.0)


def test_by_area(data):
    rows = _by_label(satisfaction_by(_filters(data), "area"))
    assert (rows["Área PAE"]["invitations"], rows["Área PAE"]["response_rate"],
            rows["Área PAE"]["score_percent"]) == (3, 66.7, 62.5)
    assert (rows["Área Becas"]["invitations"], rows["Área Becas"]["response_rate"],
            rows["Área Becas"]["score_percent"]) == (1, 100.0, 37.5)
    assert (rows["Sin área"]["responses"], rows["Sin área"]["score_percent"]) == (5, 70.0)


def test_by_topic_groups_every_ticket_answer_under_its_topic(data, catalog):
    rows = _by_label(satisfaction_by(_filters(data), "topic"))
    topic = rows[catalog["topic"].full_name]
    assert (topic["invitations"], topic["responses"]) == (4, 4)
    assert rows["Sin tema"]["responses"] == 5


def test_by_period_in_chile_months(data):
    table = satisfaction_by(_filters(data, date_from=date(2026, 2, 1)), "period")
    assert table.chart == "line"
    assert [row["key"] for row in table.rows] == ["2026-02-01", "2026-03-01"]
    february, march = table.rows
    assert (february["invitations"], february["response_rate"], february["responses"]) == (
        1, 100.0, 0)
    assert february["score_percent"] is None
    assert (march["invitations"], march["response_rate"], march["responses"]) == (4, 75.0, 9)
    assert march["score_percent"] == round(550 / 9, 1)


def test_period_bounds_are_chile_days(data):
    april = satisfaction_by(_filters(data, date_from=date(2026, 4, 1),
                                     date_to=date(2026, 4, 1)), "channel")
    assert [(row["label"], row["responses"]) for row in april.rows] == [
        ("Presencial (oficina)", 1)]
    last_day = satisfaction_by(_filters(data, date_from=date(2026, 3, 31)), "office")
    assert [(row["label"], row["responses"]) for row in last_day.rows] == [
        ("Oficina Centro", 1)]


def test_filters_by_channel_area_and_region(data):
    web = satisfaction_by(_filters(data, channel=channel("web")), "channel")
    assert [row["label"] for row in web.rows] == ["Formulario web"]
    area = satisfaction_by(_filters(data, area=data["area_2"]), "channel")
    assert [(row["label"], row["invitations"], row["responses"]) for row in area.rows] == [
        ("Teléfono", 1, 2)]
    valparaiso = Region.objects.get(code="05")
    region = satisfaction_by(_filters(data, region=valparaiso), "office")
    assert [(row["label"], row["responses"]) for row in region.rows] == [
        ("Oficina Puerto", 1)]


def test_other_institutions_are_not_counted(data):
    from tests.factories import make_catalog

    other = make_catalog()
    survey = make_survey(other["institution"])
    SurveyResponse.objects.create(institution=other["institution"], survey=survey,
                                  source=Source.KIOSK, channel=channel("web"), scale=5,
                                  score=5, answered_at=at("2026-03-10"))
    rows = _by_label(satisfaction_by(_filters(data), "channel"))
    assert rows["Formulario web"]["responses"] == 2


def test_empty_period_and_unknown_dimension(data):
    table = satisfaction_by(_filters(data, date_from=date(2025, 1, 1),
                                     date_to=date(2025, 1, 31)), "channel")
    assert table.rows == []
    with pytest.raises(ValueError):
        satisfaction_by(_filters(data), "comuna")
