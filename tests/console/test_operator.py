"""Operator console (phone line and office counter): lookup, history, tickets on a person's
behalf, messages on open tickets, contacts solved on the spot."""

import pytest
from django.urls import reverse

from tests.factories import channel, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.citizens.services import ContactData
from ventanilla.console.models import DraftKind, OperatorDraft
from ventanilla.core.models import AuditEvent
from ventanilla.tickets.models import (
    EventKind,
    Interaction,
    InteractionKind,
    Status,
    Ticket,
    TicketEvent,
)
from ventanilla.tickets.services import interaction_record_tracking, ticket_change_status

pytestmark = pytest.mark.django_db

HOME = reverse("console:operator")
RUT = "125319092"  # 12.531.909-2


def _person_url(citizen):
    return reverse("console:operator-person", args=[citizen.pk])


@pytest.fixture
def juana(catalog):
    """A person with a web ticket, a phone ticket and a self-service status lookup."""
    contact = ContactData(full_name="Juana Soto", email="juana@example.cl",
                          phone="+56 9 8765 4321", rut=RUT)
    web = open_ticket(catalog, contact=contact, subject="Por la web")
    open_ticket(catalog, contact=contact, subject="Por teléfono", channel=channel("phone"))
    interaction_record_tracking(ticket=web, channel=catalog["web"])
    return web.citizen


@pytest.fixture
def operator(staff, login):
    return login(staff(Role.OPERATOR))


def _ticket_post(catalog, **overrides):
    org = catalog["organization"]
    data = {
        "channel": "phone", "full_name": "Juana Soto", "rut": "12.531.909-2",
        "email": "juana@example.cl", "phone": "+56 9 8765 4321",
        "requester_type": str(catalog["requester_type"].pk), "region": org.region_id,
        "comuna": org.comuna_id, "organization": str(org.pk),
        "ticket_type": str(catalog["complaint"].pk), "topic": str(catalog["topic"].pk),
        "urgency": "medium", "subject": "Colación fría",
        "detail": "Llamó para contar que la colación llegó fría.",
        "idempotency_key": "6f1c1d0e-2a35-4c8e-9d55-0a0b0c0d0e0f",
    }
    data.update(overrides)
    return data


# --- access --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", [Role.OPERATOR, Role.TRIAGE, Role.SUPERVISOR, Role.SYSADMIN])
def test_roles_that_take_calls_open_the_console(role, staff, login, juana):
    client = login(staff(role))
    assert client.get(HOME).status_code == 200
    assert client.get(_person_url(juana)).status_code == 200
    # The navigation links to the console.
    assert HOME in client.get(reverse("console:inbox")).content.decode()


@pytest.mark.parametrize("role", [Role.RESPONDER, Role.AUDITOR])
def test_other_roles_are_refused(role, staff, login, juana):
    client = login(staff(role))
    for url in (HOME, _person_url(juana), reverse("console:operator-ticket-new", args=[juana.pk]),
                reverse("console:operator-attended-unknown")):
        response = client.get(url)
        assert response.status_code == 403
    response = client.post(reverse("console:operator-draft"), data="{}",
                           content_type="application/json")
    assert response.status_code == 403
    assert not OperatorDraft.objects.exists()


def test_anonymous_goes_to_login(client):
    response = client.get(HOME)
    assert response.status_code == 302 and "/cuenta/ingresar/" in response["Location"]


def test_role_counts_in_the_active_institution_only(staff, login, catalog, other_catalog):
    user = staff(Role.RESPONDER)
    staff(Role.OPERATOR, institution=other_catalog["institution"], user=user)
    client = login(user)
    assert client.get(HOME).status_code in (200, 403)
    client.post(reverse("console:switch-institution"),
                {"institution": str(other_catalog["institution"].pk)})
    assert client.get(HOME).status_code == 200
    client.post(reverse("console:switch-institution"),
                {"institution": str(catalog["institution"].pk)})
    assert client.get(HOME).status_code == 403


