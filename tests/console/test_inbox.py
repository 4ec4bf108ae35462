from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.console.helpers import listed
from tests.factories import (
    AreaFactory,
    TopicFactory,
    channel,
    open_ticket,
)
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import Comuna
from ventanilla.core.rut import rut_normalize
from ventanilla.tickets.services import ticket_change_area, ticket_change_status

pytestmark = pytest.mark.django_db

INBOX = reverse("console:inbox")


@pytest.fixture
def triage(staff, login):
    user = staff(Role.TRIAGE)
    login(user)
    return user


def test_default_shows_open_tickets_newest_first(client, catalog, triage):
    old = open_ticket(catalog, received_at=timezone.now() - timedelta(hours=2))
    new = open_ticket(catalog)
    closed = open_ticket(catalog)
    ticket_change_status(ticket=closed, actor=triage, to_status="closed")
    response = client.get(INBOX)
    assert response.status_code == 200
    assert listed(response) == [new.folio, old.folio]
    content = response.content.decode()
    assert "<caption>" in content and 'scope="col"' in content
    assert 'for="id_q"' in content and 'for="id_status"' in content


def test_status_filter_each_status_and_all(client, catalog, triage):
    new = open_ticket(catalog)
    progress = open_ticket(catalog)
    ticket_change_status(ticket=progress, actor=triage, to_status="in_progress")
    waiting = open_ticket(catalog)
    ticket_change_status(ticket=waiting, actor=triage, to_status="waiting_citizen")
    closed = open_ticket(catalog)
    ticket_change_status(ticket=closed, actor=triage, to_status="closed")
    expected = {"new": [new.folio], "in_progress": [progress.folio],
                "waiting_citizen": [waiting.folio], "closed": [closed.folio]}
    for status, folios in expected.items():
        assert listed(client.get(INBOX, {"status": status})) == folios
    assert set(listed(client.get(INBOX, {"status": "all"}))) == {
        new.folio, progress.folio, waiting.folio, closed.folio}
    assert set(listed(client.get(INBOX, {"status": "open"}))) == {
        new.folio, progress.folio, waiting.folio}


def test_type_topic_area_channel_region_filters(client, catalog, triage):
    institution = catalog["institution"]
    base = open_ticket(catalog)
    suggestion = open_ticket(catalog, ticket_type=catalog["suggestion"])
    child_topic = TopicFactory(institution=institution, parent=catalog["topic"], name="Colación",
                               default_area=catalog["area"])
    other_topic = TopicFactory(institution=institution, name="Becas",
                               default_area=catalog["area"])
    in_child = open_ticket(catalog, topic=child_topic)
    in_other = open_ticket(catalog, topic=other_topic)
    by_phone = open_ticket(catalog, channel=channel("phone"))
    valparaiso = Comuna.objects.get(code="05101")
    in_v = open_ticket(catalog, organization=None, region=valparaiso.region, comuna=valparaiso)
    becas = AreaFactory(institution=institution, name="Área Becas")
    derived = open_ticket(catalog)
    ticket_change_area(ticket=derived, actor=triage, area=becas)
    unassigned = open_ticket(catalog)
    ticket_change_area(ticket=unassigned, actor=triage, area=None)

    def folios(**params):
        return set(listed(client.get(INBOX, params)))

    # Type 1 tickets are answered and closed on entry: look for them among all statuses.
    assert folios(ticket_type=catalog["suggestion"].pk, status="all") == {suggestion.folio}
    # A program includes its products.
    assert in_child.folio in folios(topic=catalog["topic"].pk)
    assert in_other.folio not in folios(topic=catalog["topic"].pk)
    assert folios(topic=child_topic.pk) == {in_child.folio}
    assert folios(area=becas.pk) == {derived.folio}
    assert folios(area="none") == {unassigned.folio}
    assert base.folio in folios(area=catalog["area"].pk)
    assert folios(channel=channel("phone").pk) == {by_phone.folio}
    assert folios(region="05") == {in_v.folio}
    assert base.folio in folios(region="13") and in_v.folio not in folios(region="13")


def test_overdue_filter_and_badge(client, catalog, triage):
    late = open_ticket(catalog, received_at=timezone.now() - timedelta(days=5))
    on_time = open_ticket(catalog)
    late_closed = open_ticket(catalog, received_at=timezone.now() - timedelta(days=6))
    ticket_change_status(ticket=late_closed, actor=triage, to_status="closed")
    assert late.due_at < timezone.now()
    response = client.get(INBOX, {"overdue": "on", "status": "all"})
    assert listed(response) == [late.folio]
    content = client.get(INBOX).content.decode()
    assert content.count("badge-overdue") == 1
    assert on_time.folio in content


def test_search_by_folio_rut_name_and_words(client, catalog, triage):
    rut = rut_normalize("12.345.678-5")
    with_rut = open_ticket(catalog, contact=ContactData(
        full_name="Pedro Araya", email="pedro@example.cl", rut=rut))
    named = open_ticket(catalog, contact=ContactData(full_name="Marisol Contreras",
                                                     email="marisol@example.cl"))
    worded = open_ticket(catalog, subject="Bus escolar atrasado",
                         detail="El furgón llega tarde todos los días")
    other = open_ticket(catalog)

    def search(query):
        return listed(client.get(INBOX, {"q": query, "status": "all"}))

    assert search(other.folio) == [other.folio]
    assert search(other.folio.lower()) == [other.folio]
    for written in ("12.345.678-5", "12345678-5", "123456785"):
        assert search(written) == [with_rut.folio]
    assert search("marisol") == [named.folio]
    assert search("Contreras Marisol") == [named.folio]
    assert search("furgón tarde") == [worded.folio]  # words from the detail
    assert search("escolar") == [worded.folio]  # a word from the subject
    assert search("inexistente") == []


