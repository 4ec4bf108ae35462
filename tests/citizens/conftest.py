import pytest

from tests.factories import open_ticket
from ventanilla.citizens.services import ContactData


@pytest.fixture
def person_ticket(catalog):
    """Open a ticket for a distinct person: person_ticket("ana@x.cl", name=..., phone=...)."""

    def build(email, *, name="Juana Soto", phone="", rut="", cat=None, **overrides):
        contact = ContactData(full_name=name, email=email, phone=phone, rut=rut)
        return open_ticket(cat or catalog, contact=contact, **overrides)

    return build
