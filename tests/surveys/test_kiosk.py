"""Office kiosks: pairing by staff (cookie with the secret, only its hash stored), the
unpaired refusal, answering, the reset page, deactivation and the abuse guard."""

import hashlib

import pytest
from django.conf import settings

from tests.surveys.helpers import make_office, make_survey
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.surveys.models import Kiosk, Source, SurveyResponse
from ventanilla.surveys.services import KIOSK_ANSWERS_PER_MINUTE
from ventanilla.surveys.views_kiosk import KIOSK_COOKIE

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(catalog):
    return make_office(catalog["institution"])


def _pair(client, catalog, office, role=Role.OPERATOR, name="Tablet mesón 1"):
    user = staff(catalog["institution"], role)
    client.force_login(user)
    return client.post("/consola/encuestas/kioscos/", {"office": office.pk, "name": name})


def test_staff_pairs_the_device_with_a_strict_httponly_cookie(client, catalog, office):
    client.force_login(staff(catalog["institution"], Role.SUPERVISOR))
    page = client.get("/consola/encuestas/kioscos/")
    assert page.status_code == 200 and "Emparejar este dispositivo" in page.content.decode()
    response = _pair(client, catalog, office)
    assert response.status_code == 302 and response["Location"] == "/kiosco/"
    cookie = response.cookies[KIOSK_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/kiosco/" and int(cookie["max-age"]) > 300 * 24 * 3600
    secret = cookie.value
    kiosk = Kiosk.objects.get()
    assert kiosk.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in kiosk.secret_hash and kiosk.office == office
    assert kiosk.name == "Tablet mesón 1" and kiosk.is_active


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.TRIAGE, Role.AUDITOR])
def test_other_roles_cannot_pair(client, catalog, office, role):
    response = _pair(client, catalog, office, role=role)
    assert response.status_code == 403
    assert not Kiosk.objects.exists()


def test_office_of_another_institution_is_refused(client, catalog, office):
    from tests.factories import make_catalog

    foreign = make_office(make_catalog()["institution"], name="Ajena")
    response = _pair(client, catalog, foreign)
    assert response.status_code == 400 and not Kiosk.objects.exists()


def test_blank_name_is_refused(client, catalog, office):
    response = _pair(client, catalog, office, name="   ")
    assert response.status_code == 400 and not Kiosk.objects.exists()


def test_unpaired_device_sees_no_data(client, catalog, office):
    make_survey(catalog["institution"], channel_code="in_person", scale=3)
    for cookies in ({}, {KIOSK_COOKIE: "adivinanza"}):
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies[name] = value
        response = client.get("/kiosco/")
        assert response.status_code == 403
        html = response.content.decode()
        assert "Este dispositivo no está habilitado" in html
        assert office.name not in html and 'name="score"' not in html
        assert client.post("/kiosco/", {"score": "3"}).status_code == 403
        assert client.get("/kiosco/gracias/").status_code == 403
    assert not SurveyResponse.objects.exists()


def test_kiosk_answer_reset_and_last_seen(client, catalog, office):
    survey = make_survey(catalog["institution"], channel_code="in_person", scale=3)
    make_survey(catalog["institution"])  # the default one is not the kiosk's
    _pair(client, catalog, office)
    del client.cookies[settings.SESSION_COOKIE_NAME]  # the device keeps only its own cookie
    page = client.get("/kiosco/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('name="score"') == 3 and "Buena" in html and "Muy buena" not in html
    assert '<meta http-equiv="refresh"' in html and "<script" not in html
    assert "no-store" in page["Cache-Control"]
    assert Kiosk.objects.get().last_seen_at is not None

    response = client.post("/kiosco/", {"score": "3"})
    assert response.status_code == 302 and response["Location"] == "/kiosco/gracias/"
    thanks = client.get("/kiosco/gracias/").content.decode()
    assert "¡Gracias!" in thanks and 'name="score"' not in thanks
    assert 'content="4;url=/kiosco/"' in thanks and 'href="/kiosco/"' in thanks

    answer = SurveyResponse.objects.get()
    assert (answer.source, answer.survey, answer.score, answer.scale) == (
        Source.KIOSK, survey, 3, 3)
    assert answer.channel.code == "in_person" and answer.office == office
    assert answer.region == office.region and answer.ticket is None and answer.invitation is None


def test_kiosk_falls_back_to_the_default_survey(client, catalog, office):
    make_survey(catalog["institution"], scale=5)
    _pair(client, catalog, office)
    assert client.get("/kiosco/").content.decode().count('name="score"') == 5


def test_bad_score_is_ignored(client, catalog, office):
    make_survey(catalog["institution"], channel_code="in_person", scale=3)
    _pair(client, catalog, office)
    for score in ["4", "0", "x", ""]:
        response = client.post("/kiosco/", {"score": score})
        assert response.status_code == 302 and response["Location"] == "/kiosco/"
    assert not SurveyResponse.objects.exists()


def test_deactivated_kiosk_is_refused(client, catalog, office):
    make_survey(catalog["institution"], channel_code="in_person", scale=3)
    _pair(client, catalog, office, role=Role.SUPERVISOR)
    kiosk = Kiosk.objects.get()
    listing = client.get("/consola/encuestas/kioscos/").content.decode()
    assert "Tablet mesón 1" in listing
    response = client.post(f"/consola/encuestas/kioscos/{kiosk.pk}/desactivar/")
    assert response.status_code == 302
    kiosk.refresh_from_db()
    assert not kiosk.is_active
    assert client.get("/kiosco/").status_code == 403
    client.post("/kiosco/", {"score": "3"})
    assert not SurveyResponse.objects.exists()


def test_kiosk_of_another_institution_cannot_be_deactivated(client, catalog, office):
    from tests.factories import make_catalog

    _pair(client, catalog, office)
    kiosk = Kiosk.objects.get()
    other = staff(make_catalog()["institution"], Role.SUPERVISOR)
    client.force_login(other)
    assert client.post(f"/consola/encuestas/kioscos/{kiosk.pk}/desactivar/").status_code == 404
    kiosk.refresh_from_db()
    assert kiosk.is_active


def test_abuse_guard_drops_answers_beyond_the_allowance(client, catalog, office):
    make_survey(catalog["institution"], channel_code="in_person", scale=3)
    _pair(client, catalog, office)
    for _ in range(KIOSK_ANSWERS_PER_MINUTE + 5):
        response = client.post("/kiosco/", {"score": "2"})
        assert response["Location"] == "/kiosco/gracias/"  # thanked all the same
    assert SurveyResponse.objects.count() == KIOSK_ANSWERS_PER_MINUTE


def test_answers_before_the_last_minute_do_not_count(client, catalog, office):
    from datetime import timedelta

    from django.utils import timezone

    make_survey(catalog["institution"], channel_code="in_person", scale=3)
    _pair(client, catalog, office)
    for _ in range(KIOSK_ANSWERS_PER_MINUTE):
        client.post("/kiosco/", {"score": "2"})
    SurveyResponse.objects.update(answered_at=timezone.now() - timedelta(minutes=2))
    client.post("/kiosco/", {"score": "2"})
    assert SurveyResponse.objects.count() == KIOSK_ANSWERS_PER_MINUTE + 1
