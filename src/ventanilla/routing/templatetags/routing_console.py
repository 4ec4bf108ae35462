"""``{% triage_ticket_actions ticket %}``: the triage / assignment panel of the console's
ticket page (rendered by ``console/triage/ticket_actions.html``)."""

from django import template

from ventanilla.tickets import permissions
from ventanilla.tickets.models import TriageStatus

register = template.Library()


@register.inclusion_tag("console/triage/_ticket_actions_panel.html", takes_context=True)
def triage_ticket_actions(context, ticket):
    from ventanilla.console.selectors import area_list
    from ventanilla.console.views_triage import AssignForm, correct_form_for
    from ventanilla.routing.services import assignee_choices

    request = context.get("request")
    user = getattr(request, "user", None)
    can_triage = permissions.can(user, "triage", ticket)
    is_pending = ticket.triage_status == TriageStatus.PENDING
    can_take = (ticket.is_open and ticket.assignee_id != getattr(user, "pk", None)
                and permissions.can(user, "take", ticket))
    assign_form = None
    if ticket.is_open and permissions.can(user, "assign", ticket):
        assign_form = AssignForm(members=assignee_choices(ticket=ticket))
        assign_form.initial["assignee"] = str(ticket.assignee_id) if ticket.assignee_id else ""
    correct_form = None
    if can_triage and is_pending:
        correct_form = correct_form_for(ticket, list(area_list(institution=ticket.institution)))
    return {
        "request": request, "ticket": ticket, "can_triage": can_triage, "is_pending": is_pending,
        "can_take": can_take, "assign_form": assign_form, "correct_form": correct_form,
        "show": can_triage or can_take or assign_form is not None or ticket.assignee_id,
        "csrf_token": context.get("csrf_token"),
    }
