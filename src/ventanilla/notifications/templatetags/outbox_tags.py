"""``{% load outbox_tags %}{% outbound_for_ticket ticket as deliveries %}`` for the console's
delivery panel (``console/deliveries/panel.html``), so the panel needs only ``ticket``."""

from django import template

from ventanilla.notifications import selectors
from ventanilla.notifications.selectors import ERROR_PREVIEW

register = template.Library()


@register.simple_tag
def outbound_for_ticket(ticket):
    return list(selectors.outbound_for_ticket(ticket))


@register.filter
def error_preview(text: str) -> str:
    """The first line of a delivery error, shortened."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return first if len(first) <= ERROR_PREVIEW else first[:ERROR_PREVIEW - 1] + "…"
