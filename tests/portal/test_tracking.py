"""Tracking by folio + e-mail, the public timeline, downloads and citizen messages."""

import html
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory, open_ticket
from tests.portal.helpers import EXECUTABLE, pdf_file, png_bytes, request_payload, without_csrf
from ventanilla.accounts.models import Role
from ventanilla.tickets.models import (
    Attachment,
    EventKind,
    Interaction,
    InteractionKind,
    Status,
    Ticket,
    TicketEvent,
)
from ventanilla.tickets.services import (
    ticket_add_note,
    ticket_change_area,
    ticket_change_status,
    ticket_reply,
)
from ventanilla.tickets.uploads import check_upload

pytestmark = pytest.mark.django_db

TRACK_URL = reverse("portal:track")


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def ticket(catalog):
    return open_ticket(catalog, email="juana@example.cl")


@pytest.fixture
def staff(catalog):
    return MembershipFactory(institution=catalog["institution"], role=Role.TRIAGE).user


def _track(client, folio, email="juana@example.cl"):
    return client.post(TRACK_URL, {"folio": folio, "email": email})


def test_match_grants_the_session_and_records_the_interaction(client, ticket):
    response = _track(client, f"  {ticket.folio.lower()} ", "  JUANA@example.cl ")
    detail_url = reverse("portal:track-detail", args=[ticket.folio])
    assert response.status_code == 302
    assert response["Location"] == detail_url
    interaction = Interaction.objects.get(kind=InteractionKind.TRACKING)
    assert interaction.ticket == ticket and interaction.channel.code == "web"
    assert interaction.is_self_service is True

    page = client.get(detail_url)
    assert page.status_code == 200
    text = _text(page)
    for value in (ticket.folio, "Recibido", ticket.ticket_type.name, ticket.topic.name,
                  ticket.subject, "Plazo de respuesta"):
        assert value in text


def test_unknown_folio_and_wrong_email_look_identical(client, ticket):
    missing_folio = ticket.folio[:-1] + ("9" if ticket.folio[-1] != "9" else "8")
    unknown = _track(client, missing_folio, "juana@example.cl")
    wrong_email = _track(client, ticket.folio, "otra@example.cl")
    assert unknown.status_code == wrong_email.status_code == 200
    # Same typed values so the two pages can be compared byte for byte.
    unknown_same_input = _track(client, ticket.folio, "otra@example.cl")
    missing_same_input = _track(Client(), missing_folio, "otra@example.cl")
    normalized = without_csrf(missing_same_input.content).replace(
        missing_folio.encode(), ticket.folio.encode()
    )
    assert without_csrf(unknown_same_input.content) == normalized
    assert without_csrf(wrong_email.content) == without_csrf(unknown_same_input.content)
    text = _text(unknown)
    assert "No encontramos la solicitud" in text
    assert unknown.context["form"]["folio"].value() == missing_folio
    assert not Interaction.objects.filter(kind=InteractionKind.TRACKING).exists()
    # Still nothing granted.
    detail = client.get(reverse("portal:track-detail", args=[ticket.folio]))
    assert detail.status_code == 302 and detail["Location"] == TRACK_URL


def test_tracking_form_errors(client):
    response = client.post(TRACK_URL, {"folio": "", "email": "no-es-correo"})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["folio"] == ["Escriba el folio."]
    assert "correo válido" in errors["email"][0]


def test_detail_without_grant_redirects_whether_or_not_the_folio_exists(client, ticket):
    for folio in (ticket.folio, "NOEXISTE-2026-000001"):
        response = client.get(reverse("portal:track-detail", args=[folio]))
        assert response.status_code == 302
        assert response["Location"] == TRACK_URL


def test_timeline_shows_public_events_only(client, catalog, ticket, staff):
    ticket_add_note(ticket=ticket, actor=staff, body="NOTA INTERNA secreta")
    other_area = catalog["area"].__class__.objects.create(
        institution=catalog["institution"], name="Área Derivada Secreta"
    )
    ticket_change_area(ticket=ticket, actor=staff, area=other_area, reason="MOTIVO DERIVACIÓN")
    ticket_reply(ticket=ticket, actor=staff, body="Estamos revisando su caso.")
    _track(client, ticket.folio)
    text = _text(client.get(reverse("portal:track-detail", args=[ticket.folio])))
    assert "Estamos revisando su caso." in text
    assert "Nuevo estado: En proceso" in text
    assert "NOTA INTERNA" not in text
    assert "MOTIVO DERIVACIÓN" not in text
    assert "Área Derivada Secreta" not in text
    assert staff.email not in text


def test_attachment_download_only_for_the_granted_session(client, catalog):
    upload = check_upload(SimpleUploadedFile("foto del comedor.png", png_bytes()))
    ticket = open_ticket(catalog, email="juana@example.cl", attachments=[upload])
    attachment = Attachment.objects.get()
    url = reverse("portal:track-attachment", args=[ticket.folio, attachment.pk])

    stranger = Client()
    denied = stranger.get(url)
    assert denied.status_code == 302 and denied["Location"] == TRACK_URL

    _track(client, ticket.folio)
    page = _text(client.get(reverse("portal:track-detail", args=[ticket.folio])))
    assert url in page
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert "attachment" in response["Content-Disposition"]
    assert "foto" in response["Content-Disposition"]

    # An attachment id of another ticket is not served through this folio.
    other = open_ticket(catalog, email="juana@example.cl",
                        attachments=[check_upload(pdf_file())])
    other_attachment = Attachment.objects.get(ticket=other)
    wrong = client.get(reverse("portal:track-attachment", args=[ticket.folio, other_attachment.pk]))
    assert wrong.status_code == 404


