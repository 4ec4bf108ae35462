"""The demo seed: a default 5-face survey with reasons, a 3-face one for in-person
attention, two offices; running it twice changes nothing."""

import pytest

from ventanilla.catalog.models import Office
from ventanilla.surveys.demo import seed_surveys_demo
from ventanilla.surveys.models import Survey, SurveyReason

pytestmark = pytest.mark.django_db


def test_seed_surveys_demo_is_complete_and_idempotent(catalog):
    institution = catalog["institution"]
    first = seed_surveys_demo(institution)
    seed_surveys_demo(institution)
    assert Survey.objects.filter(institution=institution).count() == 2
    assert first["default"].channel is None and first["default"].scale == 5
    assert first["in_person"].channel.code == "in_person" and first["in_person"].scale == 3
    assert first["default"].reasons.count() == SurveyReason.objects.filter(
        institution=institution).count() == 5
    assert Office.objects.filter(institution=institution).count() == 2
