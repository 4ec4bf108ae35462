import pytest
from django.urls import reverse

from tests.console.helpers import png_upload
from tests.factories import open_ticket
from ventanilla.accounts.models import Role
from ventanilla.tickets.uploads import check_upload

pytestmark = pytest.mark.django_db


def _with_attachment(catalog, name="foto.png"):
    ticket = open_ticket(catalog, attachments=[check_upload(png_upload(name))])
    return ticket, ticket.attachments.get()


def _url(ticket, attachment_id):
    return reverse("console:ticket-attachment", args=[ticket.folio, attachment_id])


def test_download_headers_and_content(login, catalog, staff):
    ticket, attachment = _with_attachment(catalog, name="boleta colación.png")
    client = login(staff(Role.OPERATOR))
    page = client.get(reverse("console:ticket", args=[ticket.folio])).content.decode()
    assert _url(ticket, attachment.pk) in page
    response = client.get(_url(ticket, attachment.pk))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "boleta" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\x89PNG") and len(body) == attachment.size


def test_attachment_of_another_ticket_is_404(login, catalog, staff):
    ticket, _ = _with_attachment(catalog)
    other, foreign = _with_attachment(catalog)
    client = login(staff(Role.TRIAGE))
    assert client.get(_url(ticket, foreign.pk)).status_code == 404
    assert client.get(_url(ticket, 999999)).status_code == 404
    assert client.get(_url(other, foreign.pk)).status_code == 200


def test_attachment_of_invisible_ticket_is_404(login, catalog, other_catalog, staff):
    ticket, attachment = _with_attachment(catalog)
    client = login(staff(Role.TRIAGE, institution=other_catalog["institution"]))
    assert client.get(_url(ticket, attachment.pk)).status_code == 404


def test_missing_file_is_404_not_500(login, catalog, staff):
    ticket, attachment = _with_attachment(catalog)
    attachment.file.storage.delete(attachment.file.name)
    response = login(staff(Role.TRIAGE)).get(_url(ticket, attachment.pk))
    assert response.status_code == 404
