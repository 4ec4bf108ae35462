import pytest

from tests.factories import MembershipFactory, UserFactory, make_catalog
from ventanilla.accounts.models import Role


@pytest.fixture
def other_catalog(db):
    """A second institution with its own catalog."""
    return make_catalog()


@pytest.fixture
def staff(catalog):
    """Build a staff member of the catalog's institution: staff(Role.X, areas=[...])."""

    def build(role=Role.TRIAGE, *, institution=None, areas=None, user=None):
        user = user or UserFactory()
        MembershipFactory(user=user, institution=institution or catalog["institution"],
                          role=role, areas=areas or [])
        return user

    return build


@pytest.fixture
def login(client):
    def do(user):
        client.force_login(user)
        return client

    return do
