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
