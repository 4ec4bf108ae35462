import re
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.api.conftest import ticket_payload
from tests.factories import make_catalog
from ventanilla.api.demo import DEMO_API_KEY, seed_api_demo
from ventanilla.api.models import ApiKey, IdempotencyRecord
from ventanilla.api.services import api_key_authenticate
from ventanilla.api.throttling import AnonIpRateThrottle, ApiKeyRateThrottle
from ventanilla.tickets.models import Ticket


@pytest.mark.django_db
class TestThrottling:
    def test_key_rate_limit_429_with_retry_after(self, catalog, key_client, monkeypatch):
        monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES",
                            {"api_key": "2/min", "staff": "2/min"})
        url = "/api/v1/catalog/channels/"
        assert [key_client.get(url).status_code for _ in range(2)] == [200, 200]
        response = key_client.get(url)
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0

    def test_anonymous_rate_limit_per_ip(self, db, monkeypatch):
        monkeypatch.setattr(AnonIpRateThrottle, "THROTTLE_RATES", {"anon": "1/min"})
        url = "/api/v1/catalog/regions/"
        assert APIClient().get(url, REMOTE_ADDR="10.0.0.1").status_code == 200
        assert APIClient().get(url, REMOTE_ADDR="10.0.0.1").status_code == 429
        assert APIClient().get(url, REMOTE_ADDR="10.0.0.2").status_code == 200


@pytest.mark.django_db
class TestSchemaAndDocs:
    def test_schema_generates_without_warnings(self):
        from drf_spectacular.drainage import GENERATOR_STATS
        from drf_spectacular.generators import SchemaGenerator
        from drf_spectacular.validation import validate_schema

        GENERATOR_STATS.reset()
        schema = SchemaGenerator().get_schema(request=None, public=True)
        validate_schema(schema)
        assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache
        paths = schema["paths"]
        assert {"/api/v1/tickets/", "/api/v1/tickets/{folio}/answers/",
                "/api/v1/catalog/comunas/"} <= set(paths)
        create = paths["/api/v1/tickets/"]["post"]
        assert {"200", "201", "400", "401", "403", "409", "413", "429"} <= set(create["responses"])

    def test_schema_endpoint_and_local_docs(self, client):
        response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.status_code == 200
        docs = client.get("/api/docs/")
        assert docs.status_code == 200
        html = docs.content.decode()
        assert "swagger-ui" in html
        assert not re.search(r"https?://(cdn|unpkg|fonts)", html)  # local assets only


@pytest.mark.django_db
class TestDemo:
    def test_seed_api_demo_is_idempotent_and_key_works(self, catalog):
        assert seed_api_demo(catalog["institution"]) == DEMO_API_KEY
        assert seed_api_demo(catalog["institution"]) == DEMO_API_KEY
        assert ApiKey.objects.count() == 1
        api_key = api_key_authenticate(DEMO_API_KEY)
        assert api_key is not None and api_key.can_write
        assert list(api_key.channels.values_list("code", flat=True)) == ["api"]
        response = APIClient().post("/api/v1/tickets/", ticket_payload(catalog), format="json",
                                    HTTP_X_API_KEY=DEMO_API_KEY)
        assert response.status_code == 201


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks need PostgreSQL")
def test_concurrent_duplicates_make_one_ticket(make_key):
    catalog = make_catalog()
    _key, raw = make_key(catalog["institution"])
    payload = ticket_payload(catalog)
    barrier = threading.Barrier(4)
    codes = []

    def post():
        try:
            barrier.wait()
            response = APIClient().post("/api/v1/tickets/", payload, format="json",
                                        HTTP_X_API_KEY=raw, HTTP_IDEMPOTENCY_KEY="same")
            codes.append((response.status_code, response.json().get("folio")))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(c for c, _ in codes) == [200, 200, 200, 201]
    assert len({folio for _, folio in codes}) == 1
    assert Ticket.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_revoking_a_key_deactivates_its_service_account(catalog):
    from ventanilla.api.services import api_key_actor, api_key_create, api_key_revoke

    api_key, _clear = api_key_create(institution=catalog["institution"], name="IVR",
                                    can_write=True)
    actor = api_key_actor(api_key=api_key)
    assert actor.is_active and not actor.has_usable_password()
    api_key_revoke(api_key=api_key)
    actor.refresh_from_db()
    assert not actor.is_active


def test_admin_creates_a_key_shown_once_and_revokes_it(client, catalog):
    from tests.factories import UserFactory, channel
    from ventanilla.api.models import ApiKey
    from ventanilla.api.services import api_key_authenticate

    admin_user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    response = client.post("/admin/api/apikey/add/", {
        "institution": catalog["institution"].pk, "name": "Bot", "channels": [channel("api").pk],
        "can_read": "on", "can_write": "on",
    }, follow=True)
    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="Bot")
    shown = [str(m) for m in response.context["messages"]]
    clear = next(word for m in shown for word in m.split() if word.startswith("vk_"))
    assert api_key_authenticate(clear).pk == api_key.pk
    assert clear not in api_key.secret_hash and list(api_key.channels.all()) == [channel("api")]
    client.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]})
    assert api_key_authenticate(clear) is None


def test_more_files_than_django_accepts_is_a_json_400(key_client, catalog):
    """Found by schemathesis: Django's DATA_UPLOAD_MAX_NUMBER_FILES limit must answer in the
    API's JSON error format, not with Django's HTML 400 page."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.api.conftest import ticket_payload
    from ventanilla.tickets.models import Ticket

    files = [SimpleUploadedFile(f"f{i}.txt", b"x") for i in range(101)]
    response = key_client.post("/api/v1/tickets/", {**ticket_payload(catalog),
                                                    "attachments": files}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "non_field_errors" in response.json()
    assert not Ticket.objects.exists()
