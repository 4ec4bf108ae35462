"""Every staff read of personal data is recorded, and supervisors review it."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import open_ticket
from tests.privacy.conftest import RUT, contact
from ventanilla.accounts.models import Role
from ventanilla.api.services import api_key_create
from ventanilla.core.models import AuditCategory, AuditEvent
from ventanilla.core.services import audit_record

pytestmark = pytest.mark.django_db

PERSONAL = AuditCategory.PERSONAL_DATA


def _events(action):
    return list(AuditEvent.objects.filter(action=action))


# --- recording ------------------------------------------------------------------------

def test_ticket_page_records_one_personal_data_event(client, catalog, member):
    ticket = open_ticket(catalog, contact=contact())
    user = member(Role.OPERATOR)
    client.force_login(user)
    assert client.get(reverse("console:ticket", args=[ticket.folio])).status_code == 200
    [event] = _events("ticket.viewed")
    assert (event.actor, event.category, event.subject_citizen_id, event.institution_id) == (
        user, PERSONAL, ticket.citizen_id, catalog["institution"].pk)


def test_person_page_records_the_person(client, catalog, member):
    ticket = open_ticket(catalog, contact=contact())
    client.force_login(member(Role.SUPERVISOR))
    response = client.get(reverse("console:citizen", args=[ticket.citizen_id]))
    assert response.status_code == 200
    [event] = _events("citizen.viewed")
    assert event.category == PERSONAL and event.subject_citizen_id == ticket.citizen_id
    # the page links to "who accessed this person's data" for a supervisor
    assert f"persona_id={ticket.citizen_id}" in response.content.decode()


def test_inbox_list_writes_no_audit_row(client, catalog, member):
    open_ticket(catalog, contact=contact())
    client.force_login(member(Role.TRIAGE))
    assert client.get(reverse("console:inbox")).status_code == 200
    assert not AuditEvent.objects.filter(category=PERSONAL).exists()


def test_api_reads_are_recorded_once_per_request(client, catalog, member):
    ticket = open_ticket(catalog, contact=contact())
    user = member(Role.TRIAGE)
    client.force_login(user)
    url = f"/api/v1/tickets/{ticket.folio}/"
    assert client.get(url).status_code == 200
    [event] = _events("api.ticket_read")
    assert event.actor == user and event.subject_citizen_id == ticket.citizen_id
    assert client.get("/api/v1/tickets/").status_code == 200
    [listed] = _events("api.ticket_list")
    assert listed.data["tickets"] == [ticket.pk] and listed.category == PERSONAL


def test_api_key_read_names_the_key(client, catalog):
    ticket = open_ticket(catalog, contact=contact())
    key, clear = api_key_create(institution=catalog["institution"], name="IVR")
    response = client.get(f"/api/v1/tickets/{ticket.folio}/", HTTP_X_API_KEY=clear)
    assert response.status_code == 200
    [event] = _events("api.ticket_read")
    assert event.actor is None and event.data["api_key"] == key.prefix
    assert clear not in str(event.data)


def test_categories_follow_the_action(catalog):
    ticket = open_ticket(catalog, contact=contact())
    note = audit_record(actor=None, action="ticket.status_changed", obj=ticket)
    read = audit_record(actor=None, action="ticket.viewed", obj=ticket)
    assert note.category == AuditCategory.OTHER and read.category == PERSONAL
    assert note.subject_citizen_id == ticket.citizen_id


# --- review ---------------------------------------------------------------------------

@pytest.fixture
def seen(client, catalog, other_catalog, member):
    """Two people; an operator read one ticket each; another institution's read too."""
    juana = open_ticket(catalog, contact=contact())
    pedro = open_ticket(catalog, contact=contact(full_name="Pedro Rojas", rut="111111111",
                                                 email="pedro@example.cl", phone=""))
    foreign = open_ticket(other_catalog, contact=contact())
    operator = member(Role.OPERATOR)
    for ticket in (juana, pedro):
        audit_record(actor=operator, action="ticket.viewed", obj=ticket,
                     institution=ticket.institution)
    outsider = member(Role.OPERATOR, institution=other_catalog["institution"])
    audit_record(actor=outsider, action="ticket.viewed", obj=foreign,
                 institution=foreign.institution)
    return {"juana": juana, "pedro": pedro, "foreign": foreign, "operator": operator,
            "outsider": outsider}


