"""Concurrent intake never hands out the same folio twice, and skips none needlessly."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from tests.factories import make_catalog, open_ticket
from tests.tickets.test_folio_reserve import RECEIVED as RESERVED_AT
from tests.tickets.test_folio_reserve import draft_for
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.models import FolioCounter, Ticket
from ventanilla.tickets.services import folio_allocate, ticket_open
from ventanilla.tickets.services.intake import folio_reserve

THREADS = 8
PER_THREAD = 15
RECEIVED = datetime(2026, 8, 1, 15, 0, tzinfo=UTC)


def _needs_shared_database():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "SQLite's in-memory test database uses shared-cache mode, whose table locks fail "
            "at once with 'database table is locked' instead of waiting for busy_timeout, so "
            "threads cannot queue on it. Run with SQLITE_TEST_NAME=/tmp/ventanilla-test.sqlite3 "
            "(a file-based test database in WAL mode) to exercise this test on SQLite."
        )


def _run_threads(work):
    barrier = threading.Barrier(THREADS)
    results: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def worker(index):
        try:
            barrier.wait()
            for step in range(PER_THREAD):
                results[index].append(work(index, step))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert errors == [], errors
    return [folio for chunk in results for folio in chunk]


def _assert_complete_sequence(folios, prefix, year):
    total = THREADS * PER_THREAD
    assert len(folios) == total
    assert len(set(folios)) == total, "duplicate folio"
    expected = {f"{prefix}-{year}-{n:06d}" for n in range(1, total + 1)}
    assert set(folios) == expected, "a folio was skipped although nothing rolled back"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_folio_allocate_is_unique_and_gapless():
    _needs_shared_database()
    catalog = make_catalog()
    institution = catalog["institution"]

    folios = _run_threads(lambda i, step: folio_allocate(institution=institution, year=2031))

    _assert_complete_sequence(folios, institution.folio_prefix, 2031)
    assert FolioCounter.objects.get(institution=institution, year=2031).last_value == (
        THREADS * PER_THREAD
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_ticket_open_and_folio_allocate_share_one_counter():
    _needs_shared_database()
    catalog = make_catalog()
    institution = catalog["institution"]
    # the same person on every request, so citizen and identity creation race too
    contact = ContactData(full_name="Juana Soto", email="juana@example.cl",
                          phone="+56 9 1234 5678", rut="125319092")

    def work(index, step):
        if (index + step) % 2:
            return folio_allocate(institution=institution, year=2026)
        return open_ticket(catalog, contact=contact, received_at=RECEIVED).folio

    folios = _run_threads(work)

    _assert_complete_sequence(folios, institution.folio_prefix, 2026)
    tickets = Ticket.objects.filter(institution=institution)
    assert tickets.count() == THREADS * PER_THREAD // 2
    assert tickets.values("citizen").distinct().count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_idempotent_submissions_create_one_ticket():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: needs row-level concurrency (DATABASE_URL=postgres://…)")
    catalog = make_catalog()
    results = _run_threads(
        lambda i, step: open_ticket(catalog, idempotency_key=f"retry-{step}",
                                    received_at=RECEIVED).folio
    )
    assert len(set(results)) == PER_THREAD
    assert Ticket.objects.filter(institution=catalog["institution"]).count() == PER_THREAD


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_folios_reserved_outside_a_transaction_are_consecutive_and_unique():
    """``folio_reserve`` takes the folio in a statement of its own (the counter row is locked
    for that statement only), before the intake transaction the API then opens."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: needs row-level concurrency (DATABASE_URL=postgres://…)")
    catalog = make_catalog()
    institution = catalog["institution"]

    def work(index, step):
        assert not connection.in_atomic_block
        draft = folio_reserve(draft_for(catalog))
        assert draft.folio  # taken before any transaction
        # Every other one is opened, as the API does after reserving.
        if (index + step) % 2 == 0:
            with transaction.atomic():
                ticket = ticket_open(draft=draft, caller_resolves_conflicts=True)
            assert ticket.folio == draft.folio
        return draft.folio

    folios = _run_threads(work)

    total = THREADS * PER_THREAD
    year = RESERVED_AT.year
    assert sorted(folios) == [f"{institution.folio_prefix}-{year}-{n:06d}"
                              for n in range(1, total + 1)]
    assert FolioCounter.objects.get(institution=institution, year=year).last_value == total
    assert Ticket.objects.filter(institution=institution).count() == total // 2
