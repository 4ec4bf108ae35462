from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import AreaFactory, channel, open_ticket
from tests.tickets.helpers import PDF_BYTES, staff, upload
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import AuditEvent
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import (
    EventKind,
    Interaction,
    InteractionKind,
    Status,
    Ticket,
    TicketEvent,
)
from ventanilla.tickets.services import (
    interaction_record_tracking,
    ticket_add_citizen_message,
    ticket_add_note,
    ticket_change_area,
    ticket_change_status,
    ticket_reply,
)
from ventanilla.tickets.uploads import check_upload_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def triage(catalog):
    return staff(catalog["institution"], Role.TRIAGE)


def _replies(ticket):
    return OutboundMessage.objects.filter(ticket=ticket).exclude(dedupe_key__endswith="-received")


# --- ticket_reply ---------------------------------------------------------------------------

def test_reply_writes_public_event_and_moves_new_to_in_progress(catalog, triage):
    ticket = open_ticket(catalog)
    event = ticket_reply(ticket=ticket, actor=triage, body="  Estamos revisando su caso.  ")
    ticket.refresh_from_db()
    assert event.kind == EventKind.REPLY
    assert event.is_public is True
    assert event.body == "Estamos revisando su caso."
    assert event.actor == triage
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.first_answered_at == event.created_at
    change = ticket.events.get(kind=EventKind.STATUS_CHANGED)
    assert (change.from_status, change.to_status) == (Status.NEW, Status.IN_PROGRESS)
    assert AuditEvent.objects.filter(action="ticket.replied", object_id=str(ticket.pk)).count() == 1


def test_reply_sets_first_answered_at_only_once(catalog, triage):
    ticket = open_ticket(catalog)
    first = ticket_reply(ticket=ticket, actor=triage, body="Primera respuesta")
    ticket_reply(ticket=ticket, actor=triage, body="Segunda respuesta")
    ticket.refresh_from_db()
    assert ticket.first_answered_at == first.created_at
    assert ticket.events.filter(kind=EventKind.STATUS_CHANGED).count() == 1


def test_reply_enqueues_exactly_one_email_per_reply(catalog, triage):
    ticket = open_ticket(catalog)
    event = ticket_reply(ticket=ticket, actor=triage, body="Respuesta con detalle")
    messages = list(_replies(ticket))
    assert len(messages) == 1
    assert messages[0].dedupe_key == f"ticket-{ticket.pk}-reply-{event.pk}"
    assert messages[0].recipient == "juana@example.cl"
    assert "Respuesta con detalle" in messages[0].body_text
    ticket_reply(ticket=ticket, actor=triage, body="Otra")
    assert _replies(ticket).count() == 2


def test_reply_without_email_enqueues_nothing(catalog, triage):
    ticket = open_ticket(catalog, contact=ContactData(full_name="Sin Correo", phone="912345678"))
    ticket_reply(ticket=ticket, actor=triage, body="Le llamaremos.")
    assert not OutboundMessage.objects.filter(ticket=ticket).exists()