def _folios(response):
    return [row["folio"] for row in response.context["rows"]]


def test_supervisor_sees_only_own_institution(client, seen, member):
    client.force_login(member(Role.SUPERVISOR))
    response = client.get(reverse("console:access-log"))
    assert response.status_code == 200
    folios = _folios(response)
    assert set(folios) == {seen["juana"].folio, seen["pedro"].folio}
    assert seen["foreign"].folio not in response.content.decode()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.OPERATOR, Role.TRIAGE, Role.RESPONDER])
def test_other_roles_are_refused(client, seen, member, role):
    client.force_login(member(role))
    for name in ("console:access-log", "console:access-log-export",
                 "console:erasure-requests"):
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("console:person-export",
                              args=[seen["juana"].citizen_id])).status_code == 403


def test_filters(client, seen, member):
    client.force_login(member(Role.SYSADMIN))
    url = reverse("console:access-log")
    assert _folios(client.get(url, {"persona": RUT})) == [seen["juana"].folio]
    assert _folios(client.get(url, {"persona": "PEDRO@example.cl"})) == [seen["pedro"].folio]
    assert _folios(client.get(url, {"folio": seen["pedro"].folio.lower()})) == [
        seen["pedro"].folio]
    assert len(_folios(client.get(url, {"funcionario": seen["operator"].email}))) == 2
    assert _folios(client.get(url, {"funcionario": seen["outsider"].email})) == []
    assert _folios(client.get(url, {"accion": "citizen.viewed"})) == []
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert _folios(client.get(url, {"desde": tomorrow})) == []
    assert len(_folios(client.get(url, {"hasta": timezone.localdate().isoformat()}))) == 2
    # by person id (the link from the person's page), recorded as a look at that person
    response = client.get(url, {"persona_id": seen["juana"].citizen_id})
    assert _folios(response) == [seen["juana"].folio]
    assert AuditEvent.objects.filter(action="privacy.access_log_viewed",
                                     subject_citizen_id=seen["juana"].citizen_id).exists()


def test_bad_filters_are_a_clear_400(client, seen, member):
    client.force_login(member(Role.SUPERVISOR))
    url = reverse("console:access-log")
    response = client.get(url, {"persona": "12.345.678-9", "desde": "2026-13-40",
                                "folio": "<script>"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "dígito verificador" in text and "Revise lo siguiente" in text


def test_pagination(client, catalog, member):
    ticket = open_ticket(catalog, contact=contact())
    for _ in range(55):
        audit_record(actor=None, action="ticket.viewed", obj=ticket, institution=ticket.institution)
    client.force_login(member(Role.SUPERVISOR))
    first = client.get(reverse("console:access-log"))
    second = client.get(reverse("console:access-log"), {"page": 2})
    assert len(first.context["rows"]) == 50 and first.context["has_next"]
    assert len(second.context["rows"]) == 5 and not second.context["has_next"]


def test_csv_export_asks_a_reason_is_guarded_and_logged(client, catalog, member):
    ticket = open_ticket(catalog, contact=contact())
    audit_record(actor=None, action="privacy.person_exported", obj=ticket.citizen,
                 institution=ticket.institution, reason="=HYPERLINK(\"http://x\")")
    user = member(Role.SUPERVISOR)
    client.force_login(user)
    url = reverse("console:access-log-export") + "?categoria=todos"
    assert client.get(url).status_code == 200  # the reason form
    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 400
    assert not _events("privacy.access_log_exported")
    response = client.post(url, {"reason": "Auditoría interna trimestral"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Fecha"
    reasons = [row[5] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in reasons
    [logged] = _events("privacy.access_log_exported")
    assert logged.reason == "Auditoría interna trimestral" and logged.actor == user


def test_csv_export_needs_a_recent_password(client, catalog, member):
    client.force_login(member(Role.SUPERVISOR))
    session = client.session
    session.pop("ventanilla_reauth_at", None)
    session.save()
    response = client.post(reverse("console:access-log-export"), {"reason": "x"})
    assert response.status_code == 303 and "/cuenta/confirmar/" in response["Location"]
    assert not _events("privacy.access_log_exported")
