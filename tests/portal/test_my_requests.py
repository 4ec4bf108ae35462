"""The logged-in citizen's list of requests."""

import html

import pytest
from django.urls import reverse

from tests.factories import InstitutionFactory, UserFactory, make_catalog, open_ticket
from ventanilla.citizens.services import ContactData

pytestmark = pytest.mark.django_db

URL = reverse("portal:my-requests")


def test_login_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_lists_own_tickets_with_links_and_no_one_elses(
    client, catalog, django_assert_max_num_queries
):
    user = UserFactory(email="ana@example.cl")
    mine = open_ticket(catalog, citizen_user=user, email="ana@example.cl", subject="Mi reclamo")
    other_catalog = make_catalog(InstitutionFactory(name="Otra Institución", short_name="OTRA"))
    mine_elsewhere = open_ticket(other_catalog, citizen_user=user, email="ana@example.cl",
                                 subject="Otro reclamo")
    someone_else = open_ticket(catalog, subject="Ajeno", contact=ContactData(
        full_name="Pedro Rojas", email="pedro@example.cl", phone="+56 2 2222 3333"))
    client.force_login(user)
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    for ticket in (mine, mine_elsewhere):
        assert reverse("portal:track-detail", args=[ticket.folio]) in text
        assert ticket.subject in text
    assert "OTRA" in text and "Recibido" in text and "Reclamo" in text
    assert someone_else.folio not in text
    assert text.index(mine_elsewhere.folio) < text.index(mine.folio)  # newest first


def test_query_count_does_not_grow_with_tickets(client, catalog):
    user = UserFactory()
    open_ticket(catalog, citizen_user=user)
    client.force_login(user)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(URL)
    for _ in range(5):
        open_ticket(catalog, citizen_user=user)
    with CaptureQueriesContext(connection) as six:
        client.get(URL)
    assert len(six.captured_queries) == len(one.captured_queries)