@pytest.mark.parametrize("params", [
    {"ticket_type": "abc"}, {"topic": "1;DROP"}, {"area": "-5"}, {"channel": "99999999"},
    {"region": "zz"}, {"status": "borrado"}, {"page": "muchas"}, {"page": "-3"},
    {"page": "99999999999999999999999"}, {"q": "x" * 500}, {"overdue": "quizás"},
    {"area": "0"}, {"ticket_type": "1e5"}, {"q": "nul\x00byte"},
])
def test_bad_filter_values_never_fail(client, catalog, triage, params):
    ticket = open_ticket(catalog)
    response = client.get(INBOX, params)
    assert response.status_code == 200
    if params.keys() <= {"page", "overdue"}:
        return
    form = response.context["form"]
    assert form.errors  # reported next to the field and in the summary
    assert "Revise lo siguiente" in response.content.decode()
    if "q" not in params:
        assert listed(response) == [ticket.folio]  # the invalid filter was ignored


def test_ids_of_another_institution_are_rejected(client, catalog, other_catalog, triage):
    ticket = open_ticket(catalog)
    foreign = {"ticket_type": other_catalog["complaint"].pk,
               "topic": other_catalog["topic"].pk, "area": other_catalog["area"].pk}
    for name, value in foreign.items():
        response = client.get(INBOX, {name: value})
        assert response.status_code == 200
        assert name in response.context["form"].errors
        assert listed(response) == [ticket.folio]


def test_pagination_keeps_filters(client, catalog, triage):
    now = timezone.now()
    tickets = [open_ticket(catalog, subject=f"Furgón {i}", received_at=now - timedelta(minutes=i))
               for i in range(27)]
    open_ticket(catalog, subject="Otro asunto")
    response = client.get(INBOX, {"q": "Furgón", "channel": catalog["web"].pk})
    assert listed(response) == [t.folio for t in tickets[:25]]
    content = response.content.decode()
    assert "Anterior" not in content
    assert "Siguiente" in content
    assert response.context["has_next"]
    next_link = f'?q=Furg%C3%B3n&amp;channel={catalog["web"].pk}&amp;page=2'
    assert next_link in content
    response = client.get(INBOX, {"q": "Furgón", "channel": catalog["web"].pk, "page": 2})
    assert listed(response) == [t.folio for t in tickets[25:]]
    content = response.content.decode()
    assert not response.context["has_next"]
    assert f'?q=Furg%C3%B3n&amp;channel={catalog["web"].pk}&amp;page=1' in content
    assert "Siguiente" not in content


def test_responder_area_choices_are_their_own(client, catalog, staff, login):
    becas = AreaFactory(institution=catalog["institution"], name="Área Becas")
    login(staff(Role.RESPONDER, areas=[catalog["area"]]))
    response = client.get(INBOX)
    choices = dict(response.context["form"].fields["area"].choices)
    assert str(catalog["area"].pk) in choices
    assert str(becas.pk) not in choices and "none" not in choices
    response = client.get(INBOX, {"area": becas.pk})
    assert "area" in response.context["form"].errors


def _inbox_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(INBOX, {"status": "all"})
    assert response.status_code == 200
    return len(queries), len(response.context["tickets"])


def test_inbox_query_count_does_not_grow_with_rows(client, catalog, triage):
    child = TopicFactory(institution=catalog["institution"], parent=catalog["topic"],
                         default_area=catalog["area"])
    phone = channel("phone")

    def make(count):
        for i in range(count):
            open_ticket(catalog, topic=child if i % 2 else catalog["topic"],
                        channel=phone if i % 3 else catalog["web"],
                        received_at=timezone.now() - timedelta(days=i % 7))

    make(5)
    few, rows_few = _inbox_queries(client)
    make(25)
    many, rows_many = _inbox_queries(client)
    assert (rows_few, rows_many) == (5, 25)
    assert many == few
    assert few <= 14


def test_warm_inbox_reads_no_catalog_and_sees_a_new_area(client, catalog, triage):
    """The filter choices are kept per process until the institution's configuration
    changes: a warm page reads no catalog table, and a new area is offered at once."""
    from ventanilla.catalog.cache import config_cache_clear
    from ventanilla.catalog.models import Area

    config_cache_clear()
    client.get(INBOX)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(INBOX)
    assert response.status_code == 200
    catalog_tables = ("catalog_tickettype", "catalog_topic", "catalog_area", "catalog_channel",
                      "core_region")
    assert not [q["sql"] for q in queries  # (the member's own areas come with the login)
                if any(f'FROM "{table}"' in q["sql"] for table in catalog_tables)
                and "accounts_membership_areas" not in q["sql"]]

    Area.objects.create(institution=catalog["institution"], name="Área recién creada")
    response = client.get(INBOX)
    assert "Área recién creada" in response.content.decode()
