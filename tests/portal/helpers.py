"""Builders shared by the portal tests: valid files and a valid request form payload."""

import io
import re
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter


def _minimal_pdf() -> bytes:
    """A real one-page PDF (uploads are parsed with pypdf: a fake header is refused)."""
    buffer = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    writer.write(buffer)
    return buffer.getvalue()


MINIMAL_PDF = _minimal_pdf()
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), color=(200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def png_file(name: str = "foto.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def pdf_file(name: str = "boleta.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, MINIMAL_PDF, content_type="application/pdf")


def request_payload(catalog, **overrides) -> dict:
    """Every field of the request form filled with valid values."""
    organization = catalog["organization"]
    data = {
        "full_name": "Juana Soto Pérez",
        "rut": "12.345.678-5",
        "email": "Juana.Soto@Example.cl",
        "phone": "+56 9 1234 5678",
        "requester_type": str(catalog["requester_type"].pk),
        "region": organization.region_id,
        "comuna": organization.comuna_id,
        "organization": str(organization.pk),
        "ticket_type": str(catalog["complaint"].pk),
        "topic": str(catalog["topic"].pk),
        "urgency": "high",
        "subject": "La colación no llegó",
        "detail": "El lunes 3 no llegó la colación a la escuela.",
        "idempotency_key": uuid.uuid4().hex,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def without_csrf(content: bytes) -> bytes:
    """The CSRF token is masked differently on every response (BREACH protection)."""
    return CSRF_INPUT.sub(b'name="csrfmiddlewaretoken" value=""', content)
