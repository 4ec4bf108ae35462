from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tests.factories import AreaFactory, TopicFactory, UserFactory, channel, open_ticket
from tests.tickets.helpers import confirmed, staff
from ventanilla.accounts.models import Membership, Role
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import Comuna, Region
from ventanilla.tickets.models import Status, Ticket
from ventanilla.tickets.selectors import (
    InboxFilters,
    ticket_for_tracking,
    ticket_inbox,
    ticket_list_for_citizen,
    ticket_page,
    ticket_visible_to,
)

pytestmark = pytest.mark.django_db


def _membership(catalog, role=Role.TRIAGE, areas=None):
    user = staff(catalog["institution"], role, areas=areas)
    return Membership.objects.get(user=user, institution=catalog["institution"])


def _inbox(membership, **filters):
    return set(ticket_inbox(membership=membership, filters=InboxFilters(**filters)))


def _set_status(ticket, status):
    Ticket.objects.filter(pk=ticket.pk).update(status=status)


@pytest.fixture
def triage(catalog):
    return _membership(catalog)


def test_no_filters_returns_every_ticket_of_the_institution_newest_first(catalog, other_catalog,
                                                                         triage):
    now = timezone.now()
    old = open_ticket(catalog, received_at=now - timedelta(days=2))
    new = open_ticket(catalog, received_at=now)
    open_ticket(other_catalog)
    assert list(ticket_inbox(membership=triage, filters=InboxFilters())) == [new, old]


def test_status_filter_including_open(catalog, triage):
    new = open_ticket(catalog)
    waiting = open_ticket(catalog)
    closed = open_ticket(catalog)
    _set_status(waiting, Status.WAITING_CITIZEN)
    _set_status(closed, Status.CLOSED)
    assert _inbox(triage, status="open") == {new, waiting}
    assert _inbox(triage, status=Status.CLOSED) == {closed}
    assert _inbox(triage, status=Status.WAITING_CITIZEN) == {waiting}
    assert _inbox(triage, status="") == {new, waiting, closed}


def test_type_channel_region_filters(catalog, triage):
    complaint = open_ticket(catalog)
    suggestion = open_ticket(catalog, ticket_type=catalog["suggestion"], channel=channel("phone"),
                             organization=None, region=Region.objects.get(code="16"),
                             comuna=Comuna.objects.get(code="16101"))
    assert _inbox(triage, ticket_type=catalog["suggestion"].pk) == {suggestion}
    assert _inbox(triage, ticket_type=catalog["complaint"].pk) == {complaint}
    assert _inbox(triage, channel=channel("phone").pk) == {suggestion}
    assert _inbox(triage, region="16") == {suggestion}
    assert _inbox(triage, region="13") == {complaint}


def test_topic_filter_includes_children_of_a_program(catalog, triage):
    institution = catalog["institution"]
    program = catalog["topic"]
    product = TopicFactory(institution=institution, parent=program, name="Producto")
    unrelated = TopicFactory(institution=institution, name="Otro")
    on_program = open_ticket(catalog)
    on_product = open_ticket(catalog, topic=product)
    elsewhere = open_ticket(catalog, topic=unrelated)
    assert _inbox(triage, topic=program.pk) == {on_program, on_product}
    assert _inbox(triage, topic=product.pk) == {on_product}
    assert _inbox(triage, topic=unrelated.pk) == {elsewhere}


def test_area_filter_including_no_area(catalog, triage):
    with_area = open_ticket(catalog)
    no_area_topic = TopicFactory(institution=catalog["institution"], default_area=None)
    without = open_ticket(catalog, topic=no_area_topic)
    assert _inbox(triage, area=catalog["area"].pk) == {with_area}
    assert _inbox(triage, area=0) == {without}
    assert _inbox(triage, area=None) == {with_area, without}


def test_overdue_filter(catalog, triage):
    now = timezone.now()
    overdue = open_ticket(catalog, received_at=now - timedelta(hours=100))
    overdue_closed = open_ticket(catalog, received_at=now - timedelta(hours=100))
    _set_status(overdue_closed, Status.CLOSED)
    on_time = open_ticket(catalog, received_at=now - timedelta(hours=1))
    assert _inbox(triage, overdue=True) == {overdue}
    assert overdue.is_overdue and not on_time.is_overdue


def test_search_by_folio_case_insensitive(catalog, triage):
    target = open_ticket(catalog)
    open_ticket(catalog)
    assert _inbox(triage, query=target.folio.lower()) == {target}
    assert _inbox(triage, query=f"  {target.folio}  ") == {target}


@pytest.mark.parametrize("query", ["12.531.909-2", "12531909-2", "125319092", "12531909-2 "])
def test_search_by_rut_in_any_format(catalog, triage, query):
    target = open_ticket(catalog, rut="125319092")
    open_ticket(catalog, contact=ContactData(full_name="Otra Persona", email="o@example.cl"))
    assert _inbox(triage, query=query) == {target}


def test_search_by_name_and_words_across_fields(catalog, triage):
    contact = ContactData(full_name="Marcela Fuentes", email="m@example.cl")
    target = open_ticket(catalog, contact=contact, subject="Colación fría",
                         detail="La comida llegó tarde al liceo")
    other = open_ticket(catalog, subject="Beca atrasada", detail="No pagan la beca")
    assert _inbox(triage, query="fuentes") == {target}
    assert _inbox(triage, query="colación liceo") == {target}  # subject + detail
    assert _inbox(triage, query="Marcela tarde") == {target}  # name + detail
    assert _inbox(triage, query="colación beca") == set()  # every word must match
    assert _inbox(triage, query="beca") == {other}


