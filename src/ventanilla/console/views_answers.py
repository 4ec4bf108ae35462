"""Console: the plan and final answers of a ticket (drafts, approval, sending) — thin views.

The ticket page shows ``console/answers/panel.html`` with the context of
``answers_panel_context``; the answers page (``console/answers/page.html``, URL name
``console:answers``) shows the same panel next to the citizen's request. Every form posts
here; on an error the answers page is shown again with the messages next to the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from ventanilla.console.context import StaffContext, staff_context_for_institution
from ventanilla.console.forms import add_service_errors
from ventanilla.console.views import _action_denied, _not_found, _ticket_or_none, staff_required
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.tickets import permissions
from ventanilla.tickets.models import AnswerStatus, ResponseStage, Status, Ticket, TicketAnswer
from ventanilla.tickets.services import (
    answer_draft,
    answer_review,
    answer_send,
    answer_submit,
    ticket_set_root_cause,
)
from ventanilla.tickets.services.answers import (
    ANSWER_STAGES,
    EDITABLE,
    MAX_TEXT,
    needs_root_cause,
    stage_open_for_answer,
    topic_is_sensitive,
)

# --- forms ---------------------------------------------------------------------------------------


def _text(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class AnswerForm(AccessibleFormMixin, forms.Form):
    """The draft of one stage's answer (prefix = the stage, so both fit on one page)."""

    body = forms.CharField(
        label=gettext_lazy("Respuesta"), max_length=MAX_TEXT, widget=_text(7),
        help_text=gettext_lazy("Se envía por correo a la persona y queda en su historial."),
        error_messages={"required": gettext_lazy("Escriba la respuesta.")},
    )
    root_cause = forms.CharField(
        label=gettext_lazy("Causa raíz"), max_length=MAX_TEXT, widget=_text(3), required=False,
        help_text=gettext_lazy("Interna: la persona no la ve. Obligatoria para cerrar un "
                               "reclamo."),
    )
    corrective_action = forms.CharField(
        label=gettext_lazy("Acción correctiva"), max_length=MAX_TEXT, widget=_text(3),
        required=False,
        help_text=gettext_lazy("Se informa a la persona en la respuesta final. Obligatoria "
                               "para cerrar un reclamo."),
    )

    def __init__(self, *args, ticket: Ticket, stage: str, **kwargs):
        super().__init__(*args, prefix=stage, **kwargs)
        self.stage = stage
        if not needs_root_cause(ticket, stage):
            del self.fields["root_cause"]
            del self.fields["corrective_action"]


class ReviewForm(AccessibleFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decisión"), widget=forms.HiddenInput,
        choices=[("approve", gettext_lazy("Aprobar")), ("reject", gettext_lazy("Devolver"))],
        error_messages={"required": gettext_lazy("Elija aprobar o devolver."),
                        "invalid_choice": gettext_lazy("Elija aprobar o devolver.")},
    )
    comment = forms.CharField(
        label=gettext_lazy("Comentario para quien redactó"), max_length=MAX_TEXT,
        widget=_text(3), required=False,
        help_text=gettext_lazy("Obligatorio al devolver la respuesta."),
    )

    def __init__(self, *args, answer: TicketAnswer, **kwargs):
        super().__init__(*args, prefix=f"review-{answer.pk}", **kwargs)


class RootCauseForm(AccessibleFormMixin, forms.Form):
    prefix = "rootcause"
    root_cause = forms.CharField(
        label=gettext_lazy("Causa raíz"), max_length=MAX_TEXT, widget=_text(3),
        error_messages={"required": gettext_lazy("Indique la causa raíz.")},
    )
    corrective_action = forms.CharField(
        label=gettext_lazy("Acción correctiva"), max_length=MAX_TEXT, widget=_text(3),
        error_messages={"required": gettext_lazy("Indique la acción correctiva tomada.")},
    )


# --- context for the ticket page -----------------------------------------------------------------

@dataclass
class AnswerRow:
    answer: TicketAnswer
    can_submit: bool = False
    can_send: bool = False
    review_form: ReviewForm | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class StageBlock:
    stage: str
    label: str
    due_at: object
    answered_at: object
    is_current: bool
    is_open: bool
    rows: list[AnswerRow]
    form: AnswerForm | None


def answer_list(ticket: Ticket) -> list[TicketAnswer]:
    return list(TicketAnswer.objects.filter(ticket=ticket)
                .select_related("author", "reviewed_by", "sent_by").order_by("created_at", "pk"))


