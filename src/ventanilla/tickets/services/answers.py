"""The second and third answers of the Type 2 workflow: drafts, approval, sending.

An answer is drafted for a stage (``plan``: next steps within 72 hours, or ``final``: the
answer that closes the ticket) by the area or the channel administrator. On a sensitive topic
it goes to a supervisor for approval; otherwise submitting approves it. It is sent by the
channel administrator, a supervisor or a sysadmin — or by the area itself when the area
``sends_answers``. Sending is the public reply: timeline event, e-mail through the outbox, the
stage's time for the deadlines, and, for the final answer, the closure (its e-mail is the
closure message: the citizen receives one message, not two).

Every function is one use case: one transaction, the ticket row locked, permissions checked.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_for_ticket
from ventanilla.sla.services import sla_stage_reached
from ventanilla.surveys.services import survey_invite_on_close
from ventanilla.tickets import permissions
from ventanilla.tickets.models import (
    AnswerStatus,
    EventKind,
    ResponseStage,
    Status,
    Ticket,
    TicketAnswer,
    TicketEvent,
)
from ventanilla.tickets.services.common import locked_ticket
from ventanilla.tickets.services.lifecycle import apply_status_change

ANSWER_STAGES = (ResponseStage.PLAN, ResponseStage.FINAL)
# Answers that can still be edited by their author.
EDITABLE = (AnswerStatus.DRAFT, AnswerStatus.REJECTED)
_ORDER = {ResponseStage.ACK: 0, ResponseStage.PLAN: 1, ResponseStage.FINAL: 2,
          ResponseStage.DONE: 3}
MAX_TEXT = 10_000


def topic_is_sensitive(ticket: Ticket) -> bool:
    """Answers on a sensitive topic (or a product of a sensitive program) need approval."""
    topic = ticket.topic
    return bool(topic.is_sensitive or (topic.parent_id and topic.parent.is_sensitive))


def needs_root_cause(ticket: Ticket, stage: str) -> bool:
    return stage == ResponseStage.FINAL and ticket.ticket_type.requires_root_cause


def stage_open_for_answer(ticket: Ticket, stage: str) -> bool:
    """The ticket is open and ``stage`` is its current stage or a later one (a final answer
    may be given while the ticket is at the plan stage)."""
    return (ticket.status != Status.CLOSED and stage in ANSWER_STAGES
            and _ORDER[ResponseStage(stage)] >= _ORDER[ResponseStage(ticket.stage)])


def _check_stage(ticket: Ticket, stage: str) -> None:
    if stage not in ANSWER_STAGES:
        raise ValidationError({"stage": _("Elija la respuesta intermedia o la final.")})
    if ticket.status == Status.CLOSED:
        raise ValidationError(
            {"body": _("El requerimiento está cerrado; reábralo para responder.")})
    if not stage_open_for_answer(ticket, stage):
        raise ValidationError({"stage": _(
            "La respuesta intermedia ya se envió: ahora corresponde la respuesta final.")})


def _check_root_cause(root_cause: str, corrective_action: str) -> None:
    errors = {}
    if not root_cause.strip():
        errors["root_cause"] = _("Indique la causa raíz: un reclamo no se cierra sin ella.")
    if not corrective_action.strip():
        errors["corrective_action"] = _(
            "Indique la acción correctiva tomada: se informa a la persona en la respuesta final.")
    if errors:
        raise ValidationError(errors)


def _locked_answer(answer: TicketAnswer) -> tuple[Ticket, TicketAnswer]:
    """Lock the ticket first (the order every ticket service uses), then read the answer."""
    ticket = locked_ticket(answer.ticket)
    return ticket, TicketAnswer.objects.select_for_update().get(pk=answer.pk)


def _event(ticket: Ticket, kind: str, actor, answer: TicketAnswer, body: str = "",
           **data) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=kind, actor=actor, is_public=False, body=body,
        data={"stage": answer.stage, "answer_id": answer.pk, **data},
    )


def answer_draft(*, ticket: Ticket, actor, stage: str, body: str, root_cause: str = "",
                 corrective_action: str = "") -> TicketAnswer:
    """Create, or update, the actor's open draft for ``stage``. A returned (rejected) draft
    that is edited becomes a draft again."""
    body, root_cause, corrective_action = body.strip(), root_cause.strip(), (
        corrective_action.strip())
    if not body:
        raise ValidationError({"body": _("Escriba la respuesta.")})
    for name, value in (("body", body), ("root_cause", root_cause),
                        ("corrective_action", corrective_action)):
        if len(value) > MAX_TEXT:
            raise ValidationError({name: _("El texto es demasiado largo (máximo %(max)d "
                                           "caracteres).") % {"max": MAX_TEXT}})
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        permissions.require(actor, "answer_draft", ticket)
        _check_stage(ticket, stage)
        answer = (TicketAnswer.objects.select_for_update()
                  .filter(ticket=ticket, stage=stage, author=actor, status__in=EDITABLE)
                  .order_by("-created_at", "-id").first())
        created = answer is None
        if created:
            answer = TicketAnswer(ticket=ticket, stage=stage, author=actor)
        answer.body = body
        answer.root_cause = root_cause
        answer.corrective_action = corrective_action
        answer.status = AnswerStatus.DRAFT
        answer.save()
        _event(ticket, EventKind.ANSWER_DRAFTED, actor, answer, created=created)
        Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    return answer


def answer_submit(*, answer: TicketAnswer, actor) -> TicketAnswer:
    """A finished draft: to a supervisor's approval on a sensitive topic, otherwise
    approved at once (ready to be sent)."""
    with transaction.atomic():
        ticket, answer = _locked_answer(answer)
        permissions.require(actor, "answer_draft", ticket)
        if answer.status not in EDITABLE:
            raise ValidationError(_("Esta respuesta ya no es un borrador."))
        _check_stage(ticket, answer.stage)
        if needs_root_cause(ticket, answer.stage):
            _check_root_cause(answer.root_cause, answer.corrective_action)
        now = timezone.now()
        if topic_is_sensitive(ticket):
            answer.status = AnswerStatus.PENDING_APPROVAL
            answer.save(update_fields=["status", "updated_at"])
            _event(ticket, EventKind.ANSWER_SUBMITTED, actor, answer)
        else:
            answer.status = AnswerStatus.APPROVED
            answer.reviewed_by, answer.reviewed_at = actor, now
            answer.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
            _event(ticket, EventKind.ANSWER_APPROVED, actor, answer, automatic=True,
                   body=_("Tema no sensible: lista para enviar sin aprobación."))
    return answer


def answer_review(*, answer: TicketAnswer, actor, approve: bool,
                  comment: str = "") -> TicketAnswer:
    """A supervisor approves an answer waiting for approval, or returns it with a comment."""
    comment = comment.strip()
    if not approve and not comment:
        raise ValidationError({"comment": _("Explique qué debe corregirse antes de devolverla.")})
    with transaction.atomic():
        ticket, answer = _locked_answer(answer)
        permissions.require(actor, "answer_review", ticket)
        if answer.status != AnswerStatus.PENDING_APPROVAL:
            raise ValidationError(_("Esta respuesta no está esperando aprobación."))
        answer.status = AnswerStatus.APPROVED if approve else AnswerStatus.REJECTED
        answer.reviewed_by, answer.reviewed_at = actor, timezone.now()
        answer.review_comment = comment
        answer.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_comment",
                                   "updated_at"])
        _event(ticket, EventKind.ANSWER_APPROVED if approve else EventKind.ANSWER_REJECTED,
               actor, answer, body=comment)
        audit_record(actor=actor, action="ticket.answer_approved" if approve
                     else "ticket.answer_rejected", obj=ticket, institution=ticket.institution,
                     data={"answer_id": answer.pk})
    return answer


def answer_send(*, answer: TicketAnswer, actor) -> TicketAnswer:
    """Send an approved answer (or a draft on a non-sensitive topic: submit and send in one
    step) to the citizen. The final answer closes the ticket."""
    with transaction.atomic():
        ticket, answer = _locked_answer(answer)
        permissions.require(actor, "answer_send", ticket)
        if answer.status == AnswerStatus.SENT:
            raise ValidationError(_("Esta respuesta ya fue enviada."))
        if answer.status == AnswerStatus.PENDING_APPROVAL:
            raise ValidationError(_("Esta respuesta espera la aprobación de un supervisor."))
        if answer.status != AnswerStatus.APPROVED:
            if topic_is_sensitive(ticket):
                raise ValidationError(_("El tema es sensible: la respuesta necesita la "
                                        "aprobación de un supervisor antes de enviarse."))
            if answer.status != AnswerStatus.DRAFT:
                raise ValidationError(_("Corrija la respuesta devuelta antes de enviarla."))
        _check_stage(ticket, answer.stage)
        is_final = answer.stage == ResponseStage.FINAL
        if needs_root_cause(ticket, answer.stage):
            _check_root_cause(answer.root_cause, answer.corrective_action)
        now = timezone.now()
        body = answer.body.strip()
        if needs_root_cause(ticket, answer.stage):
            body += "\n\n" + _("Acción correctiva: %(action)s") % {
                "action": answer.corrective_action.strip()}
        event = TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.REPLY, actor=actor, is_public=True, body=body,
            created_at=now, data={"stage": answer.stage, "answer_id": answer.pk},
        )
        fields = ["stage", "updated_at"]
        if ticket.first_answered_at is None:
            ticket.first_answered_at = now
            fields.append("first_answered_at")
        if ticket.plan_answered_at is None:
            # A final answer given while the plan was still due satisfies the plan too.
            ticket.plan_answered_at = now
            fields.append("plan_answered_at")
        if is_final:
            if ticket.final_answered_at is None:
                ticket.final_answered_at = now
                fields.append("final_answered_at")
            if needs_root_cause(ticket, answer.stage):
                ticket.root_cause = answer.root_cause.strip()
                ticket.corrective_action = answer.corrective_action.strip()
                fields += ["root_cause", "corrective_action"]
            ticket.stage = ResponseStage.DONE
        else:
            ticket.stage = ResponseStage.FINAL
        ticket.save(update_fields=fields)
        sla_stage_reached(ticket=ticket, stage=answer.stage, at=now)
        if is_final:
            apply_status_change(ticket=ticket, actor=actor, to_status=Status.CLOSED, now=now,
                                reason=_("Cerrado con la respuesta final."), notify=False)
        elif ticket.status == Status.NEW:
            apply_status_change(ticket=ticket, actor=actor, to_status=Status.IN_PROGRESS,
                                now=now)
        answer.status = AnswerStatus.SENT
        answer.sent_by, answer.sent_at, answer.event = actor, now, event
        if answer.reviewed_at is None:  # sent straight from a draft: sending approves it
            answer.reviewed_by, answer.reviewed_at = actor, now
        answer.save()
        outbox_enqueue_for_ticket(
            dedupe_key=f"ticket-{ticket.pk}-answer-{answer.pk}",
            template="answer_final" if is_final else "answer_plan",
            context={"ticket": ticket, "body": answer.body.strip(),
                     "corrective_action": ticket.corrective_action if is_final else "",
                     "survey_url": survey_invite_on_close(ticket=ticket) if is_final else ""},
            ticket=ticket,
        )
        audit_record(actor=actor, action="ticket.answer_sent", obj=ticket,
                     institution=ticket.institution,
                     data={"answer_id": answer.pk, "stage": answer.stage, "event_id": event.pk})
    return answer


def ticket_set_root_cause(*, ticket: Ticket, actor, root_cause: str,
                          corrective_action: str) -> Ticket:
    """Record a complaint's root cause and corrective action on the ticket (so that it may
    be closed by a status change; the usual way is the final answer, which records them)."""
    _check_root_cause(root_cause, corrective_action)
    with transaction.atomic():
        ticket = locked_ticket(ticket)
        permissions.require(actor, "set_root_cause", ticket)
        ticket.root_cause = root_cause.strip()
        ticket.corrective_action = corrective_action.strip()
        ticket.save(update_fields=["root_cause", "corrective_action", "updated_at"])
        TicketEvent.objects.create(
            ticket=ticket, kind=EventKind.NOTE, actor=actor, is_public=False,
            body=_("Causa raíz: %(cause)s\nAcción correctiva: %(action)s") % {
                "cause": ticket.root_cause, "action": ticket.corrective_action},
            data={"root_cause": True},
        )
        audit_record(actor=actor, action="ticket.root_cause_set", obj=ticket,
                     institution=ticket.institution)
    return ticket
