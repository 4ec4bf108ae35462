"""Helpers shared by the console tests."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image


def png_upload(name="foto.png", color=(200, 30, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def listed(response) -> list[str]:
    """Folios shown in an inbox response (and each one linked in the HTML)."""
    folios = [ticket.folio for ticket in response.context["tickets"]]
    content = response.content.decode()
    for folio in folios:
        assert reverse("console:ticket", args=[folio]) in content
    return folios


def confirmed(ticket):
    """The ticket after the channel administrator confirmed its triage: until then a Type 2
    ticket is not its area's, so responders do not see it."""
    from tests.factories import MembershipFactory
    from ventanilla.accounts.models import Role
    from ventanilla.routing.services import triage_confirm

    triage = MembershipFactory(institution=ticket.institution, role=Role.TRIAGE).user
    triage_confirm(ticket=ticket, actor=triage)
    ticket.refresh_from_db()
    return ticket
