"""A person downloads all their data; a supervisor can produce it at the counter."""

import io
import json
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory, open_ticket
from tests.privacy.conftest import contact, png
from ventanilla.accounts.models import Role
from ventanilla.core.models import AuditEvent
from ventanilla.tickets.services import ticket_add_note, ticket_reply
from ventanilla.tickets.uploads import check_upload_list

pytestmark = pytest.mark.django_db


@pytest.fixture
def citizen_user(catalog, member):
    """A registered person with one request filed while logged in (with a photo), an
    internal note and a public reply on it, and someone else's request."""
    user = UserFactory(email="juana@example.cl", email_verified_at=timezone.now())
    ticket = open_ticket(catalog, contact=contact(), citizen_user=user,
                         attachments=check_upload_list([png("boleta.png")]))
    staff = member(Role.TRIAGE)
    ticket_add_note(ticket=ticket, actor=staff, body="NOTA-INTERNA-SECRETA")
    ticket_reply(ticket=ticket, actor=staff, body="Respuesta pública a la persona")
    other = open_ticket(catalog, contact=contact(full_name="Pedro Rojas", email="p@example.cl",
                                                 rut="111111111", phone=""),
                        detail="DETALLE-DE-OTRA-PERSONA")
    return {"user": user, "ticket": ticket, "other": other}


def _zip(response) -> tuple[dict, zipfile.ZipFile]:
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return json.loads(archive.read("datos.json")), archive


def test_citizen_downloads_everything_of_theirs_and_nothing_else(client, citizen_user):
    client.force_login(citizen_user["user"])
    page = client.get(reverse("portal:my-data"))
    assert page.status_code == 200
    response = client.post(reverse("portal:my-data"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    document, archive = _zip(response)
    assert "LEAME.txt" in archive.namelist()
    [ticket] = document["tickets"]
    assert ticket["folio"] == citizen_user["ticket"].folio
    assert ticket["contact"]["email"] == "juana@example.cl"
    texts = [m["text"] for m in ticket["messages"]]
    assert "Respuesta pública a la persona" in texts
    raw = archive.read("datos.json").decode()
    assert "NOTA-INTERNA-SECRETA" not in raw and "DETALLE-DE-OTRA-PERSONA" not in raw
    [attachment] = ticket["attachments"]
    assert attachment["name"] == "boleta.png"
    assert archive.read(attachment["file_in_zip"]).startswith(b"\x89PNG")
    assert document["interactions"] and document["person"]["email"] == "juana@example.cl"
    event = AuditEvent.objects.get(action="privacy.self_exported")
    assert event.actor == citizen_user["user"]


def test_my_requests_links_to_the_download(client, citizen_user):
    client.force_login(citizen_user["user"])
    assert reverse("portal:my-data") in client.get(reverse("portal:my-requests")).content.decode()


def test_download_needs_the_password_again(client, citizen_user):
    client.force_login(citizen_user["user"])
    session = client.session
    session.pop("ventanilla_reauth_at", None)
    session.save()
    response = client.post(reverse("portal:my-data"))
    assert response.status_code == 303 and "/cuenta/confirmar/" in response["Location"]
    assert not AuditEvent.objects.filter(action="privacy.self_exported").exists()


def test_anonymous_is_sent_to_login(client):
    response = client.post(reverse("portal:my-data"))
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


def test_supervisor_exports_a_person_with_a_reason(client, citizen_user, member):
    supervisor = member(Role.SUPERVISOR)
    client.force_login(supervisor)
    citizen_id = citizen_user["ticket"].citizen_id
    url = reverse("console:person-export", args=[citizen_id])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": ""}).status_code == 400
    assert not AuditEvent.objects.filter(action="privacy.person_exported").exists()
    response = client.post(url, {"reason": "La persona lo pidió en la oficina"})
    document, _archive = _zip(response)
    assert [t["folio"] for t in document["tickets"]] == [citizen_user["ticket"].folio]
    event = AuditEvent.objects.get(action="privacy.person_exported")
    assert event.reason == "La persona lo pidió en la oficina"
    assert event.subject_citizen_id == citizen_id and event.actor == supervisor


def test_another_institutions_supervisor_cannot_export(client, citizen_user, member,
                                                       other_catalog):
    client.force_login(member(Role.SUPERVISOR, institution=other_catalog["institution"]))
    url = reverse("console:person-export", args=[citizen_user["ticket"].citizen_id])
    assert client.post(url, {"reason": "x"}).status_code == 404
