import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.factories import MembershipFactory, UserFactory, make_catalog
from tests.tickets.helpers import PDF_BYTES
from ventanilla.accounts.models import Role


@pytest.fixture
def other_catalog(db):
    """A second institution with its own catalog."""
    return make_catalog()


@pytest.fixture
def staff(catalog):
    """Build a staff member: staff(Role.X, institution=...)."""

    def build(role=Role.OPERATOR, *, institution=None, user=None):
        user = user or UserFactory()
        MembershipFactory(user=user, institution=institution or catalog["institution"],
                          role=role)
        return user

    return build


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do


def png_upload(name="pagina.png", color=(200, 30, 30)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 8), color).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def pdf_upload(name="escaneo.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")