def test_search_box_is_focused_and_has_an_access_key(operator):
    content = operator.get(HOME).content.decode()
    assert 'id="operator-lookup-q"' in content and 'accesskey="b"' in content
    assert "autofocus" in content
    assert "<script>" not in content and "style=" not in content  # CSP: no inline code


# --- lookup --------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["12.531.909-2", "12531909-2", "125319092", " 12.531.909-2 ",
                                   "12531909-2".lower()])
def test_lookup_by_rut_in_any_format_goes_to_the_history(query, operator, juana):
    response = operator.get(HOME, {"q": query})
    assert response.status_code == 302
    assert response["Location"].startswith(_person_url(juana))


@pytest.mark.parametrize("query", ["+56 9 8765 4321", "987654321", "56987654321",
                                   "+56987654321", "9 8765 4321", "(+56) 9-8765-4321"])
def test_lookup_by_phone_in_any_format(query, operator, juana):
    response = operator.get(HOME, {"q": query})
    assert response.status_code == 302
    assert response["Location"].startswith(_person_url(juana))


def test_lookup_by_email_ignores_case_and_spaces(operator, juana):
    response = operator.get(HOME, {"q": "  JUANA@Example.CL "})
    assert response.status_code == 302
    assert response["Location"].startswith(_person_url(juana))


def test_lookup_matches_the_record_phone_without_identity(operator):
    person = Citizen.objects.create(full_name="Pedro Rojas", phone="+56 9 1111 2222")
    assert not ChannelIdentity.objects.filter(citizen=person).exists()
    response = operator.get(HOME, {"q": "911112222"})
    assert response["Location"].startswith(_person_url(person))


def test_lookup_matches_a_whatsapp_identity(operator):
    person = Citizen.objects.create(full_name="Rosa Díaz")
    ChannelIdentity.objects.create(citizen=person, kind=IdentityKind.WHATSAPP,
                                   value="56922223333")
    response = operator.get(HOME, {"q": "+56 9 2222 3333"})
    assert response["Location"].startswith(_person_url(person))


def test_lookup_lists_several_people_and_skips_merged_records(operator):
    first = Citizen.objects.create(full_name="Ana Uno", email="compartido@example.cl")
    second = Citizen.objects.create(full_name="Ana Dos", email="compartido@example.cl")
    merged = Citizen.objects.create(full_name="Ana Fusionada", email="compartido@example.cl",
                                    merged_into=first)
    response = operator.get(HOME, {"q": "compartido@example.cl"})
    assert response.status_code == 200
    found = {match.citizen.pk for match in response.context["matches"]}
    assert found == {first.pk, second.pk}
    content = response.content.decode()
    assert "Ana Uno" in content and "Ana Dos" in content and merged.full_name not in content
    assert "data-operator-results" in content
    assert AuditEvent.objects.filter(action="citizen.lookup").count() == 1


