"""Helpers for the ticket tests: real file bytes and staff members with a role."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter

from tests.factories import MembershipFactory, UserFactory


def _pdf_bytes() -> bytes:
    """A real one-page PDF (uploads are parsed with pypdf: a fake header is refused)."""
    buffer = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    writer.write(buffer)
    return buffer.getvalue()


PDF_BYTES = _pdf_bytes()


def image_bytes(fmt: str = "PNG", size=(4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def staff(institution, role, *, areas=None, is_active=True, user=None):
    """A fresh user (so no membership cache is shared) with one membership."""
    membership = MembershipFactory(
        user=user or UserFactory(), institution=institution, role=role, areas=areas or [],
        is_active=is_active,
    )
    return membership.user


def confirmed(ticket):
    """The ticket after the channel administrator confirmed its triage: until then a Type 2
    ticket is not its area's, so responders do not see it."""
    from ventanilla.accounts.models import Role
    from ventanilla.routing.services import triage_confirm

    triage_confirm(ticket=ticket, actor=staff(ticket.institution, Role.TRIAGE))
    ticket.refresh_from_db()
    return ticket
