"""Demo endpoints: ``seed_channels_demo(institution, number)`` gives an institution a
mailbox, a WhatsApp number, a Facebook page and an SMS number (fake ids; nothing is ever
sent to Meta or Twilio without real credentials in the settings). Messages arriving there
open a "Consulta" on the first program topic; triage corrects it. Idempotent."""

from __future__ import annotations

from ventanilla.catalog.models import Channel, Institution, TicketType, Topic
from ventanilla.channels.models import ChannelEndpoint, Provider


def demo_endpoint_addresses(institution: Institution, number: int) -> dict[str, tuple]:
    """provider → (channel code, address, display name) for the ``number``-th institution."""
    slug = institution.slug
    return {
        Provider.EMAIL: ("email", f"oirs@{slug}.demo.ventanilla.cl",
                         f"OIRS {institution.short_name}"),
        Provider.WHATSAPP: ("whatsapp", f"10000000000000{number}", "+56 2 2700 000" + str(number)),
        Provider.MESSENGER: ("social", f"20000000000000{number}",
                             f"{institution.short_name} en Facebook"),
        Provider.TWILIO: ("sms", f"5622700000{number}", "+56 2 2700 000" + str(number)),
    }


def seed_channels_demo(institution: Institution, number: int) -> list[ChannelEndpoint]:
    ticket_type = (TicketType.objects.filter(institution=institution, code="consulta").first()
                   or TicketType.objects.filter(institution=institution).order_by("pk").first())
    topic = Topic.objects.filter(institution=institution, parent__isnull=True).order_by(
        "position", "pk").first()
    endpoints = []
    for provider, (channel_code, address, display) in demo_endpoint_addresses(
            institution, number).items():
        endpoint, _ = ChannelEndpoint.objects.get_or_create(
            provider=provider, address=address,
            defaults={"institution": institution, "channel": Channel.objects.get(code=channel_code),
                      "display_name": display, "ticket_type": ticket_type, "topic": topic},
        )
        endpoints.append(endpoint)
    return endpoints
