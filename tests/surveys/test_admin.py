"""The admin: surveys and reasons are editable; invitations, answers and kiosks read-only."""

import pytest

from tests.factories import open_ticket
from tests.surveys.helpers import close_with_final_answer, make_survey

pytestmark = pytest.mark.django_db


def test_admin_pages(admin_client, catalog):
    survey = make_survey(catalog["institution"], reasons=2)
    close_with_final_answer(open_ticket(catalog))
    for model in ["survey", "surveyreason", "surveyinvitation", "surveyresponse", "kiosk"]:
        assert admin_client.get(f"/admin/surveys/{model}/").status_code == 200
    assert admin_client.get("/admin/surveys/survey/add/").status_code == 200
    assert admin_client.get(f"/admin/surveys/survey/{survey.pk}/change/").status_code == 200
    assert admin_client.get("/admin/surveys/surveyinvitation/add/").status_code == 403
    assert admin_client.get("/admin/surveys/kiosk/add/").status_code == 403
