"""A full disk or failing storage while a new ticket's attachments are saved: a clear error,
nothing half-stored, nothing duplicated on retry (issue 8, abuse: fault test)."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, UserFactory, channel, make_catalog
from tests.portal.helpers import request_payload
from ventanilla.accounts.models import Role
from ventanilla.api.services import api_key_create
from ventanilla.citizens.services import ContactData
from ventanilla.paper.models import PaperIntake, PaperPage
from ventanilla.paper.services import paper_intake_create
from ventanilla.tickets.models import Attachment, Ticket, TicketEvent
from ventanilla.tickets.services import TicketDraft, ticket_open
from ventanilla.tickets.uploads import UploadUnavailable, check_upload


class FailingStorage(FileSystemStorage):
    """Writes ``allowed`` files, then fails like a full disk."""

    allowed = 1
    saved = 0

    def _save(self, name, content):
        if FailingStorage.saved >= FailingStorage.allowed:
            raise OSError(errno.ENOSPC, "No space left on device")
        FailingStorage.saved += 1
        return super()._save(name, content)


@pytest.fixture
def failing_storage(settings, tmp_path):
    FailingStorage.allowed, FailingStorage.saved = 1, 0
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": f"{__name__}.FailingStorage"}}
    return FailingStorage


def png(name: str, color=(1, 2, 3)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def assert_nothing_stored(settings):
    assert Ticket.objects.count() == 0
    assert TicketEvent.objects.count() == 0
    assert Attachment.objects.count() == 0
    assert stored_files(Path(settings.MEDIA_ROOT)) == []  # the first file was removed too


@pytest.mark.django_db
def test_service_rolls_back_and_removes_the_files_it_wrote(settings, failing_storage):
    catalog = make_catalog()
    draft = TicketDraft(
        institution=catalog["institution"], channel=channel("web"),
        ticket_type=catalog["complaint"], topic=catalog["topic"], subject="Asunto",
        detail="Detalle", contact=ContactData(full_name="Juana", email="j@example.cl"),
        attachments=[check_upload(png("a.png")), check_upload(png("b.png", (9, 9, 9)))],
        idempotency_key="2b0f6f8e-0c4e-4c39-9d55-1a1f4f0b0d11",
    )
    with pytest.raises(UploadUnavailable) as caught:
        ticket_open(draft=draft)
    assert "inténtelo nuevamente" in caught.value.messages[0]
    assert failing_storage.saved == 1  # one file had been written…
    assert_nothing_stored(settings)  # …and is gone with everything else
    # The disk has room again: the same submission creates exactly one ticket.
    failing_storage.allowed = 10
    first = ticket_open(draft=draft)
    again = ticket_open(draft=draft)
    assert first.pk == again.pk and Ticket.objects.count() == 1
    assert Attachment.objects.filter(ticket=first).count() == 2
    assert len(stored_files(Path(settings.MEDIA_ROOT))) == 2


@pytest.mark.django_db
def test_portal_form_shows_a_clear_error_and_keeps_the_data(client, settings,
                                                            failing_storage):
    catalog = make_catalog()
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    data = request_payload(catalog, subject="Mi asunto guardado")
    response = client.post(url, {**data, "attachments": [png("a.png"), png("b.png", (5, 5, 5))]})
    assert response.status_code == 200
    text = response.content.decode()
    assert "No pudimos guardar sus archivos por un problema técnico" in text
    assert 'value="Mi asunto guardado"' in text
    assert_nothing_stored(settings)
    # Retried with the same form (same idempotency key): one ticket.
    failing_storage.allowed = 10
    retry = {**data, "attachments": [png("a.png"), png("b.png", (5, 5, 5))]}
    assert client.post(url, retry).status_code == 302
    retry = {**data, "attachments": [png("a.png"), png("b.png", (5, 5, 5))]}
    assert client.post(url, retry).status_code == 302
    assert Ticket.objects.count() == 1 and Attachment.objects.count() == 2


@pytest.mark.django_db
def test_api_answers_503_with_a_message_and_stores_nothing(settings, failing_storage):
    catalog = make_catalog()
    _key, raw = api_key_create(institution=catalog["institution"], name="IVR",
                               channels=[channel("api")], can_read=True, can_write=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    data = {
        "ticket_type": catalog["complaint"].pk, "topic": catalog["topic"].pk,
        "subject": "Colación", "detail": "No llegó.", "full_name": "Juana Soto",
        "email": "juana@example.cl", "urgency": "medium",
        "attachments": [png("a.png"), png("b.png", (7, 7, 7))],
    }
    response = client.post(reverse("api:tickets"), data, format="multipart")
    assert response.status_code == 503, response.content
    body = response.json()
    assert "problema técnico" in str(body)
    assert_nothing_stored(settings)


@pytest.mark.django_db
def test_any_storage_exception_is_handled_the_same_way(settings, failing_storage,
                                                       monkeypatch):
    def broken(self, name, content):
        raise RuntimeError("object store unreachable")
    monkeypatch.setattr(FailingStorage, "_save", broken)
    catalog = make_catalog()
    draft = TicketDraft(
        institution=catalog["institution"], channel=channel("web"),
        ticket_type=catalog["complaint"], topic=catalog["topic"], subject="Asunto",
        detail="Detalle", contact=ContactData(full_name="Juana", email="j@example.cl"),
        attachments=[check_upload(png("a.png"))],
    )
    with pytest.raises(UploadUnavailable):
        ticket_open(draft=draft)
    assert_nothing_stored(settings)


@pytest.mark.django_db
def test_paper_pages_are_all_or_nothing_when_the_storage_fails(settings, failing_storage):
    catalog = make_catalog()
    operator = UserFactory()
    MembershipFactory(user=operator, institution=catalog["institution"], role=Role.OPERATOR)
    pages = [check_upload(png("p1.png")), check_upload(png("p2.png", (9, 9, 9)))]
    with pytest.raises(UploadUnavailable):
        paper_intake_create(institution=catalog["institution"], actor=operator, uploads=pages)
    assert failing_storage.saved == 1
    assert PaperIntake.objects.count() == 0 and PaperPage.objects.count() == 0
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
    failing_storage.allowed = 10
    intake = paper_intake_create(institution=catalog["institution"], actor=operator,
                                 uploads=pages)
    assert intake.pages.count() == 2 and len(stored_files(Path(settings.MEDIA_ROOT))) == 2
