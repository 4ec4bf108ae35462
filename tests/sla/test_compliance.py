"""Compliance figures against a small hand-computed data set, and the console page."""

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import AreaFactory, TopicFactory, open_ticket
from tests.sla.conftest import H, local, make_policy, member
from ventanilla.accounts.models import Role
from ventanilla.sla.selectors import sla_compliance
from ventanilla.sla.services import sla_stage_reached
from ventanilla.tickets.models import ResponseStage

START, END = local(2026, 3, 1), local(2026, 4, 1)
NOW = local(2026, 3, 20, 10, 0)


def _answer(ticket, stage, hours):
    sla_stage_reached(ticket=ticket, stage=stage, at=ticket.received_at + timedelta(hours=hours))


@pytest.fixture
def data(catalog):
    """Plan due in 72 h, final in 240 h (no acknowledgement target).

    A (PAE): plan at 10 h, final at 100 h → both on time.
    B (PAE): plan at 80 h, final at 300 h → both late.
    C (PAE): nothing answered, both deadlines passed by NOW → overdue.
    D (PAE): received 48 h before NOW, nothing answered → pending, not counted in the share.
    F (Becas): final at 50 h without a plan → the final is the plan too: both on time.
    X: received in February → outside the period.
    """
    make_policy(catalog, plan=(72, H), final=(240, H))
    becas = AreaFactory(institution=catalog["institution"], name="Becas")
    becas_topic = TopicFactory(institution=catalog["institution"], name="Becas",
                               default_area=becas)
    a = open_ticket(catalog, received_at=local(2026, 3, 2, 10, 0))
    _answer(a, ResponseStage.PLAN, 10)
    _answer(a, ResponseStage.FINAL, 100)
    b = open_ticket(catalog, received_at=local(2026, 3, 3, 10, 0))
    _answer(b, ResponseStage.PLAN, 80)
    _answer(b, ResponseStage.FINAL, 300)
    open_ticket(catalog, received_at=local(2026, 3, 4, 10, 0))
    open_ticket(catalog, received_at=local(2026, 3, 18, 10, 0))
    f = open_ticket(catalog, topic=becas_topic, received_at=local(2026, 3, 5, 10, 0))
    _answer(f, ResponseStage.FINAL, 50)
    x = open_ticket(catalog, received_at=local(2026, 2, 27, 10, 0))
    _answer(x, ResponseStage.FINAL, 500)
    return catalog


def _cells(report):
    return {(row.label, row.stage): (row.cell.with_deadline, row.cell.on_time, row.cell.late,
                                     row.cell.overdue, row.cell.pending)
            for row in report.rows}


def test_compliance_by_stage(data):
    report = sla_compliance(institution=data["institution"], start=START, end=END,
                            group_by="stage", now=NOW)
    assert _cells(report) == {
        ("Respuesta intermedia", "plan"): (5, 2, 1, 1, 1),
        ("Respuesta final", "final"): (5, 2, 1, 1, 1),
    }
    assert report.overall.with_deadline == 10
    assert report.overall.share == pytest.approx(0.5)
    assert report.overall.meets_target is False
    assert report.by_stage["ack"].with_deadline == 0


def test_compliance_by_area_and_type_and_topic(data):
    report = sla_compliance(institution=data["institution"], start=START, end=END,
                            group_by="area", now=NOW)
    cells = _cells(report)
    assert cells[("Área PAE", "plan")] == (4, 1, 1, 1, 1)
    assert cells[("Becas", "final")] == (1, 1, 0, 0, 0)
    becas = next(row for row in report.rows if row.label == "Becas" and row.stage == "plan")
    assert becas.cell.meets_target is True and becas.cell.percent == "100,0 %"
    pae = next(row for row in report.rows if row.label == "Área PAE" and row.stage == "plan")
    assert pae.cell.percent == "33,3 %"

    by_type = _cells(sla_compliance(institution=data["institution"], start=START, end=END,
                                    group_by="ticket_type", now=NOW))
    assert by_type == {("Reclamo", "plan"): (5, 2, 1, 1, 1), ("Reclamo", "final"): (5, 2, 1, 1, 1)}
    by_topic = _cells(sla_compliance(institution=data["institution"], start=START, end=END,
                                     group_by="topic", now=NOW))
    assert by_topic[("Becas", "plan")] == (1, 1, 0, 0, 0)
    assert by_topic[("PAE Básica-Media", "final")] == (4, 1, 1, 1, 1)


def test_compliance_is_per_institution_and_period(data, other_catalog):
    make_policy(other_catalog, plan=(72, H), final=(240, H))
    open_ticket(other_catalog, received_at=local(2026, 3, 2, 10, 0))
    report = sla_compliance(institution=data["institution"], start=local(2026, 2, 1),
                            end=START, group_by="stage", now=NOW)
    # Only X (February): answered at 500 h, both stages late.
    assert _cells(report) == {("Respuesta intermedia", "plan"): (1, 0, 1, 0, 0),
                              ("Respuesta final", "final"): (1, 0, 1, 0, 0)}
    with pytest.raises(ValueError):
        sla_compliance(institution=data["institution"], start=START, end=END, group_by="x")


# --- the console page ---------------------------------------------------------------------------

URL = reverse("console:sla-compliance")


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.SUPERVISOR, True), (Role.TRIAGE, True), (Role.SYSADMIN, True),
    (Role.OPERATOR, False), (Role.RESPONDER, False), (Role.AUDITOR, False),
])
def test_page_access_by_role(catalog, client, role, allowed):
    client.force_login(member(catalog, role))
    response = client.get(URL)
    assert response.status_code == (200 if allowed else 403)


def test_page_needs_login_and_a_membership(catalog, client):
    assert client.get(URL).status_code == 302
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(URL).status_code == 403


def test_page_shows_figures_without_personal_data(data, client, monkeypatch):
    import ventanilla.sla.selectors as selectors

    monkeypatch.setattr(selectors.timezone, "now", lambda: NOW)
    client.force_login(member(data, Role.SUPERVISOR))
    response = client.get(URL, {"start": "2026-03-01", "end": "2026-03-31", "group_by": "area"})
    assert response.status_code == 200
    content = response.content.decode()
    for text in ("Área PAE", "Becas", "33,3 %", "100,0 %", "50,0 %", "98 %", "No cumple la meta"):
        assert text in content, text
    assert "Juana" not in content and "juana@example.cl" not in content
    assert data["institution"].folio_prefix not in content  # no folios either


def test_page_defaults_to_the_current_month_and_reports_bad_dates(catalog, client):
    client.force_login(member(catalog, Role.SUPERVISOR))
    response = client.get(URL)
    assert response.context["report"] is not None
    assert response.context["period_start"].day == 1
    bad = client.get(URL, {"start": "2026-03-31", "end": "2026-03-01", "group_by": "stage"})
    assert bad.status_code == 200
    assert bad.context["report"] is None
    assert "no puede ser anterior" in bad.content.decode()
    junk = client.get(URL, {"start": "ayer", "end": "", "group_by": "nada"})
    assert junk.status_code == 200 and junk.context["report"] is None
