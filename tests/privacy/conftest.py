import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from tests.factories import MembershipFactory, UserFactory, make_catalog, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.models import Status, Ticket
from ventanilla.tickets.uploads import check_upload_list

RUT = "12.345.678-5"


@pytest.fixture
def other_catalog(db):
    return make_catalog()


@pytest.fixture
def member(catalog):
    def build(role=Role.SUPERVISOR, *, institution=None, user=None):
        user = user or UserFactory()
        MembershipFactory(user=user, institution=institution or catalog["institution"],
                          role=role)
        return user

    return build


def png(name="foto.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 200, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def contact(**overrides) -> ContactData:
    fields = {"full_name": "Juana Soto", "email": "juana@example.cl",
              "phone": "+56 9 1234 5678", "rut": "123456785"}  # compact, as intake stores it
    fields.update(overrides)
    return ContactData(**fields)


def closed_ticket(catalog, *, years_ago: float = 0, **overrides) -> Ticket:
    """A suggestion (Type 1: closed at once), its closing moved ``years_ago`` back."""
    overrides.setdefault("contact", contact())
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"], **overrides)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    if years_ago:
        moment = timezone.now() - timedelta(days=int(365.25 * years_ago))
        Ticket.objects.filter(pk=ticket.pk).update(received_at=moment, closed_at=moment)
        ticket.refresh_from_db()
    return ticket


@pytest.fixture
def with_attachment():
    def build(catalog, **overrides):
        return closed_ticket(catalog, attachments=check_upload_list([png()]), **overrides)

    return build