def test_attachment_of_an_internal_event_is_not_served(client, ticket):
    note = TicketEvent.objects.create(ticket=ticket, kind=EventKind.NOTE, is_public=False,
                                      body="interno")
    from django.core.files.base import ContentFile

    attachment = Attachment(ticket=ticket, event=note, original_name="interno.png",
                            extension="png", content_type="image/png", size=3, sha256="x")
    attachment.file.save("upload.png", ContentFile(png_bytes()), save=False)
    attachment.save()
    _track(client, ticket.folio)
    url = reverse("portal:track-attachment", args=[ticket.folio, attachment.pk])
    assert client.get(url).status_code == 404
    page = client.get(reverse("portal:track-detail", args=[ticket.folio]))
    assert "interno.png" not in _text(page)


def test_citizen_message_appears_and_moves_waiting_ticket_to_in_progress(client, ticket, staff):
    ticket_change_status(ticket=ticket, actor=staff, to_status=Status.WAITING_CITIZEN)
    _track(client, ticket.folio)
    url = reverse("portal:track-detail", args=[ticket.folio])
    response = client.post(url, {"body": "Adjunto la boleta que pidieron.",
                                 "attachments": [pdf_file("boleta.pdf")]})
    assert response.status_code == 302 and response["Location"] == url
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS
    event = TicketEvent.objects.get(kind=EventKind.CITIZEN_MESSAGE)
    assert event.body == "Adjunto la boleta que pidieron."
    assert event.attachments.get().original_name == "boleta.pdf"
    assert Interaction.objects.filter(kind=InteractionKind.MESSAGE, ticket=ticket).exists()
    text = _text(client.get(url))
    assert "Adjunto la boleta que pidieron." in text
    assert "Recibimos su mensaje" in text
    assert "boleta.pdf" in text


def test_bad_citizen_message_stores_nothing(client, ticket):
    _track(client, ticket.folio)
    url = reverse("portal:track-detail", args=[ticket.folio])
    empty = client.post(url, {"body": "   "})
    assert empty.status_code == 200
    assert empty.context["form"].errors["body"] == ["Escriba su mensaje."]
    bad_file = client.post(url, {"body": "Mire la foto",
                                 "attachments": [SimpleUploadedFile("foto.jpg", EXECUTABLE)]})
    assert bad_file.status_code == 200
    assert "no es una imagen" in bad_file.context["form"].errors["attachments"][0]
    assert bad_file.context["form"]["body"].value() == "Mire la foto"
    assert not TicketEvent.objects.filter(kind=EventKind.CITIZEN_MESSAGE).exists()
    assert Attachment.objects.count() == 0


def test_message_without_grant_is_refused(client, ticket):
    response = client.post(reverse("portal:track-detail", args=[ticket.folio]), {"body": "hola"})
    assert response.status_code == 302 and response["Location"] == TRACK_URL
    assert not TicketEvent.objects.filter(kind=EventKind.CITIZEN_MESSAGE).exists()


def test_closed_ticket_says_so_and_a_message_reopens_it(client, ticket, staff):
    ticket_change_status(ticket=ticket, actor=staff, to_status=Status.CLOSED, reason="Resuelto")
    _track(client, ticket.folio)
    url = reverse("portal:track-detail", args=[ticket.folio])
    text = _text(client.get(url))
    assert "Esta solicitud está cerrada." in text
    assert client.post(url, {"body": "Sigue sin llegar."}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_PROGRESS  # closed less than the window ago
    assert "Esta solicitud está cerrada." not in _text(client.get(url))


def test_message_long_after_closing_does_not_reopen(client, ticket, staff, settings):
    ticket_change_status(ticket=ticket, actor=staff, to_status=Status.CLOSED, reason="Resuelto")
    Ticket.objects.filter(pk=ticket.pk).update(
        closed_at=timezone.now() - timedelta(days=settings.TICKET_REOPEN_WINDOW_DAYS + 1))
    _track(client, ticket.folio)
    url = reverse("portal:track-detail", args=[ticket.folio])
    assert client.post(url, {"body": "Sigue sin llegar."}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.events.filter(kind=EventKind.CITIZEN_MESSAGE).count() == 1


def test_submitting_session_can_follow_its_own_ticket(client, catalog):
    url = reverse("portal:request-new", args=[catalog["institution"].slug])
    client.post(url, request_payload(catalog))
    from ventanilla.tickets.models import Ticket

    ticket = Ticket.objects.get()
    assert client.get(reverse("portal:track-detail", args=[ticket.folio])).status_code == 200


def test_owner_account_sees_detail_without_tracking(client, catalog):
    user = UserFactory(email="juana@example.cl")
    ticket = open_ticket(catalog, email="juana@example.cl", citizen_user=user)
    client.force_login(user)
    assert client.get(reverse("portal:track-detail", args=[ticket.folio])).status_code == 200
    intruder = UserFactory()
    other = Client()
    other.force_login(intruder)
    response = other.get(reverse("portal:track-detail", args=[ticket.folio]))
    assert response.status_code == 302
