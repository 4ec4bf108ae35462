from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.console.helpers import confirmed
from tests.factories import AreaFactory, TopicFactory, channel, make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import AuditEvent
from ventanilla.core.rut import rut_normalize
from ventanilla.tickets.services import (
    ticket_add_citizen_message,
    ticket_add_note,
    ticket_change_area,
    ticket_change_status,
    ticket_reply,
)

pytestmark = pytest.mark.django_db


def test_ticket_page_shows_facts_person_history_and_whole_timeline(login, catalog, staff):
    triage = staff(Role.TRIAGE)
    child = TopicFactory(institution=catalog["institution"], parent=catalog["topic"],
                         name="Colación", default_area=catalog["area"])
    contact = ContactData(full_name="Pedro Araya", email="pedro@example.cl",
                          phone="+56 9 8765 4321", rut=rut_normalize("12.345.678-5"))
    earlier = open_ticket(catalog, contact=contact, subject="Reclamo anterior",
                          received_at=timezone.now() - timedelta(days=30))
    ticket = open_ticket(catalog, contact=contact, topic=child, urgency="high")
    other_institution = open_ticket(make_catalog(), contact=contact)
    ticket_add_note(ticket=ticket, actor=triage, body="Revisar con el proveedor")
    ticket_reply(ticket=ticket, actor=triage, body="Estamos revisando su caso")
    ticket_change_status(ticket=ticket, actor=triage, to_status="waiting_citizen")
    ticket_add_citizen_message(ticket=ticket, body="Adjunto más datos", channel=channel("web"))
    becas = AreaFactory(institution=catalog["institution"], name="Área Becas")
    ticket_change_area(ticket=ticket, actor=triage, area=becas, reason="Corresponde a becas")

    response = login(triage).get(reverse("console:ticket", args=[ticket.folio]))
    assert response.status_code == 200
    content = response.content.decode()
    assert child.full_name.startswith("PAE Básica-Media")
    for text in (ticket.folio, catalog["institution"].name, "Reclamo",
                 child.full_name, "Formulario web", "Apoderado",
                 catalog["organization"].name, "Región Metropolitana", "Santiago", "Alta",
                 "Área Becas", "Pedro Araya", "12.345.678-5", "pedro@example.cl",
                 "+56 9 8765 4321"):
        assert text in content, text
    # Other tickets of the same person in this institution only.
    assert reverse("console:ticket", args=[earlier.folio]) in content
    assert other_institution.folio not in content
    # The whole timeline, internal entries marked.
    kinds = [entry.event.kind for entry in response.context["timeline"]]
    assert kinds == ["created", "note", "reply", "status_changed", "sla_paused",
                     "status_changed", "citizen_message", "sla_resumed", "status_changed",
                     "area_changed"]
    for text in ("Revisar con el proveedor", "Estamos revisando su caso", "Adjunto más datos",
                 "Corresponde a becas", "Interno: no lo ve la persona", "Ciudadano",
                 "Recibido → En proceso", "En proceso → Esperando a la persona",
                 "Esperando a la persona → En proceso", "Área PAE → Área Becas", "Sistema"):
        assert text in content, text
    internal = [e for e in response.context["timeline"] if e.is_internal]
    assert {e.event.kind for e in internal} == {"note", "area_changed", "sla_paused",
                                                "sla_resumed"}
    assert str(triage) in content


def test_times_are_shown_in_chile_time(login, catalog, staff):
    from datetime import UTC, datetime

    received = datetime(2026, 1, 15, 15, 30, tzinfo=UTC)  # 12:30 in Santiago (summer, UTC-3)
    ticket = open_ticket(catalog, received_at=received)
    content = login(staff(Role.TRIAGE)).get(
        reverse("console:ticket", args=[ticket.folio])).content.decode()
    assert "15-01-2026 12:30" in content
    inbox = login(staff(Role.TRIAGE)).get(reverse("console:inbox")).content.decode()
    assert "15-01-2026 12:30" in inbox


def test_viewing_a_ticket_is_audited(login, catalog, staff):
    ticket = open_ticket(catalog)
    user = staff(Role.OPERATOR)
    login(user).get(reverse("console:ticket", args=[ticket.folio]))
    event = AuditEvent.objects.get(action="ticket.viewed")
    assert event.actor == user
    assert event.object_id == str(ticket.pk)
    assert event.institution == catalog["institution"]


def test_denied_view_is_not_audited(login, catalog, other_catalog, staff):
    ticket = open_ticket(catalog)
    login(staff(Role.TRIAGE, institution=other_catalog["institution"])).get(
        reverse("console:ticket", args=[ticket.folio]))
    assert not AuditEvent.objects.filter(action="ticket.viewed").exists()


def test_folio_is_case_insensitive(login, catalog, staff):
    ticket = open_ticket(catalog)
    response = login(staff(Role.TRIAGE)).get(
        reverse("console:ticket", args=[ticket.folio.lower()]))
    assert response.status_code == 200
    assert response.context["ticket"] == ticket


@pytest.mark.parametrize("role,forms", [
    (Role.OPERATOR, {"note"}),
    (Role.RESPONDER, {"note", "reply", "status"}),
    (Role.TRIAGE, {"note", "reply", "status", "area"}),
    (Role.SUPERVISOR, {"note", "reply", "status", "area"}),
])
def test_forms_follow_the_role(login, catalog, staff, role, forms):
    ticket = confirmed(open_ticket(catalog))
    response = login(staff(role, areas=[catalog["area"]])).get(
        reverse("console:ticket", args=[ticket.folio]))
    shown = {name for name in ("note", "reply", "status", "area")
             if response.context[f"{name}_form"] is not None}
    assert shown == forms
    content = response.content.decode()
    for name in ("note", "reply", "status", "area"):
        assert (reverse(f"console:ticket-{name}", args=[ticket.folio]) in content) == (
            name in forms)
