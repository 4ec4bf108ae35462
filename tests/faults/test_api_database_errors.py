"""A database that cannot be reached while an API request runs: 503 JSON with Retry-After
(the client retries, with the same Idempotency-Key for a write), never a 500."""

from __future__ import annotations

import pytest
from django.db import InterfaceError, OperationalError
from rest_framework.test import APIClient

from tests.factories import channel
from ventanilla.api import services as api_services
from ventanilla.api.services import api_key_create
from ventanilla.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(catalog):
    _key, raw = api_key_create(institution=catalog["institution"], name="IVR",
                               channels=[channel("api")], can_write=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def body(catalog) -> dict:
    return {"ticket_type": catalog["complaint"].pk, "topic": catalog["topic"].pk,
            "subject": "Sin colación", "detail": "No llegó.", "full_name": "Juana Soto",
            "email": "juana@example.cl"}


@pytest.mark.parametrize("error", [
    OperationalError("terminating connection due to administrator command"),
    InterfaceError("connection already closed"),
])
def test_database_lost_during_intake_is_a_503_and_the_retry_succeeds(
        client, catalog, monkeypatch, settings, error):
    settings.DATABASE_UNAVAILABLE_RETRY_AFTER = 7
    real_open = api_services.ticket_open

    def broken(**kwargs):
        raise error

    monkeypatch.setattr(api_services, "ticket_open", broken)
    response = client.post("/api/v1/tickets/", body(catalog), format="json",
                           HTTP_IDEMPOTENCY_KEY="llamada-1")
    assert response.status_code == 503
    assert response["Retry-After"] == "7"
    assert response["Content-Type"].startswith("application/json")
    assert "Reintente" in response.json()["detail"]
    assert not Ticket.objects.exists()

    monkeypatch.setattr(api_services, "ticket_open", real_open)  # the database is back
    first = client.post("/api/v1/tickets/", body(catalog), format="json",
                        HTTP_IDEMPOTENCY_KEY="llamada-1")
    again = client.post("/api/v1/tickets/", body(catalog), format="json",
                        HTTP_IDEMPOTENCY_KEY="llamada-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["folio"] == again.json()["folio"]
    assert Ticket.objects.count() == 1


def test_other_errors_are_not_disguised_as_unavailable(client, catalog, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api_services, "ticket_open", broken)
    with pytest.raises(RuntimeError):
        client.post("/api/v1/tickets/", body(catalog), format="json")
