"""``folio_reserve`` inside a caller's transaction leaves the folio to ``ticket_open``
(outside one, it is taken in a statement of its own: see test_folio_concurrency.py)."""

from datetime import UTC, datetime

import pytest

from ventanilla.citizens.services import ContactData
from ventanilla.tickets.services import TicketDraft, ticket_open
from ventanilla.tickets.services.intake import folio_reserve

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
