"""The intake's write path does each thing once: the ticket row is inserted with its
deadlines and workflow state (no UPDATE after), the person's identities are read once and
inserted in one statement, the API's idempotency key is read once, and with the database
queue the delivery job is written in the intake's own transaction."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import channel, open_ticket
from ventanilla.api.services import api_key_create
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.citizens.services import ContactData, citizen_resolve
from ventanilla.tickets.models import ResponseStage, Status

pytestmark = pytest.mark.django_db


def statements(queries, prefix, table):
    """The statements of one kind on ``table`` (as the main table, not a join)."""
    target = {"SELECT": f'FROM "{table}"', "INSERT": f'INTO "{table}"',
              "UPDATE": f'UPDATE "{table}"'}[prefix]
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith(prefix) and target in q["sql"]]


def test_type2_ticket_is_inserted_acknowledged_without_an_update(catalog):
    with CaptureQueriesContext(connection) as queries:
        ticket = open_ticket(catalog)
    assert statements(queries, "UPDATE", "tickets_ticket") == []
    assert len(statements(queries, "INSERT", "tickets_ticket")) == 1
    ticket.refresh_from_db()
    assert ticket.stage == ResponseStage.PLAN
    assert ticket.acknowledged_at == ticket.received_at
    assert ticket.next_due_at == ticket.plan_due_at


def test_type1_ticket_is_inserted_closed_without_an_update(catalog):
    with CaptureQueriesContext(connection) as queries:
        ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    assert statements(queries, "UPDATE", "tickets_ticket") == []
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.stage == ResponseStage.DONE
    received = ticket.received_at
    assert ticket.closed_at == ticket.first_answered_at == ticket.final_answered_at == received
    assert ticket.acknowledged_at == ticket.plan_answered_at == received
    assert ticket.next_due_at is None and ticket.at_risk_at is None
    kinds = list(ticket.events.order_by("pk").values_list("kind", "to_status"))
    assert kinds == [("created", "new"), ("reply", ""), ("status_changed", "closed")]


def test_new_person_costs_one_lookup_and_one_identity_insert(db):
    contact = ContactData(full_name="Ana Pérez", email="Ana@Example.cl", phone="+56 9 8765 4321")
    with CaptureQueriesContext(connection) as queries:
        citizen = citizen_resolve(contact=contact)
    assert len(statements(queries, "SELECT", "citizens_channelidentity")) == 1
    assert len(statements(queries, "INSERT", "citizens_channelidentity")) == 1
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"]]
    assert set(ChannelIdentity.objects.filter(citizen=citizen).values_list("kind", "value")) == {
        (IdentityKind.EMAIL, "ana@example.cl"), (IdentityKind.PHONE, "56987654321")}


def test_known_person_adds_only_the_missing_identity(db):
    first = citizen_resolve(contact=ContactData(full_name="Ana", email="ana@example.cl"))
    with CaptureQueriesContext(connection) as queries:
        again = citizen_resolve(contact=ContactData(full_name="Ana", email="ana@example.cl",
                                                    phone="+56 9 8765 4321"))
    assert again == first
    assert len(statements(queries, "SELECT", "citizens_channelidentity")) == 1
    assert len(statements(queries, "INSERT", "citizens_channelidentity")) == 1
    with CaptureQueriesContext(connection) as queries:
        assert citizen_resolve(contact=ContactData(full_name="Ana", email="ana@example.cl",
                                                   phone="+56 9 8765 4321")) == first
    assert statements(queries, "INSERT", "citizens_channelidentity") == []


def test_identity_of_another_person_stays_theirs(db):
    owner = citizen_resolve(contact=ContactData(full_name="Ana", phone="+56 9 8765 4321"))
    berta = citizen_resolve(contact=ContactData(full_name="Berta", rut="125319092"))
    # Berta, found by her RUT, types Ana's phone and a new e-mail.
    again = citizen_resolve(contact=ContactData(full_name="Berta", rut="125319092",
                                                phone="+56 9 8765 4321",
                                                email="berta@example.cl"))
    assert again == berta != owner
    phone = ChannelIdentity.objects.get(kind=IdentityKind.PHONE, value="56987654321")
    assert phone.citizen == owner
    assert ChannelIdentity.objects.get(kind=IdentityKind.EMAIL,
                                       value="berta@example.cl").citizen == berta
    assert Citizen.objects.count() == 2


def test_api_reads_the_idempotency_key_once(catalog):
    _key, raw = api_key_create(institution=catalog["institution"], name="IVR",
                               channels=[channel("api")], can_write=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    payload = {"ticket_type": catalog["complaint"].pk, "topic": catalog["topic"].pk,
               "subject": "Colación", "detail": "No llegó.", "full_name": "Juana Soto",
               "email": "juana@example.cl"}
    key = uuid.uuid4().hex
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/tickets/", payload, format="json",
                               HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201
    assert statements(queries, "SELECT", "tickets_ticket") == []
    assert len(statements(queries, "SELECT", "api_idempotencyrecord")) == 1
    replay = client.post("/api/v1/tickets/", payload, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert replay.status_code == 200 and replay.json()["folio"] == response.json()["folio"]


def test_with_the_database_queue_the_job_is_written_in_the_intake_transaction(catalog,
                                                                              monkeypatch):
    from ventanilla.notifications import services

    queued = []
    monkeypatch.setattr(services, "_queue_in_this_database", lambda: True)
    monkeypatch.setattr(services, "_enqueue_in_transaction",
                        lambda message_id: queued.append(
                            (message_id, connection.in_atomic_block)))
    ticket = open_ticket(catalog)
    assert queued == [(ticket.outbound_messages.get().pk, True)]
