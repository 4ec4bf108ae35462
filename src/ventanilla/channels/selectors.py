"""Reads of the channels app: which endpoint receives at an address, which one an
institution sends from."""

from __future__ import annotations

from ventanilla.channels.models import ChannelEndpoint


def endpoint_for(*, provider: str, address: str) -> ChannelEndpoint | None:
    """The active endpoint receiving at ``address`` on ``provider`` (normalised)."""
    return (ChannelEndpoint.objects.select_related("institution", "channel", "ticket_type",
                                                   "topic")
            .filter(provider=provider, address=address.strip().lower(), is_active=True).first())


def endpoint_sending(*, institution_id: int, provider: str) -> ChannelEndpoint | None:
    """The endpoint an institution sends from on a provider (its first active one)."""
    return (ChannelEndpoint.objects.filter(institution_id=institution_id, provider=provider,
                                           is_active=True).order_by("pk").first())
