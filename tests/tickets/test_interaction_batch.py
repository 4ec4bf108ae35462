"""The interaction log written in batches: every event checked before anything is written, a
batch stored whole or not at all, people linked only when already known, and exactly once
through the idempotency record even when a transaction fails mid-way or two copies race."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from tests.factories import CitizenFactory, make_catalog, open_ticket
from ventanilla.api import services_interactions as api_services
from ventanilla.api.models import InteractionBatch
from ventanilla.api.services import IdempotencyConflict
from ventanilla.api.services_interactions import api_interaction_batch_record
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.tickets.models import Interaction, InteractionKind
from ventanilla.tickets.services import interactions as interactions_module
from ventanilla.tickets.services.interactions import (
    INTERACTION_BATCH_MAX,
    InteractionBatchInvalid,
    PreparedBatch,
    interaction_batch_prepare,
    interaction_batch_store,
    interaction_record_batch,
)

RUT = "12.345.678-5"
RUT_COMPACT = "123456785"


def event(**overrides):
    data = {"channel": "ivr", "occurred_at": (timezone.now() - timedelta(minutes=3)).isoformat()}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def record(catalog, events, **kwargs):
    return interaction_record_batch(institution=catalog["institution"], events=events, **kwargs)


def batch_log(catalog):
    return Interaction.objects.filter(institution=catalog["institution"]).exclude(
        kind=InteractionKind.TICKET_OPENED)


class TestStore:
    def test_stores_every_event_with_channel_flags(self, catalog):
        stored = record(catalog, [event(), event(channel="kiosk", data={"screen": "inicio"}),
                                  event(channel="in_person"),
                                  event(channel="web", kind="tracking")])
        assert stored == 4
        rows = {row.channel.code: row for row in batch_log(catalog).select_related("channel")}
        assert set(rows) == {"ivr", "kiosk", "in_person", "web"}
        assert rows["ivr"].kind == InteractionKind.SELF_SERVICE and rows["ivr"].is_self_service
        assert rows["in_person"].kind == InteractionKind.ATTENDED
        assert rows["in_person"].is_self_service is False
        assert rows["web"].kind == InteractionKind.TRACKING
        assert rows["kiosk"].data == {"screen": "inicio"}
        assert all(row.citizen_id is None and row.ticket_id is None for row in rows.values())

    def test_keeps_the_time_reported_and_the_source(self, catalog):
        occurred = "2026-01-05T09:30:00-03:00"
        now = datetime(2026, 1, 5, 13, 0, tzinfo=UTC)
        record(catalog, [event(occurred_at=occurred)], source="kiosk-fleet", now=now)
        row = batch_log(catalog).get()
        assert row.occurred_at == datetime(2026, 1, 5, 12, 30, tzinfo=UTC)
        assert row.data == {"source": "kiosk-fleet"}

    def test_accepts_utc_z(self, catalog):
        assert record(catalog, [event(occurred_at=timezone.now().strftime(
            "%Y-%m-%dT%H:%M:%SZ"))]) == 1


class TestPeople:
    def test_links_known_person_by_rut_and_by_email_identity(self, catalog):
        by_rut = CitizenFactory(rut=RUT_COMPACT)
        by_email = CitizenFactory()
        ChannelIdentity.objects.create(citizen=by_email, kind=IdentityKind.EMAIL,
                                       value="ana@example.cl")
        record(catalog, [event(rut=RUT), event(email=" Ana@Example.cl ")])
        assert sorted(batch_log(catalog).values_list("citizen_id", flat=True)) == sorted(
            [by_rut.pk, by_email.pk])

    def test_rut_first_then_email(self, catalog):
        by_rut = CitizenFactory(rut=RUT_COMPACT)
        by_email = CitizenFactory()
        ChannelIdentity.objects.create(citizen=by_email, kind=IdentityKind.EMAIL,
                                       value="ana@example.cl")
        record(catalog, [event(rut=RUT, email="ana@example.cl", data={"n": 0}),
                         event(rut="11.111.111-1", email="ana@example.cl", data={"n": 1})])
        linked = {row.data["n"]: row.citizen_id for row in batch_log(catalog)}
        assert linked == {0: by_rut.pk, 1: by_email.pk}

    def test_unknown_or_anonymous_people_are_not_created(self, catalog):
        before = Citizen.objects.count()
        record(catalog, [event(), event(rut="11.111.111-1"), event(email="nadie@example.cl")])
        assert Citizen.objects.count() == before
        assert list(batch_log(catalog).values_list("citizen_id", flat=True)) == [None] * 3

    def test_merged_person_resolves_to_the_surviving_record(self, catalog):
        keep = CitizenFactory()
        middle = CitizenFactory(merged_into=keep)
        CitizenFactory(rut=RUT_COMPACT, merged_into=middle)
        record(catalog, [event(rut=RUT)])
        assert batch_log(catalog).get().citizen_id == keep.pk

    def test_folio_links_the_ticket_and_its_person(self, catalog):
        ticket = open_ticket(catalog)
        record(catalog, [event(kind="tracking", folio=ticket.folio.lower())])
        row = batch_log(catalog).get()
        assert (row.ticket_id, row.citizen_id) == (ticket.pk, ticket.citizen_id)

    def test_folio_of_another_institution_is_refused(self, catalog):
        other_ticket = open_ticket(make_catalog())
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event(), event(folio=other_ticket.folio)])
        assert set(raised.value.errors) == {1}
        assert "folio" in raised.value.errors[1]


class TestValidation:
    @pytest.mark.parametrize(("overrides", "field"), [
        ({"channel": None}, "channel"),
        ({"channel": "telepathy"}, "channel"),
        ({"channel": 7}, "channel"),
        ({"kind": "ticket_opened"}, "kind"),
        ({"kind": "message"}, "kind"),
        ({"kind": "attended"}, "kind"),  # on a self-service channel
        ({"channel": "phone", "kind": "self_service"}, "kind"),
        ({"occurred_at": None}, "occurred_at"),
        ({"occurred_at": "ayer"}, "occurred_at"),
        ({"occurred_at": 1700000000}, "occurred_at"),
        ({"occurred_at": "2026-01-05T09:30:00"}, "occurred_at"),  # no time zone
        ({"occurred_at": "x" * 500}, "occurred_at"),
        ({"rut": "12.345.678-9"}, "rut"),
        ({"rut": ["1"]}, "rut"),
        ({"email": "no-es-correo"}, "email"),
        ({"folio": {"a": 1}}, "folio"),
        ({"data": [1, 2]}, "data"),
        ({"data": "texto"}, "data"),
        ({"data": {"big": "x" * 3000}}, "data"),
        ({"ocurred_at": "2026-01-05T09:30:00Z"}, "ocurred_at"),
        # What PostgreSQL cannot store must be refused here, never reach the database.
        ({"folio": "JUN-\x00"}, "folio"),
        ({"email": "a\x00@example.cl"}, "email"),
        ({"rut": "\ud800"}, "rut"),
        ({"channel": "ivr\x00"}, "channel"),
        ({"data": {"texto": "a\x00b"}}, "data"),
        ({"data": {"a\x00": 1}}, "data"),
        ({"data": {"texto": "\ud84c"}}, "data"),
        ({"occurred_at": "0001-01-01T00:00:00+13:37"}, "occurred_at"),
        ({"occurred_at": "9999-12-31T23:59:59-13:00"}, "occurred_at"),
        ({"occurred_at": "5759-06-24T23:50:46.592861Z"}, "occurred_at"),
    ])
    def test_bad_field_refuses_the_whole_batch(self, catalog, overrides, field):
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event(), event(**overrides), event()])
        assert list(raised.value.errors) == [1]
        assert field in raised.value.errors[1]
        assert all(isinstance(m, str) and m for m in raised.value.errors[1][field])
        assert "no se guardó ninguno" in raised.value.message
        assert not batch_log(catalog).exists()

    def test_time_window(self, catalog):
        now = timezone.now()
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event(occurred_at=(now + timedelta(minutes=10)).isoformat()),
                             event(occurred_at=(now + timedelta(minutes=4)).isoformat()),
                             event(occurred_at=(now - timedelta(days=91)).isoformat()),
                             event(occurred_at=(now - timedelta(days=89)).isoformat())], now=now)
        assert sorted(raised.value.errors) == [0, 2]

    def test_channel_not_allowed_for_the_integration(self, catalog):
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event(channel="ivr"), event(channel="kiosk")],
                   allowed_channels={"ivr"})
        assert list(raised.value.errors) == [1]
        assert "kiosk" in raised.value.errors[1]["channel"][0]

    def test_inactive_channel(self, catalog):
        from ventanilla.catalog.models import Channel

        Channel.objects.filter(code="kiosk").update(is_active=False)
        with pytest.raises(InteractionBatchInvalid):
            record(catalog, [event(channel="kiosk")])

    def test_reserved_source_key_when_a_source_is_named(self, catalog):
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event(data={"source": "yo"})], source="api_key:1")
        assert "data" in raised.value.errors[0]
        assert record(catalog, [event(data={"source": "yo"})]) == 1

    @pytest.mark.parametrize("events", [[], "abc", {"channel": "ivr"}, None])
    def test_batch_shape(self, catalog, events):
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, events)
        assert raised.value.errors == {}

    def test_batch_size_limit(self, catalog):
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event()] * (INTERACTION_BATCH_MAX + 1))
        assert str(INTERACTION_BATCH_MAX) in raised.value.message
        assert record(catalog, [event()] * INTERACTION_BATCH_MAX) == INTERACTION_BATCH_MAX

    def test_unknown_field_names_are_echoed_printable(self, catalog):
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event(**{"x\ud800": 1})])
        [name] = raised.value.errors[0]
        name.encode("utf-8")  # the answer can be rendered

    def test_non_object_event(self, catalog):
        with pytest.raises(InteractionBatchInvalid) as raised:
            record(catalog, [event(), 5])
        assert "non_field_errors" in raised.value.errors[1]

    def test_lookups_do_not_grow_with_the_batch(self, catalog, django_assert_max_num_queries):
        ticket = open_ticket(catalog)
        CitizenFactory(rut=RUT_COMPACT)
        events = [event(rut=RUT, folio=ticket.folio, kind="tracking"),
                  event(email="x@example.cl")] * 200
        with django_assert_max_num_queries(5):
            prepared = interaction_batch_prepare(institution=catalog["institution"],
                                                 events=events)
        assert len(prepared) == 400


# --- exactly once: crash mid-way, retry, replay, race ---------------------------------------------

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def api_record(catalog, events, key="lote-1", request_hash="h1"):
    return api_interaction_batch_record(
        institution=catalog["institution"], events=events, scope="key:1", key=key,
        request_hash=request_hash)


@transactional
def test_failure_mid_way_stores_nothing_and_the_retry_stores_everything_once(monkeypatch):
    catalog = make_catalog()
    events = [event(data={"n": n}) for n in range(50)]
    real_store = interaction_batch_store

    def store_half_then_crash(prepared):
        real_store(PreparedBatch(rows=prepared.rows[:25]))  # half the rows are written…
        raise OperationalError("server closed the connection unexpectedly")  # …then it dies

    monkeypatch.setattr("ventanilla.api.services_interactions.interaction_batch_store",
                        store_half_then_crash)
    with pytest.raises(OperationalError):
        api_record(catalog, events)
    assert batch_log(catalog).count() == 0
    assert InteractionBatch.objects.count() == 0

    monkeypatch.setattr("ventanilla.api.services_interactions.interaction_batch_store",
                        real_store)
    batch, created = api_record(catalog, events)  # the producer's retry, same key
    assert created and batch.count == 50
    assert sorted(row["n"] for row in batch_log(catalog).values_list("data", flat=True)) == list(
        range(50))

    again, created = api_record(catalog, events)  # the answer was lost: retry once more
    assert not created and again.pk == batch.pk and again.created_at == batch.created_at
    assert batch_log(catalog).count() == 50


@transactional
def test_database_refusal_at_commit_rolls_back_the_batch_and_its_record():
    """A row the database refuses (here: its person was deleted between the checks and the
    insert; foreign keys are checked at commit) takes the whole batch and its idempotency
    record down with it."""
    catalog = make_catalog()
    person = CitizenFactory(rut=RUT_COMPACT)
    prepared = interaction_batch_prepare(institution=catalog["institution"],
                                         events=[event(), event(rut=RUT), event()])
    Citizen.objects.filter(pk=person.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        InteractionBatch.objects.create(scope="key:1", key="k", request_hash="h", count=3)
        interaction_batch_store(prepared)
    assert batch_log(catalog).count() == 0
    assert InteractionBatch.objects.count() == 0


@pytest.mark.django_db
def test_same_key_other_body_is_a_conflict_and_stores_nothing():
    catalog = make_catalog()
    api_record(catalog, [event()])
    with pytest.raises(IdempotencyConflict):
        api_record(catalog, [event(), event()], request_hash="h2")
    assert batch_log(catalog).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("request_hash", "outcome"), [("h1", "replay"), ("h2", "conflict")])
def test_copy_that_loses_the_race_on_the_unique_key_writes_nothing(monkeypatch, request_hash,
                                                                   outcome):
    """The other copy committed between this one's check and its insert: the unique (scope,
    key) index refuses the record, the rows go with it, and the first answer (or a
    conflict, for another body) comes back."""
    catalog = make_catalog()
    first, _created = api_record(catalog, [event(), event()])
    real_earlier = api_services._earlier
    calls = []

    def earlier_not_yet_committed(*args):
        calls.append(args)
        return None if len(calls) == 1 else real_earlier(*args)

    monkeypatch.setattr(api_services, "_earlier", earlier_not_yet_committed)
    if outcome == "conflict":
        with pytest.raises(IdempotencyConflict):
            api_record(catalog, [event(), event()], request_hash=request_hash)
    else:
        batch, created = api_record(catalog, [event(), event()], request_hash=request_hash)
        assert (batch.pk, created) == (first.pk, False)
    assert len(calls) == 2  # the check before, and the one after the refused insert
    assert batch_log(catalog).count() == 2


@pytest.mark.django_db
def test_invalid_batch_leaves_the_key_free_for_the_corrected_batch():
    catalog = make_catalog()
    with pytest.raises(InteractionBatchInvalid):
        api_record(catalog, [event(channel="nope")], request_hash="bad")
    batch, created = api_record(catalog, [event()], request_hash="fixed")
    assert created and batch.count == 1


@transactional
def test_two_copies_of_a_batch_racing_store_it_once():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Threads need a shared test database: run with SQLITE_TEST_NAME set.")
    catalog = make_catalog()
    events = [event(data={"n": n}) for n in range(200)]
    copies = 4
    barrier = threading.Barrier(copies)
    outcomes, errors = [], []

    def send():
        try:
            barrier.wait()
            outcomes.append(api_record(catalog, events)[1])
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == [False] * (copies - 1) + [True]
    assert batch_log(catalog).count() == 200
    assert InteractionBatch.objects.count() == 1


def test_copy_is_used_on_postgresql(catalog, monkeypatch):
    """On PostgreSQL the rows go through COPY (the fast path the benchmark measures)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    used = []
    real = interactions_module._copy_rows
    monkeypatch.setattr(interactions_module, "_copy_rows", lambda rows: used.append(
        len(rows)) or real(rows))
    record(catalog, [event(), event(channel="kiosk")])
    assert used == [2]
    assert batch_log(catalog).count() == 2
