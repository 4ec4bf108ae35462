import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from tests.api.conftest import ticket_payload
from tests.factories import make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.api.models import IdempotencyRecord
from ventanilla.api.services import api_key_revoke
from ventanilla.tickets.models import Attachment, EventKind, Status, Ticket

URL = "/api/v1/tickets/"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.django_db
class TestCreate:
    def test_key_creates_ticket_on_api_channel(self, catalog, key_client):
        response = key_client.post(URL, ticket_payload(catalog), format="json")
        assert response.status_code == 201, response.content
        ticket = Ticket.objects.get(folio=response.json()["folio"])
        assert ticket.channel.code == "api"
        assert ticket.institution == catalog["institution"]
        assert ticket.created_by is None
        assert response.json()["stage"] == ticket.stage
        assert "contact_email" not in response.json()  # keys see public fields only

    def test_x_api_key_header_works(self, catalog, make_key):
        _key, raw = make_key(catalog["institution"])
        response = APIClient().post(URL, ticket_payload(catalog), format="json",
                                    HTTP_X_API_KEY=raw)
        assert response.status_code == 201

    def test_multipart_with_attachment(self, catalog, key_client):
        data = ticket_payload(catalog)
        data["attachments"] = [SimpleUploadedFile("foto.png", png_bytes(), "image/png")]
        response = key_client.post(URL, data, format="multipart")
        assert response.status_code == 201, response.content
        assert Attachment.objects.filter(ticket__folio=response.json()["folio"]).count() == 1

    def test_bad_attachment_is_400_and_nothing_stored(self, catalog, key_client):
        data = ticket_payload(catalog)
        data["attachments"] = [SimpleUploadedFile("foto.png", b"not an image", "image/png")]
        response = key_client.post(URL, data, format="multipart")
        assert response.status_code == 400
        assert Ticket.objects.count() == 0

    def test_attachment_over_limit_is_413(self, catalog, key_client, settings):
        settings.ATTACHMENT_MAX_BYTES = 50
        data = ticket_payload(catalog)
        data["attachments"] = [SimpleUploadedFile("foto.png", png_bytes() + b"x" * 100,
                                                  "image/png")]
        response = key_client.post(URL, data, format="multipart")
        assert response.status_code == 413
        assert "MB" in response.json()["detail"]
        assert Ticket.objects.count() == 0

    def test_huge_json_body_is_413(self, catalog, key_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = key_client.post(URL, ticket_payload(catalog, detail="x" * 5000),
                                   format="json")
        assert response.status_code == 413

    def test_field_errors_in_spanish(self, catalog, key_client):
        response = key_client.post(URL, ticket_payload(catalog, subject="", topic=999999,
                                                       rut="12.345.678-0"), format="json")
        assert response.status_code == 400
        body = response.json()
        assert {"subject", "rut"} <= set(body)

    def test_unknown_catalog_id_is_field_error(self, catalog, key_client):
        other = make_catalog()
        response = key_client.post(URL, ticket_payload(catalog, topic=other["topic"].pk),
                                   format="json")
        assert response.status_code == 400
        assert "topic" in response.json()

    def test_service_validation_mapped_to_fields(self, catalog, key_client):
        # A comuna outside the region: checked by the intake service, not the serializer.
        response = key_client.post(URL, ticket_payload(catalog, region="13", comuna="05101"),
                                   format="json")
        assert response.status_code == 400
        assert "comuna" in response.json()

    @pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"subject": {"a": 1}}',
                                      b'{"ticket_type": 99999999999999999999999}',
                                      b'{"subject": "a\\u0000b"}'])
    def test_malformed_input_is_400(self, catalog, key_client, body):
        response = key_client.generic("POST", URL, body, content_type="application/json")
        assert response.status_code == 400
        assert Ticket.objects.count() == 0

    def test_anonymous_cannot_create(self, catalog):
        response = APIClient().post(URL, ticket_payload(catalog), format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Api-Key")

    def test_revoked_key_is_401(self, catalog, make_key):
        api_key, raw = make_key(catalog["institution"])
        api_key_revoke(api_key=api_key)
        response = APIClient().post(URL, ticket_payload(catalog), format="json",
                                    HTTP_AUTHORIZATION=f"Api-Key {raw}")
        assert response.status_code == 401

    def test_key_without_channel_is_403(self, catalog, make_key):
        _key, raw = make_key(catalog["institution"], channels=("phone",))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        assert client.post(URL, ticket_payload(catalog), format="json").status_code == 403
        response = client.post(URL, ticket_payload(catalog, channel="phone"), format="json")
        assert response.status_code == 201
        assert Ticket.objects.get().channel.code == "phone"

    def test_read_only_key_cannot_write(self, catalog, make_key):
        _key, raw = make_key(catalog["institution"], can_write=False)
        response = APIClient().post(URL, ticket_payload(catalog), format="json",
                                    HTTP_X_API_KEY=raw)
        assert response.status_code == 403

    def test_staff_session_needs_csrf(self, catalog, staff_client):
        client = staff_client(Role.OPERATOR)
        response = client.post(URL, ticket_payload(catalog, channel="phone"), format="json")
        assert response.status_code == 403
        assert Ticket.objects.count() == 0

    def test_staff_session_creates_with_csrf(self, catalog, staff_client):
        client = staff_client(Role.OPERATOR)
        client.get("/api/v1/catalog/channels/")
        client.handler.enforce_csrf_checks = False
        response = client.post(URL, ticket_payload(catalog, channel="phone"), format="json")
        assert response.status_code == 201, response.content
        ticket = Ticket.objects.get()
        assert ticket.created_by == client.user
        assert response.json()["contact_email"] == "juana@example.cl"


@pytest.mark.django_db
class TestIdempotency:
    def test_replay_returns_same_ticket(self, catalog, key_client):
        payload = ticket_payload(catalog)
        first = key_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
        second = key_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["folio"] == second.json()["folio"]
        assert Ticket.objects.count() == 1
        assert IdempotencyRecord.objects.count() == 1

    def test_same_key_other_body_is_409(self, catalog, key_client):
        key_client.post(URL, ticket_payload(catalog), format="json", HTTP_IDEMPOTENCY_KEY="k")
        response = key_client.post(URL, ticket_payload(catalog, subject="Otro"), format="json",
                                   HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 409
        assert Ticket.objects.count() == 1

    def test_keys_are_scoped_per_api_key(self, catalog, key_client, make_key):
        _key, raw = make_key(catalog["institution"])
        other = APIClient()
        other.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        payload = ticket_payload(catalog)
        key_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="same")
        response = other.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="same")
        assert response.status_code == 201
        assert Ticket.objects.count() == 2

    def test_multipart_hash_includes_files(self, catalog, key_client):
        data = ticket_payload(catalog)
        data["attachments"] = [SimpleUploadedFile("a.png", png_bytes(), "image/png")]
        assert key_client.post(URL, data, format="multipart",
                               HTTP_IDEMPOTENCY_KEY="m").status_code == 201
        buffer = io.BytesIO()
        Image.new("RGB", (5, 5), "blue").save(buffer, format="PNG")
        data["attachments"] = [SimpleUploadedFile("a.png", buffer.getvalue(), "image/png")]
        assert key_client.post(URL, data, format="multipart",
                               HTTP_IDEMPOTENCY_KEY="m").status_code == 409


