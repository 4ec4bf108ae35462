"""The console's triage queue and the triage / assignment actions on the ticket page."""

from datetime import timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import AreaFactory, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.catalog.models import AssignmentPolicy
from ventanilla.routing.services import triage_confirm
from ventanilla.tickets.models import EventKind, Ticket, TriageStatus

pytestmark = pytest.mark.django_db

QUEUE = reverse("console:triage")


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


@pytest.fixture
def becas(catalog):
    return AreaFactory(institution=catalog["institution"], name="Becas")


def queued(response) -> list[str]:
    return [row["ticket"].folio for row in response.context["rows"]]


@pytest.mark.parametrize("role", [Role.TRIAGE, Role.SUPERVISOR, Role.SYSADMIN])
def test_queue_open_to_triage_roles(login, catalog, staff, role):
    response = login(staff(role)).get(QUEUE)
    assert response.status_code == 200
    assert QUEUE in response.content.decode()  # the navigation link


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.RESPONDER, Role.AUDITOR])
def test_queue_closed_to_other_roles(login, catalog, staff, role):
    client = login(staff(role, areas=[catalog["area"]]))
    assert client.get(QUEUE).status_code == 403
    ticket = open_ticket(catalog)
    for name in ("triage-confirm", "triage-correct"):
        assert client.post(reverse(f"console:{name}", args=[ticket.folio])).status_code in (
            403, 404)
    assert client.post(reverse("console:triage-bulk"), {"ticket": [ticket.pk]}).status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).triage_status == TriageStatus.PENDING
    if role != Role.AUDITOR:
        inbox = client.get(reverse("console:inbox")).content.decode()
        assert QUEUE not in inbox


def test_anonymous_goes_to_login(client):
    response = client.get(QUEUE)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


def test_queue_lists_pending_oldest_first_with_the_rule(login, catalog, other_catalog, staff,
                                                        make_rule, becas):
    now = timezone.now()
    make_rule(area=becas, keywords="beca", name="Palabra beca")
    newer = open_ticket(catalog, received_at=now - timedelta(hours=1), subject="Mi beca")
    older = open_ticket(catalog, received_at=now - timedelta(hours=5))
    done = open_ticket(catalog, received_at=now - timedelta(hours=9))
    triage = staff()
    triage_confirm(ticket=done, actor=triage)
    open_ticket(catalog, ticket_type=catalog["suggestion"])  # type 1: never in triage
    open_ticket(other_catalog)  # another institution
    response = login(triage).get(QUEUE)
    assert queued(response) == [older.folio, newer.folio]
    content = response.content.decode()
    assert "Regla: Palabra beca" in content and "Área por defecto del tema" in content
    assert reverse("console:ticket", args=[older.folio]) in content
    assert reverse("console:triage-confirm", args=[newer.folio]) in content


def test_one_click_confirm(login, catalog, staff):
    ticket = open_ticket(catalog)
    client = login(staff())
    response = client.post(reverse("console:triage-confirm", args=[ticket.folio]), follow=True)
    assert response.redirect_chain[-1][0] == QUEUE
    assert "validado en" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).triage_status == TriageStatus.CONFIRMED
    assert queued(response) == []
    again = client.post(reverse("console:triage-confirm", args=[ticket.folio]), follow=True)
    assert "ya estaba validado" in again.content.decode()


def test_correct_from_the_queue(login, catalog, staff, becas):
    ticket = open_ticket(catalog)
    client = login(staff())
    prefix = f"c{ticket.pk}"
    response = client.post(reverse("console:triage-correct", args=[ticket.folio]),
                           {f"{prefix}-area": becas.pk, f"{prefix}-reason": "Es beca"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.area == becas and ticket.triage_status == TriageStatus.CONFIRMED
    assert ticket.events.filter(kind=EventKind.AREA_CHANGED, body="Es beca").exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"area": "", "reason": "x"}, "Elija el área."),
    ({"area": "becas", "reason": ""}, "Indique por qué corrige el área."),
    ({"area": "99999", "reason": "x"}, "Esa área no está disponible en esta institución."),
    ({"area": "other", "reason": "x"}, "Esa área no está disponible en esta institución."),
])
def test_correct_with_bad_input_shows_errors_and_changes_nothing(
        login, catalog, other_catalog, staff, becas, data, message):
    ticket = open_ticket(catalog)
    areas = {"becas": str(becas.pk), "other": str(other_catalog["area"].pk)}
    prefix = f"c{ticket.pk}"
    response = login(staff()).post(
        reverse("console:triage-correct", args=[ticket.folio]),
        {f"{prefix}-area": areas.get(data["area"], data["area"]),
         f"{prefix}-reason": data["reason"]})
    assert response.status_code == 200
    content = response.content.decode()
    assert "error-summary" in content and message in content
    ticket.refresh_from_db()
    assert ticket.area == catalog["area"] and ticket.triage_status == TriageStatus.PENDING


