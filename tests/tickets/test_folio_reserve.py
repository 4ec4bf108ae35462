"""``folio_reserve``: outside a transaction the folio is taken in a statement of its own
(the counter row is locked for that statement only), consecutive and unique under
concurrency; inside a caller's transaction it is left to ``ticket_open``."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from tests.factories import make_catalog
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.models import FolioCounter, Ticket
from ventanilla.tickets.services import TicketDraft, ticket_open
from ventanilla.tickets.services.intake import folio_reserve

THREADS = 8
PER_THREAD = 10
RECEIVED = datetime(2032, 5, 4, 15, 0, tzinfo=UTC)


def draft_for(catalog, **overrides):
    fields = {
        "institution": catalog["institution"], "channel": catalog["web"],
        "ticket_type": catalog["complaint"], "topic": catalog["topic"],
        "subject": "Colación", "detail": "No llegó.", "received_at": RECEIVED,
        "contact": ContactData(full_name="Juana Soto", email="juana@example.cl"),
    }
    fields.update(overrides)
    return TicketDraft(**fields)


@pytest.mark.django_db
def test_inside_a_transaction_nothing_is_taken_early(catalog):
    draft = folio_reserve(draft_for(catalog))
    assert draft.folio is None and draft.received_at == RECEIVED
    ticket = ticket_open(draft=draft)
    assert ticket.folio.endswith("-2032-000001")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_reserved_outside_a_transaction_folios_are_consecutive_and_unique():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: needs row-level concurrency (DATABASE_URL=postgres://…)")
    catalog = make_catalog()
    institution = catalog["institution"]
    barrier = threading.Barrier(THREADS)
    folios: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index):
        try:
            barrier.wait()
            for step in range(PER_THREAD):
                assert not connection.in_atomic_block
                draft = folio_reserve(draft_for(catalog))
                assert draft.folio  # taken before any transaction
                # Every other one is opened, as the API does after reserving.
                if (index + step) % 2 == 0:
                    with transaction.atomic():
                        ticket = ticket_open(draft=draft, caller_resolves_conflicts=True)
                    assert ticket.folio == draft.folio
                with lock:
                    folios.append(draft.folio)
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
    total = THREADS * PER_THREAD
    assert sorted(folios) == [f"{institution.folio_prefix}-2032-{n:06d}"
                              for n in range(1, total + 1)]
    assert FolioCounter.objects.get(institution=institution, year=2032).last_value == total
    assert Ticket.objects.filter(institution=institution).count() == total // 2