def answers_panel_context(*, user, ticket: Ticket, forms: dict | None = None) -> dict:
    """What ``console/answers/panel.html`` needs, under the key ``answers_panel``.

    ``forms`` may hold bound forms with errors: ``"plan"``/``"final"`` (drafts),
    ``"review-<id>"``, ``"rootcause"``, and ``"errors-<id>"`` (a list of messages for an
    answer whose submit or send failed)."""
    forms = forms or {}
    may = {action: permissions.can(user, action, ticket)
           for action in ("answer_draft", "answer_review", "answer_send", "set_root_cause")}
    sensitive = topic_is_sensitive(ticket)
    answers = answer_list(ticket)
    blocks = []
    due = {ResponseStage.PLAN: (ticket.plan_due_at, ticket.plan_answered_at),
           ResponseStage.FINAL: (ticket.due_at, ticket.final_answered_at)}
    for stage in ANSWER_STAGES:
        is_open = stage_open_for_answer(ticket, stage)
        rows = []
        for answer in (a for a in answers if a.stage == stage):
            status = answer.status
            row = AnswerRow(answer=answer, errors=forms.get(f"errors-{answer.pk}", []))
            row.can_submit = is_open and may["answer_draft"] and status in EDITABLE
            row.can_send = is_open and may["answer_send"] and (
                status == AnswerStatus.APPROVED
                or (status == AnswerStatus.DRAFT and not sensitive))
            if is_open and may["answer_review"] and status == AnswerStatus.PENDING_APPROVAL:
                row.review_form = forms.get(f"review-{answer.pk}") or ReviewForm(answer=answer)
            rows.append(row)
        form = forms.get(stage)
        if form is None and is_open and may["answer_draft"]:
            own = next((a for a in reversed(answers) if a.stage == stage and a.author_id ==
                        user.pk and a.status in EDITABLE), None)
            initial = ({"body": own.body, "root_cause": own.root_cause,
                        "corrective_action": own.corrective_action} if own else None)
            form = AnswerForm(ticket=ticket, stage=stage, initial=initial)
        blocks.append(StageBlock(
            stage=stage, label=str(ResponseStage(stage).label), due_at=due[stage][0],
            answered_at=due[stage][1], is_current=ticket.stage == stage, is_open=is_open,
            rows=rows, form=form if is_open else None,
        ))
    root_cause_form = None
    if (ticket.ticket_type.requires_root_cause and ticket.status != Status.CLOSED
            and may["set_root_cause"]):
        root_cause_form = forms.get("rootcause") or RootCauseForm(initial={
            "root_cause": ticket.root_cause, "corrective_action": ticket.corrective_action})
    return {"answers_panel": {
        "blocks": blocks, "is_sensitive": sensitive, "may": may,
        "requires_root_cause": ticket.ticket_type.requires_root_cause,
        "root_cause_form": root_cause_form, "is_closed": ticket.status == Status.CLOSED,
        "is_three_stage": bool(answers) or ticket.stage in (ResponseStage.PLAN,
                                                             ResponseStage.FINAL),
    }}


def _render_answers(request, staff: StaffContext, ticket: Ticket, *, forms: dict | None = None,
                    status: int = 200) -> HttpResponse:
    return render(request, "console/answers/page.html", {
        "staff": staff_context_for_institution(staff, ticket.institution_id), "ticket": ticket,
        "answers_standalone": True,
        **answers_panel_context(user=request.user, ticket=ticket, forms=forms),
    }, status=status)


