"""The survey at the end of web tracking: shown for a closed ticket the session may see,
answered once, never for someone without the tracking grant."""

import pytest

from tests.factories import open_ticket
from tests.surveys.helpers import close_with_final_answer, make_survey
from ventanilla.surveys.models import Source, SurveyInvitation, SurveyResponse
from ventanilla.tickets.models import Status

pytestmark = pytest.mark.django_db


def _grant(client, ticket):
    response = client.post("/seguimiento/", {"folio": ticket.folio, "email": ticket.contact_email})
    assert response.status_code == 302


def test_closed_ticket_shows_the_survey_and_answers_it(client, catalog):
    make_survey(catalog["institution"], reasons=1)
    ticket = close_with_final_answer(open_ticket(catalog))
    _grant(client, ticket)
    page = client.get(f"/seguimiento/{ticket.folio}/").content.decode()
    assert "¿Cómo lo atendimos?" in page
    assert f'action="/encuesta/seguimiento/{ticket.folio}/"' in page
    assert page.count('name="score"') == 5

    response = client.post(f"/encuesta/seguimiento/{ticket.folio}/", {"score": "5"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Gracias por su opinión" in page
    assert 'name="score"' not in page  # answered: not asked again
    answer = SurveyResponse.objects.get()
    assert answer.source == Source.TRACKING and answer.ticket == ticket and answer.score == 5
    assert answer.invitation == ticket.survey_invitation

    client.post(f"/encuesta/seguimiento/{ticket.folio}/", {"score": "1"})
    assert SurveyResponse.objects.count() == 1


def test_without_invitation_one_is_created_when_shown(client, catalog):
    ticket = close_with_final_answer(open_ticket(catalog))  # closed before any survey existed
    assert not SurveyInvitation.objects.exists()
    make_survey(catalog["institution"])
    _grant(client, ticket)
    assert 'name="score"' in client.get(f"/seguimiento/{ticket.folio}/").content.decode()
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert invitation.sent_via == ""
    client.get(f"/seguimiento/{ticket.folio}/")
    assert SurveyInvitation.objects.filter(ticket=ticket).count() == 1


def test_open_ticket_shows_no_survey(client, catalog):
    make_survey(catalog["institution"])
    ticket = open_ticket(catalog)
    assert ticket.status != Status.CLOSED
    _grant(client, ticket)
    assert 'name="score"' not in client.get(f"/seguimiento/{ticket.folio}/").content.decode()
    client.post(f"/encuesta/seguimiento/{ticket.folio}/", {"score": "5"})
    assert not SurveyResponse.objects.exists() and not SurveyInvitation.objects.exists()


def test_no_survey_configured_shows_nothing(client, catalog):
    ticket = close_with_final_answer(open_ticket(catalog))
    _grant(client, ticket)
    page = client.get(f"/seguimiento/{ticket.folio}/").content.decode()
    assert 'name="score"' not in page and not SurveyInvitation.objects.exists()


def test_answer_needs_the_tracking_grant(client, catalog):
    make_survey(catalog["institution"])
    ticket = close_with_final_answer(open_ticket(catalog))
    response = client.post(f"/encuesta/seguimiento/{ticket.folio}/", {"score": "1"})
    assert response.status_code == 302 and response["Location"] == "/seguimiento/"
    assert not SurveyResponse.objects.exists()
    SurveyInvitation.objects.get(ticket=ticket).refresh_from_db()
    assert SurveyInvitation.objects.get(ticket=ticket).used_at is None


def test_bad_answer_shows_errors_on_a_survey_page(client, catalog):
    make_survey(catalog["institution"])
    ticket = close_with_final_answer(open_ticket(catalog))
    _grant(client, ticket)
    response = client.post(f"/encuesta/seguimiento/{ticket.folio}/", {"score": "9"})
    assert response.status_code == 400
    assert "Elija una de las caritas" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_type1_ticket_is_not_surveyed_at_tracking(client, catalog):
    make_survey(catalog["institution"])
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    _grant(client, ticket)
    assert 'name="score"' not in client.get(f"/seguimiento/{ticket.folio}/").content.decode()
    assert not SurveyInvitation.objects.exists()
