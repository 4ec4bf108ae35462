from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.factories import MembershipFactory, UserFactory
from ventanilla.accounts.models import Role
from ventanilla.sla.models import SlaPolicy, Unit

SCL = ZoneInfo("America/Santiago")
H, BH, BD = Unit.CALENDAR_HOURS, Unit.BUSINESS_HOURS, Unit.BUSINESS_DAYS


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SCL)


def make_policy(catalog, *, name="Política", ticket_type=None, topic=None, urgency="",
                ack=None, plan=None, final=None, ratio="0.75", **extra) -> SlaPolicy:
    """ack/plan/final: (amount, unit) or None."""
    values = {}
    for stage, target in (("ack", ack), ("plan", plan), ("final", final)):
        amount, unit = target if target else (None, H)
        values[f"{stage}_amount"] = None if amount is None else Decimal(str(amount))
        values[f"{stage}_unit"] = unit
    return SlaPolicy.objects.create(
        institution=catalog["institution"], name=name,
        ticket_type=ticket_type or catalog["complaint"], topic=topic, urgency=urgency,
        at_risk_ratio=Decimal(ratio), **values, **extra,
    )


def member(catalog, role, *, email=None, active=True, user_active=True):
    user = UserFactory(**({"email": email} if email else {}), is_active=user_active)
    MembershipFactory(user=user, institution=catalog["institution"], role=role,
                      is_active=active)
    return user


@pytest.fixture
def supervisor(catalog):
    return member(catalog, Role.SUPERVISOR, email="supervisora@example.cl")


@pytest.fixture
def other_catalog(db):
    from tests.factories import make_catalog

    return make_catalog()
