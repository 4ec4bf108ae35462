"""The person's page in the console: one timeline across channels, duplicates, merge, undo."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import MembershipFactory, channel, make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.models import Citizen, CitizenMerge
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import AuditEvent
from ventanilla.tickets.models import Ticket
from ventanilla.tickets.services import interaction_record_tracking

pytestmark = pytest.mark.django_db


def _ticket(catalog, email, *, name="Juana Soto", phone="", **overrides):
    contact = ContactData(full_name=name, email=email, phone=phone)
    return open_ticket(catalog, contact=contact, **overrides)


def _page(citizen):
    return reverse("console:citizen", args=[citizen.pk])


@pytest.fixture
def person(catalog):
    web = _ticket(catalog, "juana@example.cl", subject="Por la web")
    phone = _ticket(catalog, "juana@example.cl", subject="Por teléfono",
                    channel=channel("phone"))
    interaction_record_tracking(ticket=web, channel=catalog["web"])
    return web.citizen, web, phone


def test_page_shows_identities_and_timeline_across_channels(person, staff, login, other_catalog):
    citizen, web, phone = person
    foreign = _ticket(other_catalog, "juana@example.cl", subject="En otra institución")
    assert foreign.citizen_id == citizen.pk
    client = login(staff(Role.OPERATOR))
    response = client.get(_page(citizen))
    assert response.status_code == 200
    content = response.content.decode()
    assert "juana@example.cl" in content
    assert web.folio in content and phone.folio in content
    assert foreign.folio not in content  # another institution's ticket
    channels = {entry.channel.code for entry in response.context["timeline"]}
    assert channels == {"web", "phone"}
    assert len(response.context["timeline"]) == 3  # two openings + one status lookup
    viewed = AuditEvent.objects.filter(action="citizen.viewed", object_id=str(citizen.pk))
    assert viewed.count() == 1
    # The ticket page links to the person's page.
    ticket_page = client.get(reverse("console:ticket", args=[web.folio]))
    assert _page(citizen) in ticket_page.content.decode()


def test_person_without_tickets_here_is_404(staff, login, other_catalog):
    foreign = _ticket(other_catalog, "otra@example.cl")
    client = login(staff(Role.SUPERVISOR))
    assert client.get(_page(foreign.citizen)).status_code == 404
    assert client.get(reverse("console:citizen", args=[999999])).status_code == 404
    assert not AuditEvent.objects.filter(action="citizen.viewed").exists()


def test_auditor_refused(person, staff, login):
    citizen, *_ = person
    assert login(staff(Role.AUDITOR)).get(_page(citizen)).status_code == 403


def test_query_count_constant_in_tickets(catalog, staff, login):
    client = login(staff(Role.SUPERVISOR))
    first = _ticket(catalog, "q@example.cl")
    client.get(_page(first.citizen))
    with CaptureQueriesContext(connection) as one:
        assert client.get(_page(first.citizen)).status_code == 200
    for _ in range(4):
        ticket = _ticket(catalog, "q@example.cl")
        interaction_record_tracking(ticket=ticket, channel=catalog["web"])
    with CaptureQueriesContext(connection) as many:
        assert client.get(_page(first.citizen)).status_code == 200
    assert len(many) == len(one)


@pytest.fixture
def duplicates(catalog):
    first = _ticket(catalog, "ana.rojas@example.cl", name="Ana Rojas", phone="+56 9 4444 4444")
    second = _ticket(catalog, "arojas@example.cl", name="ANA ROJAS")
    return first.citizen, second.citizen, second


def test_merge_and_undo_through_console(duplicates, staff, login):
    keep, other, second = duplicates
    client = login(staff(Role.SUPERVISOR))
    response = client.get(_page(keep))
    assert [c["candidate"].citizen.pk for c in response.context["candidates"]] == [other.pk]
    assert "Fusionar" in response.content.decode()
    url = reverse("console:citizen-merge", args=[keep.pk, other.pk])
    prefix = f"merge-{other.pk}"

    # Missing reason and confirmation: the form comes back with errors, nothing moves.
    response = client.post(url, {f"{prefix}-keep": keep.pk})
    assert response.status_code == 400
    assert "Indique el motivo" in response.content.decode()
    assert not CitizenMerge.objects.exists()

    response = client.post(url, {f"{prefix}-keep": keep.pk, f"{prefix}-reason": "Mismo nombre",
                                 f"{prefix}-confirm": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == _page(keep)
    assert "se fusionaron" in response.content.decode()
    second.refresh_from_db()
    other.refresh_from_db()
    assert second.citizen_id == keep.pk and other.merged_into_id == keep.pk
    merge = CitizenMerge.objects.get()
    assert second.folio in response.content.decode()

    undo = reverse("console:citizen-merge-undo", args=[keep.pk, merge.pk])
    response = client.post(undo, follow=True)
    assert "se deshizo" in response.content.decode()
    second.refresh_from_db()
    assert second.citizen_id == other.pk
    response = client.post(undo, follow=True)
    assert "ya fue deshecha" in response.content.decode()


def test_merge_keeping_the_other_record(duplicates, staff, login):
    keep, other, _ = duplicates
    client = login(staff(Role.SYSADMIN))
    prefix = f"merge-{other.pk}"
    response = client.post(reverse("console:citizen-merge", args=[keep.pk, other.pk]),
                           {f"{prefix}-keep": other.pk, f"{prefix}-reason": "Misma persona",
                            f"{prefix}-confirm": "on"})
    assert response.status_code == 302 and response.url == _page(other)
    assert Citizen.objects.get(pk=keep.pk).merged_into_id == other.pk


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.TRIAGE])
def test_merge_refused_for_other_roles(duplicates, staff, login, role):
    keep, other, _ = duplicates
    client = login(staff(role))
    response = client.get(_page(keep))
    assert response.context["candidates"] == []
    assert "Fusionar" not in response.content.decode()
    prefix = f"merge-{other.pk}"
    response = client.post(reverse("console:citizen-merge", args=[keep.pk, other.pk]),
                           {f"{prefix}-keep": keep.pk, f"{prefix}-reason": "x",
                            f"{prefix}-confirm": "on"})
    assert response.status_code == 403
    assert not CitizenMerge.objects.exists()


def test_candidate_with_tickets_elsewhere_not_offered_nor_mergeable(duplicates, staff, login):
    keep, other, _ = duplicates
    elsewhere = make_catalog()
    _ticket(elsewhere, "arojas@example.cl", name="ANA ROJAS")
    assert Ticket.objects.filter(citizen=other).count() == 2
    user = staff(Role.SUPERVISOR)
    client = login(user)
    assert client.get(_page(keep)).context["candidates"] == []
    prefix = f"merge-{other.pk}"
    response = client.post(reverse("console:citizen-merge", args=[keep.pk, other.pk]),
                           {f"{prefix}-keep": keep.pk, f"{prefix}-reason": "x",
                            f"{prefix}-confirm": "on"})
    assert response.status_code == 403
    assert Ticket.objects.filter(citizen=other).count() == 2
    MembershipFactory(user=user, institution=elsewhere["institution"], role=Role.OPERATOR)
    assert client.get(_page(keep)).context["candidates"] == []
