"""The public survey page: bad links, expiry, single use, the answer and its dimensions."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.factories import make_catalog, open_ticket
from tests.surveys.helpers import close_with_final_answer, make_survey
from ventanilla.surveys.models import Source, SurveyInvitation, SurveyResponse
from ventanilla.surveys.services import (
    COMMENT_MAX_LENGTH,
    InvitationUnavailable,
    survey_answer,
)
from ventanilla.surveys.tokens import invitation_token


def _closed_with_invitation(catalog, **survey_fields):
    make_survey(catalog["institution"], **survey_fields)
    ticket = close_with_final_answer(open_ticket(catalog))
    return ticket, SurveyInvitation.objects.get(ticket=ticket)


def _url(invitation) -> str:
    return f"/encuesta/{invitation_token(invitation.pk)}/"


@pytest.mark.django_db
def test_form_shows_labelled_faces_reasons_and_comment(client, catalog):
    _ticket, invitation = _closed_with_invitation(catalog, reasons=2)
    response = client.get(_url(invitation))
    assert response.status_code == 200
    html = response.content.decode()
    for label in ["Muy mala", "Mala", "Regular", "Buena", "Muy buena"]:
        assert f'<span class="face-label">{label}</span>' in html
    assert html.count('type="radio" name="score"') == 5
    assert 'id="id_score_0"' in html and 'for="id_score_0"' in html
    assert "Motivo 0" in html and 'name="comment"' in html
    assert "no-store" in response["Cache-Control"]
    assert 'src="http' not in html and 'href="http' not in html  # local assets only
    assert "<script>" not in html  # no inline script (CSP)


@pytest.mark.django_db
def test_three_face_survey_without_comment(client, catalog):
    _ticket, invitation = _closed_with_invitation(catalog, scale=3, comment_enabled=False)
    html = client.get(_url(invitation)).content.decode()
    assert html.count('type="radio" name="score"') == 3
    assert "Muy buena" not in html and 'name="comment"' not in html


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["garbage", "1.AAAAAAAAAAAAAAAAAAAAAA", "zz.zz",
                                   "a" * 300])
def test_bad_link_is_a_spanish_404(client, token):
    response = client.get(f"/encuesta/{token}/")
    assert response.status_code == 404
    assert "no es válido" in response.content.decode()


@pytest.mark.django_db
def test_valid_signature_of_a_missing_invitation_is_404(client):
    response = client.get(f"/encuesta/{invitation_token(999999)}/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_tampered_link_is_refused_even_for_existing_invitations(client, catalog):
    _ticket, invitation = _closed_with_invitation(catalog)
    token = invitation_token(invitation.pk)
    payload, signature = token.split(".")
    flipped = signature[:-1] + ("B" if signature[-1] != "B" else "C")
    assert client.get(f"/encuesta/{payload}.{flipped}/").status_code == 404
    assert client.post(f"/encuesta/{payload}.{flipped}/", {"score": 5}).status_code == 404
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_expired_link(client, catalog):
    _ticket, invitation = _closed_with_invitation(catalog)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(_url(invitation))
    assert response.status_code == 410
    assert "expiró" in response.content.decode()
    assert client.post(_url(invitation), {"score": 4}).status_code == 410
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_answer_copies_the_ticket_dimensions_and_is_single_use(client, catalog):
    ticket, invitation = _closed_with_invitation(catalog, reasons=3)
    reasons = list(invitation.survey.reasons.order_by("position"))
    response = client.post(_url(invitation), {
        "score": "4", "comment": "  Muy amables.  ", "reasons": [reasons[0].pk, reasons[2].pk]})
    assert response.status_code == 302 and response["Location"] == "/encuesta/gracias/"
    assert "Gracias" in client.get(response["Location"]).content.decode()
    answer = SurveyResponse.objects.get()
    assert (answer.source, answer.score, answer.scale) == (Source.LINK, 4, 5)
    assert answer.comment == "Muy amables."
    assert answer.invitation == invitation and answer.ticket == ticket
    assert (answer.channel_id, answer.area_id, answer.topic_id, answer.region_id) == (
        ticket.channel_id, ticket.area_id, ticket.topic_id, ticket.region_id)
    assert answer.office is None and answer.score_percent == 75.0
    assert set(answer.reasons.all()) == {reasons[0], reasons[2]}
    invitation.refresh_from_db()
    assert invitation.used_at is not None

    again = client.post(_url(invitation), {"score": "1"})
    assert again.status_code == 200 and "Ya respondió" in again.content.decode()
    assert "Ya respondió" in client.get(_url(invitation)).content.decode()
    assert SurveyResponse.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("data, field", [
    ({}, "score"), ({"score": "6"}, "score"), ({"score": "0"}, "score"),
    ({"score": "cinco"}, "score"),
    ({"score": "3", "comment": "x" * (COMMENT_MAX_LENGTH + 1)}, "comment"),
    ({"score": "3", "reasons": ["999999"]}, "reasons"),
    ({"score": "3", "reasons": ["uno"]}, "reasons"),
])
def test_bad_answers_get_field_errors_and_keep_the_link(client, catalog, data, field):
    _ticket, invitation = _closed_with_invitation(catalog, reasons=1)
    response = client.post(_url(invitation), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert "Revise lo siguiente" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.used_at is None and not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_reason_of_another_survey_is_refused(catalog):
    _ticket, invitation = _closed_with_invitation(catalog, reasons=1)
    other = make_survey(catalog["institution"], channel_code="phone", reasons=0)
    foreign = other.institution.survey_reasons.create(code="ajeno", label="Ajeno")
    with pytest.raises(Exception) as error:
        survey_answer(invitation=invitation, score=3, reason_ids=[foreign.pk])
    assert "reasons" in error.value.message_dict


@pytest.mark.django_db
def test_service_refuses_second_answer(catalog):
    _ticket, invitation = _closed_with_invitation(catalog)
    survey_answer(invitation=invitation, score=5)
    with pytest.raises(InvitationUnavailable) as error:
        survey_answer(invitation=invitation, score=1)
    assert error.value.reason == "used"
    assert SurveyResponse.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_answers_create_one_response():
    catalog = make_catalog()
    _ticket, invitation = _closed_with_invitation(catalog)
    barrier = threading.Barrier(4)
    outcomes = []

    def answer(score):
        try:
            barrier.wait()
            survey_answer(invitation=SurveyInvitation.objects.get(pk=invitation.pk),
                          score=score)
            outcomes.append("ok")
        except InvitationUnavailable as exc:
            outcomes.append(exc.reason)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "used", "used", "used"], (outcomes, connection.vendor)
    assert SurveyResponse.objects.filter(invitation=invitation).count() == 1