def test_unknown_person_offers_a_new_ticket_with_the_typed_data(operator, catalog):
    response = operator.get(HOME, {"q": "+56 9 5555 4444"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "No encontramos" in content
    new_url = reverse("console:operator-ticket-new-unknown")
    assert new_url in content
    form = operator.get(new_url, {"q": "+56 9 5555 4444"}).context["form"]
    assert form["phone"].value() == "+56 9 5555 4444"
    form = operator.get(new_url, {"q": "12.531.909-2"}).context["form"]
    assert form["rut"].value() == "12.531.909-2" and not form["phone"].value()


@pytest.mark.parametrize("query", ["", "hola", "12.345.678-9", "@", "x" * 300])
def test_lookup_bad_input_is_a_spanish_error(query, operator):
    response = operator.get(HOME, {"q": query})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Revise lo siguiente" in content
    assert not response.context["matches"]


# --- history -------------------------------------------------------------------------------------

def test_history_shows_every_channel_of_this_institution_only(operator, juana, catalog,
                                                              other_catalog):
    foreign = open_ticket(other_catalog, contact=ContactData(
        full_name="Juana Soto", email="juana@example.cl", rut=RUT), subject="En otra")
    assert foreign.citizen_id == juana.pk
    response = operator.get(_person_url(juana))
    content = response.content.decode()
    tickets = Ticket.objects.filter(institution=catalog["institution"], citizen=juana)
    for ticket in tickets:
        assert ticket.folio in content
    assert foreign.folio not in content
    channels = {entry.channel.code for entry in response.context["timeline"]}
    assert channels == {"web", "phone"}
    assert len(response.context["timeline"]) == 3
    stamps = [entry.occurred_at for entry in response.context["timeline"]]
    assert stamps == sorted(stamps, reverse=True)
    assert "Autoatención" in content and "Asistido" in content
    assert AuditEvent.objects.filter(action="citizen.viewed",
                                     object_id=str(juana.pk)).count() == 1
    # The three actions, with their access keys.
    for key in ('accesskey="n"', 'accesskey="a"', 'accesskey="r"'):
        assert key in content


def test_unknown_person_is_404(operator):
    assert operator.get(reverse("console:operator-person", args=[999999])).status_code == 404


def test_people_unknown_here_are_reached_only_through_the_lookup(operator, other_catalog):
    stranger = open_ticket(other_catalog, contact=ContactData(
        full_name="Otra Persona", email="otra@example.cl")).citizen
    urls = [_person_url(stranger),
            reverse("console:operator-ticket-new", args=[stranger.pk]),
            reverse("console:operator-attended", args=[stranger.pk])]
    for url in urls:  # person ids cannot be browsed
        assert operator.get(url).status_code == 404
    response = operator.post(reverse("console:operator-draft"), content_type="application/json",
                             data={"kind": "attended", "citizen": stranger.pk, "fields": {}})
    assert response.status_code == 404
    found = operator.get(HOME, {"q": "otra@example.cl"})
    assert found["Location"].startswith(_person_url(stranger))
    page = operator.get(_person_url(stranger))
    assert page.status_code == 200
    assert not page.context["tickets"]  # the other institution's ticket stays hidden
    for url in urls[1:]:
        assert operator.get(url).status_code == 200


def test_merged_record_leads_to_the_kept_one(operator, juana):
    old = Citizen.objects.create(full_name="Juana S.", merged_into=juana)
    response = operator.get(_person_url(old))
    assert response.status_code == 302 and response["Location"] == _person_url(juana)


# --- new ticket on the person's behalf -----------------------------------------------------------

def test_new_ticket_form_is_prefilled_with_the_person(operator, juana):
    form = operator.get(reverse("console:operator-ticket-new", args=[juana.pk])).context["form"]
    assert form["full_name"].value() == "Juana Soto"
    assert form["rut"].value() == "12.531.909-2"
    assert form["email"].value() == "juana@example.cl"
    assert form["channel"].value() == "phone"


def test_new_ticket_on_behalf_records_channel_and_operator(staff, login, juana, catalog):
    user = staff(Role.OPERATOR)
    client = login(user)
    url = reverse("console:operator-ticket-new", args=[juana.pk])
    OperatorDraft.objects.create(user=user, institution=catalog["institution"],
                                 kind=DraftKind.TICKET_NEW, citizen=juana,
                                 scope=str(juana.pk), data={"subject": "borrador"})
    response = client.post(url, _ticket_post(catalog, channel="in_person",
                                              email="otro@example.cl"))
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Colación fría")
    assert response["Location"] == reverse("console:operator-done", args=[ticket.folio])
    assert ticket.channel.code == "in_person"
    assert ticket.created_by == user
    assert ticket.citizen == juana  # the person looked up, even with another e-mail typed
    assert ticket.contact_email == "otro@example.cl"
    opened = Interaction.objects.get(ticket=ticket, kind=InteractionKind.TICKET_OPENED)
    assert opened.is_self_service is False and opened.channel.code == "in_person"
    assert not OperatorDraft.objects.exists()  # the draft went with the submission
    done = client.get(response["Location"])
    assert ticket.folio in done.content.decode()
    assert "data-clear-drafts" in done.content.decode()  # the browser forgets its copy
    # The channel is remembered for the session.
    form = client.get(url).context["form"]
    assert form["channel"].value() == "in_person"
    # A double submit creates one ticket.
    client.post(url, _ticket_post(catalog, channel="in_person"))
    assert Ticket.objects.filter(subject="Colación fría").count() == 1


def test_new_person_with_phone_only(operator, catalog):
    url = reverse("console:operator-ticket-new-unknown")
    response = operator.post(url, _ticket_post(catalog, full_name="Luis Mora", rut="",
                                               email="", phone="+56 9 4444 3333"))
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Colación fría")
    assert ticket.citizen.full_name == "Luis Mora"
    assert ticket.channel.code == "phone" and ticket.contact_email == ""
    assert ChannelIdentity.objects.filter(kind=IdentityKind.PHONE, value="56944443333",
                                          citizen=ticket.citizen).exists()


def test_new_ticket_bad_input_is_spanish_and_kept_as_draft(staff, login, catalog, juana):
    user = staff(Role.OPERATOR)
    client = login(user)
    url = reverse("console:operator-ticket-new", args=[juana.pk])
    response = client.post(url, _ticket_post(catalog, email="", phone="", channel="web",
                                              rut="12.345.678-9", topic="999999",
                                              subject="  "))
    assert response.status_code == 400
    content = response.content.decode()
    assert "Revise lo siguiente" in content
    assert "Elija teléfono o atención presencial." in content
    assert "dígito verificador" in content
    assert "Escriba un asunto." in content
    assert not Ticket.objects.filter(subject__startswith="Colación").exists()
    draft = OperatorDraft.objects.get(user=user)  # no JavaScript: kept on submit errors
    assert draft.data["detail"] == "Llamó para contar que la colación llegó fría."
    response = client.post(url, _ticket_post(catalog, email="", phone=""))
    assert "Indique un correo o un teléfono" in response.content.decode()


# --- add to an open ticket -----------------------------------------------------------------------

def test_add_to_open_ticket_records_the_persons_words(staff, login, juana, catalog):
    user = staff(Role.OPERATOR)
    client = login(user)
    tickets = list(Ticket.objects.filter(citizen=juana).order_by("pk"))
    closer = staff(Role.SUPERVISOR)
    closed, still_open = tickets
    closed.root_cause, closed.corrective_action = "x", "y"
    closed.save()
    ticket_change_status(ticket=closed, actor=closer, to_status=Status.CLOSED, reason="fin")
    url = reverse("console:operator-ticket-add", args=[juana.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert [str(t) for t, _label in page.context["form"].fields["ticket"].choices] == [
        str(still_open.pk)]
    # A closed ticket is not a valid choice.
    refused = client.post(url, {"channel": "phone", "ticket": str(closed.pk), "body": "Hola"})
    assert refused.status_code == 400
    assert "Elija un requerimiento abierto" in refused.content.decode()
    response = client.post(url, {"channel": "phone", "ticket": str(still_open.pk),
                                 "body": "  Llamó: la colación sigue llegando fría.  "})
    assert response.status_code == 302 and response["Location"] == _person_url(juana)
    event = TicketEvent.objects.get(ticket=still_open, kind=EventKind.CITIZEN_MESSAGE)
    assert event.body == "Llamó: la colación sigue llegando fría."
    assert event.data == {"channel": "phone", "recorded_by": user.pk}
    message = Interaction.objects.get(ticket=still_open, kind=InteractionKind.MESSAGE)
    assert message.channel.code == "phone" and message.is_self_service is False


def test_add_without_open_tickets_goes_back_to_the_history(operator, catalog):
    person = open_ticket(catalog, ticket_type=catalog["suggestion"]).citizen  # closed at once
    response = operator.get(reverse("console:operator-ticket-add", args=[person.pk]))
    assert response.status_code == 302 and response["Location"] == _person_url(person)


@pytest.mark.parametrize("data", [{}, {"channel": "sms", "ticket": "abc", "body": ""},
                                  {"channel": "phone", "ticket": "1' OR 1=1", "body": "x"}])
def test_add_bad_input_is_spanish(data, operator, juana):
    response = operator.post(reverse("console:operator-ticket-add", args=[juana.pk]), data)
    assert response.status_code == 400
    assert "Revise lo siguiente" in response.content.decode()
    assert not TicketEvent.objects.filter(kind=EventKind.CITIZEN_MESSAGE).exists()


# --- contacts solved on the spot -----------------------------------------------------------------

def test_attended_without_ticket_is_an_assisted_interaction(staff, login, juana, catalog):
    user = staff(Role.OPERATOR)
    client = login(user)
    response = client.post(reverse("console:operator-attended", args=[juana.pk]),
                           {"channel": "in_person", "ticket": "",
                            "summary": "Consultó el horario de atención."})
    assert response.status_code == 302
    row = Interaction.objects.get(kind=InteractionKind.ATTENDED)
    assert row.is_self_service is False and row.channel.code == "in_person"
    assert row.citizen == juana and row.ticket is None
    assert row.institution == catalog["institution"]
    assert row.data == {"operator_id": user.pk, "summary": "Consultó el horario de atención."}
    assert AuditEvent.objects.filter(action="interaction.attended",
                                     object_id=str(row.pk)).exists()
    # It shows in the person's history.
    labels = [e.label for e in client.get(_person_url(juana)).context["timeline"]]
    assert "Atención resuelta en el momento" in labels


def test_attended_tied_to_a_ticket_leaves_a_note(staff, login, juana):
    client = login(staff(Role.OPERATOR))
    ticket = Ticket.objects.filter(citizen=juana).first()
    response = client.post(reverse("console:operator-attended", args=[juana.pk]),
                           {"channel": "phone", "ticket": str(ticket.pk),
                            "summary": "Se le explicó el estado."})
    assert response.status_code == 302
    row = Interaction.objects.get(kind=InteractionKind.ATTENDED)
    assert row.ticket == ticket and row.is_self_service is False
    note = TicketEvent.objects.get(ticket=ticket, kind=EventKind.NOTE)
    assert "Se le explicó el estado." in note.body and not note.is_public


def test_attended_anonymous(operator, catalog):
    response = operator.post(reverse("console:operator-attended-unknown"),
                             {"channel": "phone", "summary": "Preguntó por un trámite."})
    assert response.status_code == 302 and response["Location"] == HOME
    row = Interaction.objects.get(kind=InteractionKind.ATTENDED)
    assert row.citizen is None and row.ticket is None and row.is_self_service is False


def test_attended_refuses_another_persons_ticket(operator, juana, catalog):
    other = open_ticket(catalog, email="otra@example.cl", subject="Ajeno")
    response = operator.post(reverse("console:operator-attended", args=[juana.pk]),
                             {"channel": "phone", "ticket": str(other.pk), "summary": "x"})
    assert response.status_code == 400
    assert not Interaction.objects.filter(kind=InteractionKind.ATTENDED).exists()


@pytest.mark.parametrize("data", [{}, {"channel": "web", "summary": "x"},
                                  {"channel": "phone", "summary": "   "},
                                  {"channel": "phone", "summary": "x" * 2001}])
def test_attended_bad_input_is_spanish(data, operator):
    response = operator.post(reverse("console:operator-attended-unknown"), data)
    assert response.status_code == 400
    assert "Revise lo siguiente" in response.content.decode()
    assert not Interaction.objects.filter(kind=InteractionKind.ATTENDED).exists()