@require_safe
@staff_required
def answers_page(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    return _render_answers(request, staff, ticket)


# --- actions -------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What a handler returns: forms with errors (page again) or a message and a target."""

    forms: dict | None = None
    message: str = ""
    to_ticket: bool = False


def _answers_action(handler):
    """POST around one service call: 404 if the ticket (or answer) is not visible, 403 if the
    role may not act, the answers page with errors (400), else redirect (PRG)."""

    @require_POST
    @staff_required
    def view(request, staff: StaffContext, folio: str, **kwargs):
        ticket = _ticket_or_none(request, staff, folio)
        if ticket is None:
            return _not_found(request, staff)
        answer = None
        if "answer_id" in kwargs:
            answer = TicketAnswer.objects.filter(ticket=ticket, pk=kwargs.pop("answer_id")).first()
            if answer is None:
                return _not_found(request, staff)
            kwargs["answer"] = answer
        try:
            outcome = handler(request, ticket, **kwargs)
        except PermissionDenied:
            return _action_denied(request, staff_context_for_institution(
                staff, ticket.institution_id))
        if outcome.forms is not None:
            return _render_answers(request, staff, ticket, forms=outcome.forms, status=400)
        messages.success(request, outcome.message)
        if outcome.to_ticket:
            return redirect("console:ticket", folio=ticket.folio)
        return redirect(reverse("console:answers", args=[ticket.folio]) + "#answers")

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


def _errors_for_answer(ticket: Ticket, answer: TicketAnswer, error: ValidationError) -> dict:
    """A failed submit or send: field errors (root cause, corrective action) go next to the
    fields of the stage's draft form, filled with the answer's text; the rest on the answer."""
    forms: dict = {}
    if hasattr(error, "error_dict") and stage_open_for_answer(ticket, answer.stage):
        form = AnswerForm({f"{answer.stage}-body": answer.body,
                           f"{answer.stage}-root_cause": answer.root_cause,
                           f"{answer.stage}-corrective_action": answer.corrective_action},
                          ticket=ticket, stage=answer.stage)
        form.is_valid()
        add_service_errors(form, error)
        forms[answer.stage] = form
        forms[f"errors-{answer.pk}"] = [_("Complete los campos marcados y guarde el borrador "
                                          "antes de continuar.")]
    else:
        forms[f"errors-{answer.pk}"] = error.messages
    return forms


@_answers_action
def answer_draft_view(request, ticket: Ticket, stage: str) -> Outcome:
    """Save (create or update) the actor's draft for a stage."""
    permissions.require(request.user, "answer_draft", ticket)
    form = AnswerForm(request.POST, ticket=ticket, stage=stage)
    if not form.is_valid():
        return Outcome(forms={stage: form})
    data = form.cleaned_data
    try:
        answer_draft(ticket=ticket, actor=request.user, stage=stage, body=data["body"],
                     root_cause=data.get("root_cause", ""),
                     corrective_action=data.get("corrective_action", ""))
    except ValidationError as error:
        add_service_errors(form, error)
        return Outcome(forms={stage: form})
    return Outcome(message=_("Borrador guardado: %(stage)s.") % {
        "stage": ResponseStage(stage).label})


@_answers_action
def answer_submit_view(request, ticket: Ticket, answer: TicketAnswer) -> Outcome:
    try:
        answer = answer_submit(answer=answer, actor=request.user)
    except ValidationError as error:
        return Outcome(forms=_errors_for_answer(ticket, answer, error))
    if answer.status == AnswerStatus.PENDING_APPROVAL:
        return Outcome(message=_("Respuesta enviada a aprobación de un supervisor."))
    return Outcome(message=_("Respuesta lista para enviar."))


@_answers_action
def answer_review_view(request, ticket: Ticket, answer: TicketAnswer) -> Outcome:
    permissions.require(request.user, "answer_review", ticket)
    form = ReviewForm(request.POST, answer=answer)
    if not form.is_valid():
        return Outcome(forms={f"review-{answer.pk}": form})
    approve = form.cleaned_data["decision"] == "approve"
    try:
        answer_review(answer=answer, actor=request.user, approve=approve,
                      comment=form.cleaned_data["comment"])
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            add_service_errors(form, error)
            return Outcome(forms={f"review-{answer.pk}": form})
        return Outcome(forms={f"errors-{answer.pk}": error.messages})
    if approve:
        return Outcome(message=_("Respuesta aprobada: ya se puede enviar."))
    return Outcome(message=_("Respuesta devuelta a quien la redactó."))


@_answers_action
def answer_send_view(request, ticket: Ticket, answer: TicketAnswer) -> Outcome:
    try:
        answer = answer_send(answer=answer, actor=request.user)
    except ValidationError as error:
        return Outcome(forms=_errors_for_answer(ticket, answer, error))
    if answer.stage == ResponseStage.FINAL:
        text = _("Respuesta final enviada; el requerimiento quedó cerrado.")
    else:
        text = _("Respuesta intermedia enviada.")
    if not ticket.contact_email:
        text += " " + _("La persona no dejó correo: comuníquela por otro canal.")
    return Outcome(message=text, to_ticket=True)


@_answers_action
def root_cause_view(request, ticket: Ticket) -> Outcome:
    """Record a complaint's root cause and corrective action (to close it by status)."""
    permissions.require(request.user, "set_root_cause", ticket)
    form = RootCauseForm(request.POST)
    if not form.is_valid():
        return Outcome(forms={"rootcause": form})
    try:
        ticket_set_root_cause(ticket=ticket, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        add_service_errors(form, error)
        return Outcome(forms={"rootcause": form})
    return Outcome(message=_("Causa raíz y acción correctiva registradas."), to_ticket=True)