def test_reply_then_status(catalog, triage):
    ticket = open_ticket(catalog)
    ticket_reply(ticket=ticket, actor=triage, body="Necesitamos su dirección.",
                 then_status=Status.WAITING_CITIZEN)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CITIZEN
    ticket_reply(ticket=ticket, actor=triage, body="Respuesta final.", then_status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.closed_at is not None


def test_reply_with_invalid_then_status_stores_nothing(catalog, triage):
    ticket = open_ticket(catalog)
    with pytest.raises(ValidationError):
        ticket_reply(ticket=ticket, actor=triage, body="Hola", then_status="bogus")
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert ticket.first_answered_at is None
    assert not ticket.events.filter(kind=EventKind.REPLY).exists()
    assert not _replies(ticket).exists()


def test_reply_refused_on_closed_ticket(catalog, triage):
    ticket = open_ticket(catalog)
    ticket_change_status(ticket=ticket, actor=triage, to_status=Status.CLOSED)
    with pytest.raises(ValidationError) as exc_info:
        ticket_reply(ticket=ticket, actor=triage, body="Tarde")
    assert "cerrado" in exc_info.value.message_dict["body"][0]
    assert not ticket.events.filter(kind=EventKind.REPLY).exists()
    assert not _replies(ticket).filter(dedupe_key__contains="-reply-").exists()


def test_reply_requires_a_body(catalog, triage):
    ticket = open_ticket(catalog)
    with pytest.raises(ValidationError) as exc_info:
        ticket_reply(ticket=ticket, actor=triage, body="   ")
    assert "body" in exc_info.value.message_dict


def test_reply_with_attachment(catalog, triage):
    ticket = open_ticket(catalog)
    files = check_upload_list([upload("respuesta.pdf", PDF_BYTES)])
    event = ticket_reply(ticket=ticket, actor=triage, body="Adjunto carta.", attachments=files)
    assert list(event.attachments.values_list("original_name", flat=True)) == ["respuesta.pdf"]


# --- ticket_add_note ------------------------------------------------------------------------

def test_note_is_internal(catalog, triage):
    ticket = open_ticket(catalog)
    event = ticket_add_note(ticket=ticket, actor=triage, body=" Llamar al colegio. ")
    assert event.kind == EventKind.NOTE
    assert event.is_public is False
    assert event.body == "Llamar al colegio."
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not _replies(ticket).exists()


def test_note_requires_a_body(catalog, triage):
    ticket = open_ticket(catalog)
    with pytest.raises(ValidationError):
        ticket_add_note(ticket=ticket, actor=triage, body="")
    assert not ticket.events.filter(kind=EventKind.NOTE).exists()


# --- ticket_add_citizen_message -------------------------------------------------------------

def test_citizen_message_moves_waiting_to_in_progress(catalog, triage):
    ticket = open_ticket(catalog)
    ticket_change_status(ticket=ticket, actor=triage, to_status=Status.WAITING_CITIZEN)
    event = ticket_add_citizen_message(ticket=ticket, body="Mi dirección es…",
                                       channel=channel("web"))
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    assert event.kind == EventKind.CITIZEN_MESSAGE
    assert event.is_public is True
    assert event.actor is None
    change = ticket.events.filter(kind=EventKind.STATUS_CHANGED).last()
    assert (change.from_status, change.to_status) == (Status.WAITING_CITIZEN, Status.IN_PROGRESS)
    interaction = Interaction.objects.get(ticket=ticket, kind=InteractionKind.MESSAGE)
    assert interaction.is_self_service is True
    assert interaction.citizen_id == ticket.citizen_id


def test_citizen_message_on_recently_closed_ticket_reopens_it(catalog, triage):
    ticket = open_ticket(catalog)
    ticket_change_status(ticket=ticket, actor=triage, to_status=Status.CLOSED)
    ticket_add_citizen_message(ticket=ticket, body="Gracias", channel=channel("email"))
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    interaction = Interaction.objects.get(ticket=ticket, kind=InteractionKind.MESSAGE)
    assert interaction.channel.code == "email"


def test_citizen_message_long_after_closing_keeps_it_closed(catalog, triage, settings):
    ticket = open_ticket(catalog)
    ticket_change_status(ticket=ticket, actor=triage, to_status=Status.CLOSED)
    Ticket.objects.filter(pk=ticket.pk).update(
        closed_at=timezone.now() - timedelta(days=settings.TICKET_REOPEN_WINDOW_DAYS + 1))
    ticket_add_citizen_message(ticket=ticket, body="Gracias", channel=channel("email"))
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    interaction = Interaction.objects.get(ticket=ticket, kind=InteractionKind.MESSAGE)
    assert interaction.channel.code == "email"


def test_citizen_message_on_new_ticket_does_not_change_status(catalog):
    ticket = open_ticket(catalog)
    ticket_add_citizen_message(ticket=ticket, body="Agrego info", channel=channel("web"))
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not ticket.events.filter(kind=EventKind.STATUS_CHANGED).exists()


def test_citizen_message_requires_a_body(catalog):
    ticket = open_ticket(catalog)
    with pytest.raises(ValidationError):
        ticket_add_citizen_message(ticket=ticket, body=" ", channel=channel("web"))
    assert not Interaction.objects.filter(kind=InteractionKind.MESSAGE).exists()


# --- ticket_change_area ---------------------------------------------------------------------

def test_change_area_writes_internal_event_and_audit(catalog, triage):
    ticket = open_ticket(catalog)
    becas = AreaFactory(institution=catalog["institution"], name="Becas")
    ticket_change_area(ticket=ticket, actor=triage, area=becas, reason="Corresponde a becas")
    ticket.refresh_from_db()
    assert ticket.area == becas
    event = ticket.events.get(kind=EventKind.AREA_CHANGED)
    assert event.is_public is False
    assert event.data == {"from_area": "Área PAE", "to_area": "Becas"}
    assert event.body == "Corresponde a becas"
    audit = AuditEvent.objects.get(action="ticket.area_changed")
    assert audit.data == {"from": catalog["area"].pk, "to": becas.pk}


def test_change_area_to_no_area_and_same_area_no_op(catalog, triage):
    ticket = open_ticket(catalog)
    ticket_change_area(ticket=ticket, actor=triage, area=catalog["area"])
    assert not ticket.events.filter(kind=EventKind.AREA_CHANGED).exists()
    ticket_change_area(ticket=ticket, actor=triage, area=None)
    ticket.refresh_from_db()
    assert ticket.area is None
    assert ticket.events.get(kind=EventKind.AREA_CHANGED).data["to_area"] is None


def test_change_area_rejects_area_of_another_institution(catalog, other_catalog, triage):
    ticket = open_ticket(catalog)
    with pytest.raises(ValidationError) as exc_info:
        ticket_change_area(ticket=ticket, actor=triage, area=other_catalog["area"])
    assert "area" in exc_info.value.message_dict
    ticket.refresh_from_db()
    assert ticket.area == catalog["area"]
    assert not TicketEvent.objects.filter(kind=EventKind.AREA_CHANGED).exists()
    assert not AuditEvent.objects.exists()


def test_change_area_rejects_inactive_area(catalog, triage):
    ticket = open_ticket(catalog)
    closed = AreaFactory(institution=catalog["institution"], name="Cerrada", is_active=False)
    with pytest.raises(ValidationError):
        ticket_change_area(ticket=ticket, actor=triage, area=closed)
    assert Ticket.objects.get(pk=ticket.pk).area == catalog["area"]


# --- interaction_record_tracking ------------------------------------------------------------

def test_tracking_interaction(catalog):
    ticket = open_ticket(catalog)
    interaction = interaction_record_tracking(ticket=ticket, channel=channel("web"))
    assert interaction.kind == InteractionKind.TRACKING
    assert interaction.is_self_service is True
    assert interaction.ticket == ticket
    assert interaction.citizen_id == ticket.citizen_id
