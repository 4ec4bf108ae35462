"""Reads the console needs beyond the ticket selectors (staff memberships, filter lists)."""

from __future__ import annotations

from django.db.models import QuerySet

from ventanilla.accounts.models import Membership
from ventanilla.catalog.models import Area, Channel, Institution


def membership_list_for_console(*, user) -> list[Membership]:
    """The user's active memberships in active institutions, by institution name."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return list(
        Membership.objects.filter(user=user, is_active=True, institution__is_active=True)
        .select_related("institution")
        .prefetch_related("areas")
        .order_by("institution__name", "institution_id")
    )


def area_list(*, institution: Institution) -> QuerySet[Area]:
    return Area.objects.filter(institution=institution, is_active=True)


def channel_list_active() -> QuerySet[Channel]:
    return Channel.objects.filter(is_active=True)