@pytest.mark.django_db
class TestListAndDetail:
    def test_key_lists_own_institution_with_filters(self, catalog, key_client):
        mine = open_ticket(catalog)
        open_ticket(make_catalog())  # another institution
        response = key_client.get(URL)
        assert response.status_code == 200
        assert [t["folio"] for t in response.json()["results"]] == [mine.folio]
        assert key_client.get(URL, {"status": "closed"}).json()["results"] == []
        assert key_client.get(URL, {"channel": "web"}).json()["results"][0]["folio"] == mine.folio
        assert key_client.get(URL, {"type": catalog["suggestion"].pk}).json()["results"] == []

    def test_received_range_and_ordering_and_cursor(self, catalog, key_client):
        from datetime import timedelta

        from django.utils import timezone
        now = timezone.now()
        tickets = [open_ticket(catalog, received_at=now - timedelta(days=d)) for d in (3, 2, 1)]
        response = key_client.get(URL, {"ordering": "received_at", "page_size": 2})
        body = response.json()
        assert [t["folio"] for t in body["results"]] == [t.folio for t in tickets[:2]]
        nxt = key_client.get(body["next"]).json()
        assert [t["folio"] for t in nxt["results"]] == [tickets[2].folio]
        after = (now - timedelta(days=2, hours=1)).isoformat()
        response = key_client.get(URL, {"received_after": after})
        assert {t["folio"] for t in response.json()["results"]} == {t.folio for t in tickets[1:]}

    @pytest.mark.parametrize("params", [{"ordering": "subject"}, {"received_after": "ayer"},
                                        {"status": "x"}, {"type": "99999999999999999999"}])
    def test_bad_filters_are_400(self, catalog, key_client, params):
        assert key_client.get(URL, params).status_code == 400

    def test_bad_cursor_is_404_not_500(self, catalog, key_client):
        assert key_client.get(URL, {"cursor": "garbage"}).status_code == 404

    def test_anonymous_cannot_list(self, catalog):
        assert APIClient().get(URL).status_code == 401

    def test_key_without_read_is_403(self, catalog, make_key):
        _key, raw = make_key(catalog["institution"], can_read=False)
        assert APIClient().get(URL, HTTP_X_API_KEY=raw).status_code == 403

    def test_detail_public_for_key(self, catalog, key_client, staff_client):
        ticket = open_ticket(catalog)
        from ventanilla.tickets.services import ticket_add_note
        ticket_add_note(ticket=ticket, actor=staff_client().user, body="interna")
        body = key_client.get(f"{URL}{ticket.folio}/").json()
        assert body["folio"] == ticket.folio and body["stage"] == ticket.stage
        assert body["due_at"] is not None
        assert "contact_email" not in body and "detail" not in body
        assert all(e["is_public"] for e in body["timeline"])
        assert "interna" not in str(body["timeline"])

    def test_detail_full_for_staff(self, catalog, staff_client):
        ticket = open_ticket(catalog)
        client = staff_client(Role.SUPERVISOR)
        from ventanilla.tickets.services import ticket_add_note
        ticket_add_note(ticket=ticket, actor=client.user, body="interna")
        body = client.get(f"{URL}{ticket.folio.lower()}/").json()
        assert body["contact_email"] == "juana@example.cl"
        assert any(e["kind"] == EventKind.NOTE for e in body["timeline"])

    def test_other_institution_is_404(self, catalog, key_client, staff_client):
        other = make_catalog()
        ticket = open_ticket(other)
        assert key_client.get(f"{URL}{ticket.folio}/").status_code == 404
        assert staff_client().get(f"{URL}{ticket.folio}/").status_code == 404
        assert key_client.get(f"{URL}NOPE-2026-1/").status_code == 404

    def test_staff_list_uses_role_scope(self, catalog, staff_client):
        ticket = open_ticket(catalog)
        response = staff_client(Role.SUPERVISOR).get(URL)
        assert [t["folio"] for t in response.json()["results"]] == [ticket.folio]
        assert staff_client(Role.AUDITOR).get(URL).status_code == 403


