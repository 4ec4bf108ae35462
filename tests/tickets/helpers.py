"""Helpers for the ticket tests: real file bytes and staff members with a role."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import MembershipFactory, UserFactory

PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


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
