"""``POST /api/v1/interactions/``: a batch of events per request, stored whole or refused
with per-event field errors, exactly once under a required Idempotency-Key, counted by the
throttle as one request."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import open_ticket
from ventanilla.api.models import InteractionBatch
from ventanilla.api.views_interactions import InteractionBatchThrottle
from ventanilla.tickets.models import Interaction, InteractionKind

URL = "/api/v1/interactions/"


@pytest.fixture
def ivr(catalog, make_key):
    api_key, raw = make_key(catalog["institution"], channels=("ivr", "kiosk", "in_person"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.api_key = api_key
    return client


def events(count=3, **overrides):
    moment = timezone.now() - timedelta(minutes=1)
    return [{"channel": "ivr", "occurred_at": moment.isoformat(), "data": {"n": n}, **overrides}
            for n in range(count)]


def post(client, body, key="lote-0001"):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(URL, body, format="json", headers=headers)


def logged(catalog):
    return Interaction.objects.filter(institution=catalog["institution"]).exclude(
        kind=InteractionKind.TICKET_OPENED)


class TestBatch:
    def test_batch_is_stored_once_with_its_source(self, catalog, ivr):
        response = post(ivr, events(3))
        assert response.status_code == 201, response.json()
        assert response.json()["accepted"] == 3
        assert response.json()["idempotency_key"] == "lote-0001"
        rows = list(logged(catalog).order_by("pk"))
        assert [row.data["n"] for row in rows] == [0, 1, 2]
        assert {row.data["source"] for row in rows} == {f"api_key:{ivr.api_key.pk}"}
        assert all(row.is_self_service and row.kind == "self_service" for row in rows)

    def test_end_to_end_tracking_linked_to_ticket(self, catalog, ivr):
        ticket = open_ticket(catalog)
        response = post(ivr, events(1, kind="tracking", folio=ticket.folio))
        assert response.status_code == 201
        row = logged(catalog).get()
        assert (row.ticket_id, row.citizen_id) == (ticket.pk, ticket.citizen_id)

    def test_retry_returns_the_first_answer_without_duplicates(self, catalog, ivr):
        body = events(5)
        first = post(ivr, body)
        again = post(ivr, body)
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
        assert logged(catalog).count() == 5
        assert InteractionBatch.objects.count() == 1

    def test_same_key_other_body_is_409(self, catalog, ivr):
        post(ivr, events(2))
        response = post(ivr, events(3))
        assert response.status_code == 409
        assert logged(catalog).count() == 2

    def test_keys_are_scoped_per_api_key(self, catalog, ivr, make_key):
        _other, raw = make_key(catalog["institution"], channels=("ivr",))
        other = APIClient()
        other.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        assert post(ivr, events(2)).status_code == 201
        assert post(other, events(2)).status_code == 201
        assert logged(catalog).count() == 4

    def test_idempotency_key_is_required(self, catalog, ivr):
        response = post(ivr, events(2), key=None)
        assert response.status_code == 400
        assert "Idempotency-Key" in response.json()
        assert post(ivr, events(2), key="x" * 201).status_code == 400
        assert not logged(catalog).exists()


class TestRefusals:
    def test_invalid_event_refuses_the_batch_with_field_errors(self, catalog, ivr):
        body = events(4)
        body[2]["channel"] = "telepatia"
        body[3]["occurred_at"] = "2026-01-01T10:00:00"
        response = post(ivr, body)
        assert response.status_code == 400
        errors = response.json()
        assert set(errors["events"]) == {"2", "3"}
        assert errors["events"]["2"]["channel"] == ["Canal desconocido."]
        assert "zona horaria" in errors["events"]["3"]["occurred_at"][0]
        assert "no se guardó ninguno" in errors["non_field_errors"][0]
        assert not logged(catalog).exists()
        # Nothing was recorded under the key: the corrected batch may use it.
        assert post(ivr, events(4)).status_code == 201

    def test_channel_not_allowed_for_the_key(self, catalog, ivr):
        response = post(ivr, events(1, channel="web"))
        assert response.status_code == 400
        assert "web" in response.json()["events"]["0"]["channel"][0]

    @pytest.mark.parametrize("body", [{"channel": "ivr"}, "texto", 5, None, []])
    def test_body_must_be_a_non_empty_list(self, catalog, ivr, body):
        response = post(ivr, body)
        assert response.status_code == 400
        assert response.json()["non_field_errors"]

    def test_malformed_json_is_400(self, ivr):
        response = ivr.post(URL, "[{", content_type="application/json",
                            headers={"Idempotency-Key": "k"})
        assert response.status_code == 400

    def test_too_many_events(self, catalog, ivr):
        response = post(ivr, events(1001))
        assert response.status_code == 400
        assert "1000" in response.json()["non_field_errors"][0]

    def test_body_over_the_size_limit_is_413(self, catalog, ivr, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        assert post(ivr, events(20)).status_code == 413

    def test_anonymous_is_401(self, catalog):
        assert post(APIClient(), events(1)).status_code == 401

    def test_read_only_key_is_403(self, catalog, make_key):
        _key, raw = make_key(catalog["institution"], channels=("ivr",), can_write=False)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=raw)
        assert post(client, events(1)).status_code == 403

    def test_staff_session_is_403(self, catalog, staff_client):
        client = APIClient()  # no CSRF check: the refusal is the view's own
        client.force_login(staff_client().user)
        response = post(client, events(1))
        assert response.status_code == 403
        assert "clave de API" in response.json()["detail"]
        assert not logged(catalog).exists()


class TestThrottle:
    def test_a_batch_counts_once_in_its_own_bucket(self, catalog, ivr, key_client,
                                                   monkeypatch):
        monkeypatch.setattr(InteractionBatchThrottle, "THROTTLE_RATES",
                            {"api_interactions": "2/min", "api_key": "600/min"})
        assert post(ivr, events(500), key="a").status_code == 201
        assert post(ivr, events(500), key="b").status_code == 201
        assert post(ivr, events(1), key="c").status_code == 429
        assert logged(catalog).count() == 1000
        # The key's other requests are counted apart.
        assert key_client.get("/api/v1/catalog/channels/").status_code == 200

    def test_falls_back_to_the_per_key_rate(self, monkeypatch):
        monkeypatch.setattr(InteractionBatchThrottle, "THROTTLE_RATES", {"api_key": "7/min"})
        assert InteractionBatchThrottle().get_rate() == "7/min"


def test_schema_documents_the_operation(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/interactions/"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["required"] is True
    assert {"200", "201", "400", "409", "429"} <= set(operation["responses"])


def test_admin_lists_batches_read_only(catalog, ivr, admin_client):
    post(ivr, events(2), key="lote-admin")
    page = admin_client.get("/admin/api/interactionbatch/")
    assert page.status_code == 200
    assert b"lote-admin" in page.content
    batch = InteractionBatch.objects.get()
    assert admin_client.post(f"/admin/api/interactionbatch/{batch.pk}/delete/",
                             {"post": "yes"}).status_code == 403
    assert InteractionBatch.objects.filter(pk=batch.pk).exists()