def test_bulk_confirm(login, catalog, other_catalog, staff):
    tickets = [open_ticket(catalog) for _ in range(3)]
    foreign = open_ticket(other_catalog)
    client = login(staff())
    response = client.post(reverse("console:triage-bulk"), {
        "ticket": [tickets[0].pk, tickets[2].pk, foreign.pk, "x"]}, follow=True)
    assert "Requerimientos validados: 2." in response.content.decode()
    states = dict(Ticket.objects.values_list("pk", "triage_status"))
    assert states[tickets[0].pk] == states[tickets[2].pk] == TriageStatus.CONFIRMED
    assert states[tickets[1].pk] == states[foreign.pk] == TriageStatus.PENDING
    assert queued(response) == [tickets[1].folio]
    empty = client.post(reverse("console:triage-bulk"), {}, follow=True)
    assert "Marque al menos un requerimiento." in empty.content.decode()


def test_get_on_post_urls_is_405(login, catalog, staff):
    ticket = open_ticket(catalog)
    client = login(staff())
    for name, args in [("triage-bulk", []), ("triage-confirm", [ticket.folio]),
                       ("triage-correct", [ticket.folio]), ("ticket-take", [ticket.folio]),
                       ("ticket-assign", [ticket.folio])]:
        assert client.get(reverse(f"console:{name}", args=args)).status_code == 405


def test_queue_is_paginated(login, catalog, staff):
    start = timezone.now() - timedelta(days=2)
    tickets = [open_ticket(catalog, received_at=start + timedelta(minutes=n)) for n in range(27)]
    client = login(staff())
    first = client.get(QUEUE)
    assert queued(first) == [t.folio for t in tickets[:25]] and first.context["has_next"]
    second = client.get(QUEUE, {"page": 2})
    assert queued(second) == [t.folio for t in tickets[25:]]
    assert not second.context["has_next"]


def test_query_count_does_not_grow_with_rows(login, catalog, staff, make_rule, becas):
    make_rule(area=becas, keywords="beca")
    client = login(staff())

    def count():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(QUEUE)
        assert response.status_code == 200
        return len(captured), len(response.context["rows"])

    open_ticket(catalog, subject="beca")
    few, rows = count()
    for n in range(6):
        open_ticket(catalog, subject="beca" if n % 2 else "otra cosa")
    many, more_rows = count()
    assert (rows, more_rows) == (1, 7)
    assert many == few


# --- ticket page actions -----------------------------------------------------------------------

def render_actions(user, ticket) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("console/triage/ticket_actions.html", {"ticket": ticket},
                            request=request)


def test_ticket_actions_for_triage_on_a_pending_ticket(catalog, staff):
    ticket = open_ticket(catalog)
    html = render_actions(staff(), ticket)
    assert reverse("console:triage-confirm", args=[ticket.folio]) in html
    assert reverse("console:triage-correct", args=[ticket.folio]) in html
    assert reverse("console:ticket-assign", args=[ticket.folio]) in html


def test_ticket_actions_for_a_responder(catalog, staff):
    ticket = open_ticket(catalog)
    triage_confirm(ticket=ticket, actor=staff())
    ticket.refresh_from_db()
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    html = render_actions(responder, ticket)
    assert reverse("console:ticket-take", args=[ticket.folio]) in html
    assert reverse("console:triage-confirm", args=[ticket.folio]) not in html
    assert reverse("console:ticket-assign", args=[ticket.folio]) not in html


def test_ticket_actions_hidden_from_an_operator(catalog, staff):
    ticket = open_ticket(catalog)
    assert render_actions(staff(Role.OPERATOR), ticket).strip() == ""


def test_take_and_assign_views(login, catalog, staff, client):
    ticket = open_ticket(catalog)
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    triage = staff()
    login(triage)
    page = reverse("console:ticket", args=[ticket.folio])
    response = client.post(reverse("console:ticket-assign", args=[ticket.folio]),
                           {"assign-assignee": responder.pk}, follow=True)
    assert response.redirect_chain[-1][0] == page
    assert Ticket.objects.get(pk=ticket.pk).assignee == responder
    response = client.post(reverse("console:ticket-assign", args=[ticket.folio]),
                           {"assign-assignee": triage.pk}, follow=True)
    assert "no es integrante activa del área" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).assignee == responder
    client.post(reverse("console:ticket-take", args=[ticket.folio]))
    assert Ticket.objects.get(pk=ticket.pk).assignee == triage


def test_responder_take_view_respects_triage(login, catalog, staff):
    ticket = open_ticket(catalog)
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    client = login(responder)
    url = reverse("console:ticket-take", args=[ticket.folio])
    assert client.post(url).status_code == 404  # pending: not the area's yet
    triage_confirm(ticket=ticket, actor=staff())
    assert client.post(url).status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).assignee == responder


def test_confirm_from_the_ticket_page_returns_there(login, catalog, staff):
    from ventanilla.catalog.models import Area

    Area.objects.filter(pk=catalog["area"].pk).update(
        assignment_policy=AssignmentPolicy.ROUND_ROBIN)
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    ticket = open_ticket(catalog)
    response = login(staff()).post(reverse("console:triage-confirm", args=[ticket.folio]),
                                   {"next": "ticket"})
    assert response["Location"] == reverse("console:ticket", args=[ticket.folio])
    assert Ticket.objects.get(pk=ticket.pk).assignee == responder
