"""Console pages: results for supervisors, auditors and system administrators; comments
for supervisors and system administrators only (never auditors)."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.factories import open_ticket
from tests.surveys.helpers import close_with_final_answer, make_survey
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.core.models import AuditEvent
from ventanilla.reports.tables import DashboardFilters
from ventanilla.surveys.models import SurveyInvitation
from ventanilla.surveys.selectors import survey_comments
from ventanilla.surveys.services import survey_answer

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(catalog):
    make_survey(catalog["institution"])
    ticket = close_with_final_answer(open_ticket(catalog))
    survey_answer(invitation=SurveyInvitation.objects.get(ticket=ticket), score=2,
                  comment="Tardaron demasiado en responder.")
    return ticket


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.SYSADMIN, Role.AUDITOR])
def test_results_page_shows_the_tables(client, catalog, answered, role):
    client.force_login(staff(catalog["institution"], role))
    response = client.get("/consola/encuestas/")
    assert response.status_code == 200
    html = response.content.decode()
    for title in ["Satisfacción por canal", "Satisfacción por oficina",
                  "Satisfacción por área", "Satisfacción por tema", "Satisfacción por mes"]:
        assert title in html
    assert "Formulario web" in html
    assert "Tardaron demasiado" not in html and answered.folio not in html
    assert ("/consola/encuestas/comentarios/" in html) == (role != Role.AUDITOR)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.TRIAGE, Role.RESPONDER])
def test_results_page_refuses_other_roles(client, catalog, role):
    client.force_login(staff(catalog["institution"], role))
    assert client.get("/consola/encuestas/").status_code == 403


def test_supervisor_reads_comments_with_folio_link(client, catalog, answered):
    supervisor = staff(catalog["institution"], Role.SUPERVISOR)
    client.force_login(supervisor)
    html = client.get("/consola/encuestas/comentarios/").content.decode()
    assert "Tardaron demasiado en responder." in html
    assert f'href="/consola/r/{answered.folio}/"' in html
    assert "Mala" in html
    # Reading comments is an access to personal data, in the log a supervisor reviews.
    event = AuditEvent.objects.get(action="survey.comments_viewed")
    assert event.actor == supervisor and event.category == "personal_data"
    assert event.institution == catalog["institution"]


def test_auditor_cannot_read_comments(client, catalog, answered):
    auditor = staff(catalog["institution"], Role.AUDITOR)
    client.force_login(auditor)
    response = client.get("/consola/encuestas/comentarios/")
    assert response.status_code == 403
    assert "Tardaron" not in response.content.decode()
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        survey_comments(DashboardFilters(institution=catalog["institution"],
                                         date_from=today, date_to=today), viewer=auditor)


def test_comments_are_paginated_and_filtered(client, catalog):
    make_survey(catalog["institution"])
    for n in range(3):
        ticket = close_with_final_answer(open_ticket(catalog))
        survey_answer(invitation=ticket.survey_invitation, score=5, comment=f"Comentario {n}")
    supervisor = staff(catalog["institution"], Role.SUPERVISOR)
    today = timezone.localdate()
    filters = DashboardFilters(institution=catalog["institution"], date_from=today,
                               date_to=today)
    first = survey_comments(filters, viewer=supervisor, per_page=2)
    assert (first.count, first.has_next, len(first.rows)) == (3, True, 2)
    assert [row["comment"] for row in first.rows] == ["Comentario 2", "Comentario 1"]
    second = survey_comments(filters, viewer=supervisor, page=2, per_page=2)
    assert [row["comment"] for row in second.rows] == ["Comentario 0"]
    past = DashboardFilters(institution=catalog["institution"], date_from=date(2020, 1, 1),
                            date_to=date(2020, 1, 31))
    assert survey_comments(past, viewer=supervisor).count == 0


def test_bad_filters_show_errors_not_500(client, catalog):
    client.force_login(staff(catalog["institution"], Role.SUPERVISOR))
    response = client.get("/consola/encuestas/", {"date_from": "2026-05-01",
                                                  "date_to": "2026-01-01"})
    assert response.status_code == 200 and "no puede ser anterior" in response.content.decode()
    response = client.get("/consola/encuestas/comentarios/", {"date_from": "ayer",
                                                              "date_to": "x", "page": "z"})
    assert response.status_code == 200


def test_supervisor_of_another_institution_sees_nothing_of_this_one(client, catalog,
                                                                    answered):
    from tests.factories import make_catalog

    client.force_login(staff(make_catalog()["institution"], Role.SUPERVISOR))
    assert "Tardaron" not in client.get("/consola/encuestas/comentarios/").content.decode()


def test_console_nav_links(client, catalog):
    client.force_login(staff(catalog["institution"], Role.SUPERVISOR))
    assert 'href="/consola/encuestas/"' in client.get("/consola/").content.decode()