def test_responder_only_sees_their_areas(catalog):
    institution = catalog["institution"]
    becas = AreaFactory(institution=institution, name="Becas")
    mine = confirmed(open_ticket(catalog))
    pending = open_ticket(catalog)  # not the area's until the triage confirms it
    theirs = confirmed(open_ticket(
        catalog, topic=TopicFactory(institution=institution, default_area=becas)))
    unassigned = open_ticket(catalog,
                             topic=TopicFactory(institution=institution, default_area=None))
    responder = _membership(catalog, Role.RESPONDER, areas=[catalog["area"]])
    assert set(ticket_visible_to(membership=responder)) == {mine}
    assert _inbox(responder) == {mine}
    assert _inbox(responder, area=becas.pk) == set()
    assert _inbox(responder, query=theirs.folio) == set()
    assert _inbox(responder, query=pending.folio) == set()
    assert _inbox(_membership(catalog, Role.OPERATOR)) == {mine, pending, theirs, unassigned}


def test_other_institution_never_visible(catalog, other_catalog):
    open_ticket(catalog)
    outsider = _membership(other_catalog, Role.SUPERVISOR)
    theirs = open_ticket(other_catalog)
    assert _inbox(outsider) == {theirs}
    ours = Ticket.objects.get(institution=catalog["institution"])
    assert _inbox(outsider, query=ours.folio) == set()


def test_auditor_has_no_access_to_cases(catalog):
    with pytest.raises(PermissionDenied):
        ticket_visible_to(membership=_membership(catalog, Role.AUDITOR))


# --- tracking ---------------------------------------------------------------------------------

def test_tracking_requires_matching_folio_and_email(catalog):
    ticket = open_ticket(catalog, email="juana@example.cl")
    assert ticket_for_tracking(folio=ticket.folio, email="juana@example.cl") == ticket
    assert ticket_for_tracking(folio=f"  {ticket.folio.lower()} ",
                               email="  JUANA@Example.cl ") == ticket
    assert ticket_for_tracking(folio=ticket.folio, email="otra@example.cl") is None
    assert ticket_for_tracking(folio="XX-2026-999999", email="juana@example.cl") is None
    assert ticket_for_tracking(folio="", email="juana@example.cl") is None
    assert ticket_for_tracking(folio=ticket.folio, email="") is None
    assert ticket_for_tracking(folio=None, email=None) is None


def test_tracking_a_ticket_without_email_is_impossible(catalog):
    ticket = open_ticket(catalog, contact=ContactData(full_name="Sin Correo"))
    assert ticket_for_tracking(folio=ticket.folio, email="") is None
    assert ticket_for_tracking(folio=ticket.folio, email=" ") is None


# --- citizen's own list ---------------------------------------------------------------------

def test_list_for_citizen(catalog):
    user = UserFactory(email="ana@example.cl")
    filed_logged_in = open_ticket(catalog, citizen_user=user, email="otro@example.cl")
    filed_anonymously = open_ticket(
        catalog, contact=ContactData(full_name="Ana", email="ANA@example.cl", phone="911111111"))
    open_ticket(catalog,
                contact=ContactData(full_name="X", email="alguien@example.cl", phone="922222222"))

    assert set(ticket_list_for_citizen(user=user)) == {filed_logged_in}

    user.email_verified_at = timezone.now()
    user.save()
    assert set(ticket_list_for_citizen(user=user)) == {filed_logged_in, filed_anonymously}


def test_list_for_logged_in_filer_whose_email_was_already_known(catalog):
    # someone filed anonymously with this address before; the account holder (not yet
    # verified) files while logged in and must see that request in their list
    open_ticket(catalog, email="ana@example.cl")
    user = UserFactory(email="ana@example.cl")
    mine = open_ticket(catalog, citizen_user=user, email="ana@example.cl")
    assert set(ticket_list_for_citizen(user=user)) == {mine}


def test_list_for_anonymous_is_empty(catalog):
    open_ticket(catalog)
    assert not ticket_list_for_citizen(user=AnonymousUser()).exists()


# --- pagination -----------------------------------------------------------------------------

def test_ticket_page_flags(catalog, triage):
    for _ in range(5):
        open_ticket(catalog)
    tickets = ticket_inbox(membership=triage, filters=InboxFilters())
    rows, has_next = ticket_page(tickets, page=1, per_page=2)
    assert len(rows) == 2 and has_next
    rows3, has_next3 = ticket_page(tickets, page=3, per_page=2)
    assert len(rows3) == 1 and not has_next3
    rows_exact, has_next_exact = ticket_page(tickets, page=1, per_page=5)
    assert len(rows_exact) == 5 and not has_next_exact
    assert ticket_page(tickets, page=0, per_page=2)[0] == rows  # clamped to the first page
    assert ticket_page(tickets, page=99, per_page=2) == ([], False)
    seen = rows + ticket_page(tickets, page=2, per_page=2)[0] + rows3
    assert len({t.pk for t in seen}) == 5


def test_inbox_query_count_does_not_grow_with_rows(catalog, triage, django_assert_num_queries):
    """One query for the page, two for its topics and their programs, however many rows."""
    product = TopicFactory(institution=catalog["institution"], parent=catalog["topic"],
                           default_area=catalog["area"])
    for rows in (2, 6):
        while Ticket.objects.count() < rows:
            open_ticket(catalog, topic=product)
        with django_assert_num_queries(3):
            page, _ = ticket_page(ticket_inbox(membership=triage, filters=InboxFilters()),
                                  page=1)
            for ticket in page:
                _ = (ticket.ticket_type.name, ticket.topic.full_name, ticket.channel.name,
                     ticket.area.name)
        assert len(page) == rows
