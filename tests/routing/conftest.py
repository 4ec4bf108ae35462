import pytest

from tests.factories import MembershipFactory, UserFactory, make_catalog
from ventanilla.accounts.models import Role
from ventanilla.routing.models import RoutingRule


@pytest.fixture
def other_catalog(db):
    """A second institution with its own catalog."""
    return make_catalog()


@pytest.fixture
def staff(catalog):
    """staff(Role.X, areas=[...]) → a fresh user with one membership in the catalog's
    institution (a fresh user each time, so no membership cache is shared)."""

    def build(role=Role.TRIAGE, *, institution=None, areas=None, user=None, is_active=True):
        membership = MembershipFactory(
            user=user or UserFactory(), institution=institution or catalog["institution"],
            role=role, areas=areas or [], is_active=is_active,
        )
        return membership.user

    return build


@pytest.fixture
def make_rule(catalog):
    """make_rule(area=..., position=..., topics=[...], keywords=..., ...) → a saved rule."""
    m2m_fields = ("ticket_types", "topics", "channels", "regions", "comunas", "organizations")

    def build(*, area=None, name=None, institution=None, **fields):
        m2m = {key: fields.pop(key) for key in m2m_fields if key in fields}
        rule = RoutingRule.objects.create(
            institution=institution or catalog["institution"],
            name=name or f"Regla {RoutingRule.objects.count() + 1}",
            area=area or catalog["area"], **fields,
        )
        for key, values in m2m.items():
            getattr(rule, key).set(values)
        return rule

    return build
