"""Template tags of the surveys app.

``survey_tracking_form`` feeds ``surveys/_tracking_invite.html``, the block the citizen's
tracking page includes for a closed ticket (the portal's view is not the surveys app's, so
the block brings what it needs itself). It may create the ticket's invitation: a survey
shown at the end of tracking is an invitation, counted in the response rate."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format

from ventanilla.surveys.forms import SurveyAnswerForm
from ventanilla.surveys.services import survey_invitation_for_tracking
from ventanilla.tickets.models import Status

register = template.Library()


@register.simple_tag
def survey_tracking_form(ticket):
    if ticket is None or ticket.status != Status.CLOSED:
        return None
    invitation = survey_invitation_for_tracking(ticket=ticket)
    if invitation is None:
        return None
    return SurveyAnswerForm(survey=invitation.survey)


@register.filter
def table_cell(row: dict, column) -> str:
    """A table cell as text: numbers in the locale's format, "—" for nothing to show."""
    value = row.get(column.key)
    if value is None or value == "":
        return "—"
    if column.kind == "percent":
        return number_format(value, 1) + " %"
    if column.kind == "decimal":
        return number_format(value, 1)
    if column.kind == "int":
        return number_format(value, 0, force_grouping=True)
    return str(value)
