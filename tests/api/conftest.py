import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, UserFactory, channel
from ventanilla.accounts.models import Role
from ventanilla.api.services import api_key_create


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_key(db):
    def make(institution, *, channels=("api",), can_read=True, can_write=True):
        api_key, raw = api_key_create(
            institution=institution, name="IVR", channels=[channel(c) for c in channels],
            can_read=can_read, can_write=can_write)
        return api_key, raw
    return make


@pytest.fixture
def key_client(catalog, make_key):
    _api_key, raw = make_key(catalog["institution"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def staff_client(catalog):
    def make(role=Role.TRIAGE, institution=None):
        user = UserFactory()
        MembershipFactory(user=user, institution=institution or catalog["institution"],
                          role=role)
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)
        client.user = user
        return client
    return make


def ticket_payload(catalog, **overrides):
    data = {
        "ticket_type": catalog["complaint"].pk, "topic": catalog["topic"].pk,
        "subject": "Colación no llegó", "detail": "El lunes no llegó la colación.",
        "full_name": "Juana Soto", "email": "juana@example.cl", "phone": "+56 9 1234 5678",
        "urgency": "medium",
    }
    data.update(overrides)
    return data
