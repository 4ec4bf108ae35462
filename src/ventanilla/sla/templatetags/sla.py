"""``{% load sla %}``: a ticket's SLA state and panel for the console templates."""

from django import template

from ventanilla.sla.selectors import STATE_LABELS, sla_panel, sla_state

register = template.Library()

# The console's existing badge colours (console.css), so no new CSS is needed: the text
# always names the state, the colour only repeats it.
BADGE_CLASS = {
    "ok": "badge-new",
    "at_risk": "badge-in_progress",
    "breached": "badge-overdue",
    "paused": "badge-waiting_citizen",
    "done": "badge-closed",
}


@register.filter
def sla_state_of(ticket) -> str:
    return sla_state(ticket)


@register.filter
def sla_state_label(state: str) -> str:
    return str(STATE_LABELS.get(state, ""))


@register.filter
def sla_badge_class(state: str) -> str:
    return BADGE_CLASS.get(state, "")


@register.simple_tag
def sla_panel_for(ticket):
    return sla_panel(ticket)
