"""The inbox search: folio and RUT exact, words in name, subject and detail. On PostgreSQL it is
full-text (Spanish stems, accents ignored, the last word a prefix); SQLite keeps substrings."""

import pytest
from django.db import connection

from tests.factories import MembershipFactory, UserFactory, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.selectors import InboxFilters, ticket_inbox

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="full-text search is PostgreSQL's")


def _search(catalog, query: str) -> set[str]:
    membership = MembershipFactory(user=UserFactory(), institution=catalog["institution"],
                                   role=Role.SUPERVISOR)
    return set(ticket_inbox(membership=membership, filters=InboxFilters(query=query))
               .values_list("folio", flat=True))


@pytest.fixture
def tickets(catalog):
    return {
        "lentes": open_ticket(catalog, subject="Control con el kinesiólogo",
                              detail="Mi hijo necesita lentes ópticos para leer."),
        "zuniga": open_ticket(catalog, contact=ContactData(
            full_name="Daniela Zúñiga Rojas", email="dz@example.cl", phone="", rut="125319092"),
            subject="Beca de mantención", detail="No me han pagado la beca."),
        "colacion": open_ticket(catalog),
    }


def test_folio_in_any_case_and_rut_in_any_format(catalog, tickets):
    folio = tickets["lentes"].folio
    assert _search(catalog, folio.lower()) == {folio}
    assert _search(catalog, f"  {folio}  ") == {folio}
    assert _search(catalog, "12531909-2") == {tickets["zuniga"].folio}
    assert _search(catalog, "12.531.909-2") == {tickets["zuniga"].folio}


def test_every_word_must_match(catalog, tickets):
    assert _search(catalog, "colación escuela") == {tickets["colacion"].folio}
    assert _search(catalog, "colación lentes") == set()


def test_punctuation_and_empty_words_do_not_break_the_query(catalog, tickets):
    for query in ("'", "&|!:*()", "lentes' | (", "--"):
        _search(catalog, query)  # no error, whatever it finds


@postgres_only
def test_accents_do_not_matter(catalog, tickets):
    assert _search(catalog, "kinesiologo") == {tickets["lentes"].folio}
    assert _search(catalog, "Zuniga") == {tickets["zuniga"].folio}
    assert _search(catalog, "ÓPTICOS") == {tickets["lentes"].folio}


@postgres_only
def test_last_word_is_a_prefix_and_words_are_stemmed(catalog, tickets):
    assert _search(catalog, "Daniela Zúñ") == {tickets["zuniga"].folio}
    assert _search(catalog, "lente") == {tickets["lentes"].folio}
    assert _search(catalog, "necesitaba lentes") == {tickets["lentes"].folio}


def test_substring_search_on_sqlite(catalog, tickets):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite behaviour")
    assert _search(catalog, "kinesiólogo") == {tickets["lentes"].folio}
    assert _search(catalog, "Zúñiga") == {tickets["zuniga"].folio}