@pytest.mark.django_db
class TestActions:
    def test_citizen_message_from_integration(self, catalog, key_client):
        ticket = open_ticket(catalog)
        response = key_client.post(f"{URL}{ticket.folio}/messages/", {"body": "Sigo esperando"},
                                   format="json")
        assert response.status_code == 201, response.content
        assert ticket.events.filter(body="Sigo esperando").exists()
        assert key_client.post(f"{URL}{ticket.folio}/messages/", {"body": ""},
                               format="json").status_code == 400

    def test_message_needs_a_key(self, catalog, staff_client):
        ticket = open_ticket(catalog)
        client = staff_client()
        client.handler.enforce_csrf_checks = False
        assert client.post(f"{URL}{ticket.folio}/messages/", {"body": "x"},
                           format="json").status_code == 403

    def test_status_change_by_key(self, catalog, key_client):
        ticket = open_ticket(catalog)
        response = key_client.post(f"{URL}{ticket.folio}/status/",
                                   {"status": "waiting_citizen"}, format="json")
        assert response.status_code == 200, response.content
        ticket.refresh_from_db()
        assert ticket.status == Status.WAITING_CITIZEN
        event = ticket.events.filter(kind=EventKind.STATUS_CHANGED).first()
        assert event is not None and event.actor.email.startswith("api-")

    def test_bad_transition_is_400(self, catalog, key_client):
        ticket = open_ticket(catalog)
        url = f"{URL}{ticket.folio}/status/"
        assert key_client.post(url, {"status": "in_progress"}, format="json").status_code == 200
        response = key_client.post(url, {"status": "new"}, format="json")
        assert response.status_code == 400
        assert "status" in response.json()

    def test_area_change_by_staff_and_permissions(self, catalog, staff_client):
        from tests.factories import AreaFactory
        ticket = open_ticket(catalog)
        area = AreaFactory(institution=catalog["institution"], name="Otra")
        client = staff_client(Role.OPERATOR)
        client.handler.enforce_csrf_checks = False
        url = f"{URL}{ticket.folio}/area/"
        assert client.post(url, {"area": area.pk}, format="json").status_code == 403
        client = staff_client(Role.SUPERVISOR)
        client.handler.enforce_csrf_checks = False
        foreign = make_catalog()["area"]
        assert client.post(url, {"area": foreign.pk}, format="json").status_code == 400
        response = client.post(url, {"area": area.pk, "reason": "Corresponde"}, format="json")
        assert response.status_code == 200, response.content
        ticket.refresh_from_db()
        assert ticket.area == area

    def test_answer_plan_is_sent(self, catalog, key_client):
        ticket = open_ticket(catalog)
        response = key_client.post(f"{URL}{ticket.folio}/answers/",
                                   {"stage": "plan", "body": "Estamos revisando."},
                                   format="json")
        assert response.status_code == 201, response.content
        assert response.json()["status"] == "sent"
        ticket.refresh_from_db()
        assert ticket.stage == "final"

    def test_final_answer_of_complaint_needs_root_cause(self, catalog, key_client):
        catalog["complaint"].requires_root_cause = True
        catalog["complaint"].save()
        ticket = open_ticket(catalog)
        url = f"{URL}{ticket.folio}/answers/"
        response = key_client.post(url, {"stage": "final", "body": "Listo."}, format="json")
        assert response.status_code == 400
        assert "root_cause" in response.json() or "corrective_action" in response.json()
        assert ticket.answers.count() == 0  # draft rolled back: nothing half-stored
        response = key_client.post(url, {"stage": "final", "body": "Listo.",
                                         "root_cause": "Proveedor", "corrective_action": "Multa"},
                                   format="json")
        assert response.status_code == 201, response.content
        ticket.refresh_from_db()
        assert ticket.status == Status.CLOSED

    def test_read_only_key_cannot_act(self, catalog, make_key):
        ticket = open_ticket(catalog)
        _key, raw = make_key(catalog["institution"], can_write=False)
        response = APIClient().post(f"{URL}{ticket.folio}/status/", {"status": "closed"},
                                    format="json", HTTP_X_API_KEY=raw)
        assert response.status_code == 403


@pytest.mark.django_db
class TestMoreErrors:
    def test_multipart_field_over_django_limit_is_413(self, catalog, key_client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
        data = ticket_payload(catalog, detail="x" * 3000)
        data["attachments"] = [SimpleUploadedFile("foto.png", png_bytes(), "image/png")]
        response = key_client.post(URL, data, format="multipart")
        assert response.status_code == 413
        assert Ticket.objects.count() == 0

    def test_sensitive_topic_answer_waits_for_approval(self, catalog, key_client):
        catalog["topic"].is_sensitive = True
        catalog["topic"].save()
        ticket = open_ticket(catalog)
        response = key_client.post(f"{URL}{ticket.folio}/answers/",
                                   {"stage": "plan", "body": "Revisando."}, format="json")
        assert response.status_code == 202
        assert response.json()["status"] == "pending_approval"
        ticket.refresh_from_db()
        assert ticket.stage == "plan"

    def test_unsupported_media_type_is_415(self, catalog, key_client):
        response = key_client.generic("POST", URL, b"<x/>", content_type="application/xml")
        assert response.status_code == 415
