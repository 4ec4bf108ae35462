import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.console.helpers import confirmed, png_upload
from tests.factories import AreaFactory, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.core.models import AuditEvent
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import Attachment
from ventanilla.tickets.services import ticket_change_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(catalog):
    return open_ticket(catalog, email="juana@example.cl")


@pytest.fixture
def triage(staff, login):
    user = staff(Role.TRIAGE)
    login(user)
    return user


def url(name, ticket):
    return reverse(f"console:ticket-{name}", args=[ticket.folio])


def page(ticket):
    return reverse("console:ticket", args=[ticket.folio])


def test_add_note(client, ticket, triage):
    response = client.post(url("note", ticket), {"note-body": "  Llamar mañana  "}, follow=True)
    assert response.redirect_chain == [(page(ticket), 302)]
    assert "Nota interna agregada." in response.content.decode()
    note = ticket.events.get(kind="note")
    assert (note.body, note.actor, note.is_public) == ("Llamar mañana", triage, False)


def test_empty_note_shows_error_next_to_field_and_in_summary(client, ticket, triage):
    response = client.post(url("note", ticket), {"note-body": "   "})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Escriba la nota." in content
    assert 'href="#id_note-body"' in content  # the error summary links to the field
    assert response.context["note_form"].errors["body"]
    assert not ticket.events.filter(kind="note").exists()


def test_reply_sends_email_through_outbox(client, ticket, triage, mailoutbox,
                                          django_capture_on_commit_callbacks):
    mailoutbox.clear()  # the acknowledgement of receipt
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("reply", ticket), {
            "reply-body": "Su colación llegará el martes.", "reply-then_status": "",
        })
    assert response.status_code == 302 and response["Location"] == page(ticket)
    reply = ticket.events.get(kind="reply")
    assert reply.is_public and reply.actor == triage
    assert [m.to for m in mailoutbox] == [["juana@example.cl"]]
    assert "Su colación llegará el martes." in mailoutbox[0].body
    assert ticket.folio in mailoutbox[0].subject
    ticket.refresh_from_db()
    assert ticket.status == "in_progress" and ticket.first_answered_at is not None


def test_reply_then_close_with_attachment(client, ticket, triage,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("reply", ticket), {
            "reply-body": "Adjuntamos el acta.", "reply-then_status": "closed",
            "reply-attachments": [png_upload("acta.png"), png_upload("otra.png", (0, 0, 0))],
        })
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    reply = ticket.events.get(kind="reply")
    assert sorted(a.original_name for a in reply.attachments.all()) == ["acta.png", "otra.png"]
    assert ticket.events.filter(kind="status_changed", to_status="closed").exists()


def test_reply_with_a_fake_image_is_rejected_and_keeps_text(client, ticket, triage):
    fake = SimpleUploadedFile("foto.png", b"MZ not really an image", content_type="image/png")
    before = OutboundMessage.objects.count()
    response = client.post(url("reply", ticket), {
        "reply-body": "Texto que no debe perderse", "reply-attachments": [fake],
    })
    assert response.status_code == 200
    content = response.content.decode()
    assert "no es una imagen" in content
    assert "Texto que no debe perderse" in content
    assert not ticket.events.filter(kind="reply").exists()
    assert not Attachment.objects.exists()
    assert OutboundMessage.objects.count() == before
    assert response.context["reply_form"].errors["attachments"]


def test_reply_on_closed_ticket_shows_error(client, ticket, triage, mailoutbox):
    ticket_change_status(ticket=ticket, actor=triage, to_status="closed")
    mailoutbox.clear()
    before = OutboundMessage.objects.count()
    response = client.post(url("reply", ticket), {"reply-body": "Respuesta tardía"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "El requerimiento está cerrado; reábralo para responder." in content
    assert "Respuesta tardía" in content  # the typed text is kept
    assert not ticket.events.filter(kind="reply").exists()
    assert OutboundMessage.objects.count() == before


def test_invalid_then_status_rolls_back_the_whole_reply(client, ticket, triage):
    ticket_change_status(ticket=ticket, actor=triage, to_status="in_progress")
    before = OutboundMessage.objects.count()
    response = client.post(url("reply", ticket), {
        "reply-body": "Hola", "reply-then_status": "new",
    })
    assert response.status_code == 200
    assert response.context["reply_form"].errors["then_status"]
    assert not ticket.events.filter(kind="reply").exists()
    assert OutboundMessage.objects.count() == before


def test_change_status(client, ticket, triage):
    response = client.post(url("status", ticket), {"status-status": "waiting_citizen",
                                                   "status-reason": "Falta el RUT"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "waiting_citizen"
    event = ticket.events.get(kind="status_changed")
    assert (event.from_status, event.to_status, event.body, event.actor) == (
        "new", "waiting_citizen", "Falta el RUT", triage)
    assert AuditEvent.objects.filter(action="ticket.status_changed").exists()


def test_reopen_requires_reason(client, ticket, triage):
    ticket_change_status(ticket=ticket, actor=triage, to_status="closed")
    response = client.post(url("status", ticket), {"status-status": "in_progress",
                                                   "status-reason": " "})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Indique por qué se reabre el requerimiento." in content
    assert response.context["status_form"].errors["reason"]
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    response = client.post(url("status", ticket), {"status-status": "in_progress",
                                                   "status-reason": "La persona insistió"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "in_progress" and ticket.closed_at is None


@pytest.mark.parametrize("value", ["", "borrado", "new"])
def test_status_not_on_offer_is_a_form_error(client, ticket, triage, value):
    response = client.post(url("status", ticket), {"status-status": value})
    assert response.status_code == 200
    assert response.context["status_form"].errors["status"]
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_change_area_with_reason(client, catalog, ticket, triage):
    becas = AreaFactory(institution=catalog["institution"], name="Área Becas")
    response = client.post(url("area", ticket), {"area-area": becas.pk,
                                                 "area-reason": "Es un tema de becas"},
                           follow=True)
    assert "Requerimiento derivado a Área Becas." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.area == becas
    event = ticket.events.get(kind="area_changed")
    assert event.body == "Es un tema de becas" and not event.is_public
    assert event.data == {"from_area": "Área PAE", "to_area": "Área Becas"}
    response = client.post(url("area", ticket), {"area-area": "none"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.area is None


@pytest.mark.parametrize("value", ["abc", "", "999999"])
def test_bad_area_is_a_form_error(client, ticket, triage, value):
    response = client.post(url("area", ticket), {"area-area": value})
    assert response.status_code == 200
    assert response.context["area_form"].errors["area"]


def test_area_of_another_institution_is_refused(client, ticket, triage, other_catalog):
    response = client.post(url("area", ticket), {"area-area": other_catalog["area"].pk})
    assert response.status_code == 200
    assert "Esa área no está disponible en esta institución." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.area_id != other_catalog["area"].pk


def test_responder_can_reply_in_their_area(client, catalog, ticket, staff, login):
    confirmed(ticket)
    login(staff(Role.RESPONDER, areas=[catalog["area"]]))
    response = client.post(url("reply", ticket), {"reply-body": "Respondemos"})
    assert response.status_code == 302
    assert ticket.events.filter(kind="reply").exists()


def test_choosing_the_current_area_changes_nothing(client, catalog, ticket, triage):
    response = client.post(url("area", ticket), {"area-area": catalog["area"].pk}, follow=True)
    assert "ya estaba en esa área" in response.content.decode()
    assert not ticket.events.filter(kind="area_changed").exists()
