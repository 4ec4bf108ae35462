"""Helpers for the survey tests: surveys, closing a ticket through the real services."""

from tests.factories import channel
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.catalog.models import Office
from ventanilla.core.models import Comuna
from ventanilla.surveys.models import Survey, SurveyReason
from ventanilla.tickets.models import ResponseStage, Ticket, TriageStatus
from ventanilla.tickets.services import answer_draft, answer_send


def make_survey(institution, *, channel_code: str | None = None, scale: int = 5,
                reasons: int = 0, **fields) -> Survey:
    survey = Survey.objects.create(
        institution=institution, channel=channel(channel_code) if channel_code else None,
        scale=scale, **fields)
    if reasons:
        survey.reasons.set([
            SurveyReason.objects.get_or_create(
                institution=institution, code=f"motivo-{n}",
                defaults={"label": f"Motivo {n}", "position": n})[0]
            for n in range(reasons)])
    return survey


def make_office(institution, name: str = "Oficina Centro", comuna_code: str = "13101"):
    comuna = Comuna.objects.get(code=comuna_code)
    return Office.objects.create(institution=institution, name=name, comuna=comuna,
                                 region=comuna.region)


def close_with_final_answer(ticket, *, actor=None):
    """Send the final answer through the real answer services (it closes the ticket)."""
    actor = actor or staff(ticket.institution, Role.TRIAGE)
    Ticket.objects.filter(pk=ticket.pk).update(triage_status=TriageStatus.CONFIRMED)
    ticket.refresh_from_db()
    final = answer_draft(ticket=ticket, actor=actor, stage=ResponseStage.FINAL,
                         body="Ya se repuso la colación.")
    answer_send(answer=final, actor=actor)
    ticket.refresh_from_db()
    return ticket
