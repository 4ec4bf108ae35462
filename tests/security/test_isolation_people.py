"""One person, one record — but what the person told institution B stays B's: staff of A see
the person's A side only (tickets, e-mails, phones, RUT as A received them), in every page
that shows the person; and the pieces of the project that are not institution-scoped by
design (the admin, the public catalogues) are checked for what they promise."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory, open_ticket
from tests.security.world import build_world, leaks
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.selectors_people import (
    citizen_facts_in_institution,
    citizen_identities_in_institution,
)

pytestmark = pytest.mark.django_db

# What the shared person told B only (their own name and RUT are the same person's).
B_SIDE = ["compartida.zqxb", "6666 1111", "66661111", "ZQXB", "ISB-"]


@pytest.fixture
def world():
    return build_world()


def _page(world, role, url) -> bytes:
    client = Client()
    client.force_login(world.a.staff[role])
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content


@pytest.mark.parametrize("role", ["operator", "triage", "supervisor", "sysadmin"])
def test_operator_console_shows_only_a_side_of_the_shared_person(world, role):
    person = world.a.shared_person
    content = _page(world, role, reverse("console:operator-person", args=[person.pk]))
    assert world.a.shared_ticket.folio.encode() in content
    assert b"compartida.alfa@example.cl" in content
    assert not leaks(content, B_SIDE)
    content = _page(world, role, reverse("console:operator-ticket-new", args=[person.pk]))
    assert b"compartida.alfa@example.cl" in content  # the form is prefilled with A's data
    assert not leaks(content, B_SIDE)


def test_record_first_filled_by_b_shows_a_values_in_a(world):
    """The global record holds B's e-mail and phone (B met the person first); A shows what
    reached A."""
    catalog_a = world.a.catalog
    first_b = open_ticket(world.b.catalog, contact=ContactData(
        full_name="Primera Persona", email="primera.zqxb@example.cl", phone="+56 9 4444 1111",
        rut="223344550"))
    then_a = open_ticket(catalog_a, contact=ContactData(
        full_name="Primera Persona", email="primera.alfa@example.cl", rut="223344550"))
    person = then_a.citizen
    assert person.pk == first_b.citizen_id and person.email == "primera.zqxb@example.cl"
    facts = citizen_facts_in_institution(citizen=person, institution=catalog_a["institution"])
    assert (facts.email, facts.phone, facts.rut) == ("primera.alfa@example.cl", "", "223344550")
    identities = citizen_identities_in_institution(citizen=person,
                                                   institution=catalog_a["institution"])
    assert [i.value for i in identities] == ["primera.alfa@example.cl"]
    client = Client()
    client.force_login(world.a.staff["operator"])
    content = client.get(reverse("console:operator") + "?q=22.334.455-0").content
    content += client.get(reverse("console:operator-person", args=[person.pk])).content
    assert b"primera.alfa@example.cl" in content
    assert not leaks(content, ["primera.zqxb", "4444 1111", "44441111"])


def test_lookup_of_a_person_known_only_to_b_shows_nothing_of_b(world):
    """An operator may reach the global record by an exact identifier the caller gives (to
    file the ticket under the same person), but sees no name, RUT, e-mail or phone that B
    holds."""
    client = Client()
    client.force_login(world.a.staff["operator"])
    for query in ("solitaria.zqxb@example.cl", "15.975.346-8", "977774321"):
        response = client.get(reverse("console:operator"), {"q": query}, follow=True)
        assert response.status_code == 200
        assert not leaks(response.content, world.b.secrets, echo=(query,)), query
        assert "Persona sin historial en esta institución" in response.content.decode()


@pytest.mark.parametrize("role", ["operator", "supervisor"])
def test_person_page_shows_only_a_side_of_the_shared_person(world, role):
    content = _page(world, role, reverse("console:citizen", args=[world.a.shared_person.pk]))
    assert world.a.shared_ticket.folio.encode() in content
    assert not leaks(content, B_SIDE)


def test_access_log_labels_people_with_what_a_knows(world):
    client = Client()
    client.force_login(world.a.staff["operator"])
    client.get(reverse("console:operator"), {"q": "solitaria.zqxb@example.cl"}, follow=True)
    client.force_login(world.a.staff["supervisor"])
    response = client.get(reverse("console:access-log"))
    assert response.status_code == 200
    assert b"citizen" in response.content or b"Persona" in response.content
    assert not leaks(response.content, world.b.secrets)


def test_staff_export_of_the_shared_person_holds_a_side_only(world):
    client = Client()
    client.force_login(world.a.staff["supervisor"])
    response = client.post(reverse("console:person-export", args=[world.a.shared_person.pk]),
                           {"reason": "solicitud en oficina"})
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert b"compartida.alfa" in response.content or leaks(response.content,
                                                           ["compartida.alfa"])
    assert not leaks(response.content, B_SIDE)


# --- not institution-scoped by design ------------------------------------------------------------

@pytest.mark.parametrize("role", ["operator", "triage", "supervisor", "sysadmin", "auditor"])
def test_admin_refuses_institution_staff(world, role):
    """The admin is installation-wide: institution staff (without ``is_staff``) never get
    in, whatever their role; B's rows are not listed to them."""
    client = Client()
    client.force_login(world.a.staff[role])
    for url in ("/admin/", "/admin/tickets/ticket/", f"/admin/tickets/ticket/{world.b.ticket.pk}"
                "/change/", "/admin/citizens/citizen/", "/admin/core/auditevent/"):
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"] or "/cuenta/" in response["Location"]
        assert not leaks(response.content, world.b.secrets)


def test_api_key_reads_only_its_own_catalog(world):
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {world.a.api_raw}"}
    for name in ("api:types", "api:topics", "api:requester_types", "api:organizations"):
        response = client.get(reverse(name), {"institution": world.b.institution.slug}, **auth)
        assert response.status_code == 200, name
        assert not leaks(response.content, ["ZQXB"]), name


def test_staff_session_reads_its_own_catalog_without_a_slug(world):
    client = Client()
    client.force_login(world.a.staff["triage"])
    response = client.get(reverse("api:topics"))
    assert response.status_code == 200
    assert b"Tema Alfa" in response.content and b"ZQXB" not in response.content


def test_staff_of_both_institutions_sees_each_in_its_own_context(world):
    """A person with a role in both is not "another institution" to either; the API acts
    in the named institution only."""
    user = UserFactory()
    MembershipFactory(user=user, institution=world.a.institution, role=Role.TRIAGE)
    MembershipFactory(user=user, institution=world.b.institution, role=Role.AUDITOR)
    client = Client()
    client.force_login(user)
    # Auditor in B: no ticket of B through the API or the console.
    response = client.get(reverse("api:ticket", args=[world.b.ticket.folio]))
    assert response.status_code == 404
    response = client.get(reverse("api:tickets"), {"institution": world.b.institution.slug})
    assert response.status_code == 403
    assert client.get(reverse("console:ticket", args=[world.b.ticket.folio])).status_code == 404
    assert client.get(reverse("console:ticket", args=[world.a.ticket.folio])).status_code == 200
