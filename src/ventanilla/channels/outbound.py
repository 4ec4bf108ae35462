"""Outbound provider adapters: how a message in the outbox leaves on a channel other than
e-mail. One adapter per channel, in that channel's module; the outbox only knows this
registry (``notifications.services._send`` and ``outbox_enqueue_for_ticket``).

An adapter has two functions:

- ``prepare(*, subject, body, ticket) -> str``: the text to store and send, shaped for the
  channel from the rendered template (an SMS is cut to its segment budget, for instance).
  Called inside the transaction that enqueues the message: it must not call the network.
- ``send(message: OutboundMessage) -> str``: deliver through the provider's API; returns
  the provider's message id (status callbacks update the row through it,
  ``notifications.services.outbox_delivery_update``). Raise
  ``notifications.services.PermanentDeliveryError`` when no retry can help; any other
  exception is retried with backoff.
"""

from __future__ import annotations

import importlib
from typing import Protocol

ADAPTERS = {
    "whatsapp": "ventanilla.channels.whatsapp",
    "messenger": "ventanilla.channels.whatsapp",
    "instagram": "ventanilla.channels.whatsapp",
    "sms": "ventanilla.channels.sms",
}


class OutboundAdapter(Protocol):
    def prepare(self, *, subject: str, body: str, ticket) -> str: ...

    def send(self, message) -> str: ...


class _ChannelAdapter:
    """Binds a channel name to its module's ``outbound_prepare`` / ``outbound_send``."""

    def __init__(self, channel: str, module) -> None:
        self.channel = channel
        self.module = module

    def prepare(self, *, subject: str, body: str, ticket) -> str:
        return self.module.outbound_prepare(channel=self.channel, subject=subject, body=body,
                                            ticket=ticket)

    def send(self, message) -> str:
        return self.module.outbound_send(message)


def adapter_for(channel: str) -> OutboundAdapter:
    try:
        module_name = ADAPTERS[channel]
    except KeyError:
        raise ValueError(f"no outbound adapter for channel {channel!r}") from None
    return _ChannelAdapter(channel, importlib.import_module(module_name))
