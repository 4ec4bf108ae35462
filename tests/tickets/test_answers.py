"""The three-stage answer: drafts, approval on sensitive topics, sending, closing rules."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.factories import TopicFactory, open_ticket
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import (
    AnswerStatus,
    EventKind,
    ResponseStage,
    Status,
    Ticket,
    TicketAnswer,
    TriageStatus,
)
from ventanilla.tickets.services import (
    answer_draft,
    answer_review,
    answer_send,
    answer_submit,
    ticket_change_status,
    ticket_reply,
    ticket_set_root_cause,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(catalog):
    institution, area = catalog["institution"], catalog["area"]
    return {
        "triage": staff(institution, Role.TRIAGE),
        "responder": staff(institution, Role.RESPONDER, areas=[area]),
        "supervisor": staff(institution, Role.SUPERVISOR),
        "sysadmin": staff(institution, Role.SYSADMIN),
        "operator": staff(institution, Role.OPERATOR),
        "auditor": staff(institution, Role.AUDITOR),
        "other_responder": staff(institution, Role.RESPONDER),
    }


def confirmed_ticket(catalog, **overrides):
    """A Type 2 ticket whose triage is done (so that its area's responders act on it)."""
    ticket = open_ticket(catalog, **overrides)
    Ticket.objects.filter(pk=ticket.pk).update(triage_status=TriageStatus.CONFIRMED)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def complaint_catalog(catalog):
    catalog["complaint"].requires_root_cause = True
    catalog["complaint"].save()
    return catalog


def citizen_messages(ticket):
    return list(OutboundMessage.objects.filter(ticket=ticket).order_by("id"))


# --- end to end ---------------------------------------------------------------------------------

def test_type2_complaint_end_to_end(complaint_catalog, people, mailoutbox,
                                    django_capture_on_commit_callbacks):
    catalog = complaint_catalog
    with django_capture_on_commit_callbacks(execute=True):
        ticket = confirmed_ticket(catalog, delivered=False)
    assert ticket.stage == ResponseStage.PLAN and ticket.acknowledged_at is not None
    assert len(mailoutbox) == 1 and "Recibimos" in mailoutbox[0].subject

    # The area drafts the plan; the channel administrator sends it.
    plan = answer_draft(ticket=ticket, actor=people["responder"], stage=ResponseStage.PLAN,
                        body="Revisaremos la entrega con la empresa proveedora esta semana.")
    assert plan.status == AnswerStatus.DRAFT
    plan = answer_submit(answer=plan, actor=people["responder"])
    assert plan.status == AnswerStatus.APPROVED  # topic not sensitive: no approval step
    with pytest.raises(PermissionDenied):  # the area does not send its own answers
        answer_send(answer=plan, actor=people["responder"])
    with django_capture_on_commit_callbacks(execute=True):
        plan = answer_send(answer=plan, actor=people["triage"])
    ticket.refresh_from_db()
    assert plan.status == AnswerStatus.SENT and plan.sent_by == people["triage"]
    assert ticket.stage == ResponseStage.FINAL and ticket.status == Status.IN_PROGRESS
    assert ticket.plan_answered_at == plan.sent_at == ticket.first_answered_at
    assert ticket.final_answered_at is None
    reply = ticket.events.get(kind=EventKind.REPLY)
    assert reply.is_public and reply.data == {"stage": "plan", "answer_id": plan.pk}
    assert plan.event == reply
    assert len(mailoutbox) == 2
    assert "Próximos pasos" in mailoutbox[1].subject
    assert "empresa proveedora" in mailoutbox[1].body

    # The final answer needs the root cause and the corrective action.
    final = answer_draft(ticket=ticket, actor=people["responder"], stage=ResponseStage.FINAL,
                         body="La colación se entregó el martes.")
    with pytest.raises(ValidationError) as refused:
        answer_submit(answer=final, actor=people["responder"])
    assert set(refused.value.message_dict) == {"root_cause", "corrective_action"}
    final = answer_draft(ticket=ticket, actor=people["responder"], stage=ResponseStage.FINAL,
                         body="La colación se entregó el martes.",
                         root_cause="El camión no tenía la ruta actualizada.",
                         corrective_action="Se actualizó la ruta y se agregó un control diario.")
    assert TicketAnswer.objects.filter(ticket=ticket, stage="final").count() == 1  # updated
    final = answer_submit(answer=final, actor=people["responder"])
    with django_capture_on_commit_callbacks(execute=True):
        answer_send(answer=final, actor=people["supervisor"])
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.closed_at is not None
    assert ticket.stage == ResponseStage.DONE and ticket.final_answered_at is not None
    assert ticket.root_cause == "El camión no tenía la ruta actualizada."
    assert ticket.corrective_action.startswith("Se actualizó la ruta")
    closing = ticket.events.get(kind=EventKind.STATUS_CHANGED, to_status=Status.CLOSED)
    assert closing.actor == people["supervisor"]
    final_reply = ticket.events.filter(kind=EventKind.REPLY).last()
    assert "Acción correctiva: Se actualizó la ruta" in final_reply.body
    assert "camión" not in final_reply.body  # the root cause stays internal
    # Received, plan, final: three messages in that order, no separate closure message.
    assert len(mailoutbox) == 3
    assert "Respuesta final" in mailoutbox[2].subject
    assert "Acción correctiva adoptada: Se actualizó la ruta" in mailoutbox[2].body
    assert "queda cerrado" in mailoutbox[2].body
    assert "opinión" not in mailoutbox[2].body  # no survey link yet: the line is left out
    assert [m.dedupe_key.rsplit("-", 2)[-2:] for m in citizen_messages(ticket)][1:] == [
        ["answer", str(plan.pk)], ["answer", str(final.pk)]]
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.ANSWER_DRAFTED) == 3
    assert kinds.count(EventKind.ANSWER_APPROVED) == 2


def test_final_answer_satisfies_plan_when_plan_skipped(catalog, people, mailoutbox,
                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = confirmed_ticket(catalog, delivered=False)
    final = answer_draft(ticket=ticket, actor=people["triage"], stage=ResponseStage.FINAL,
                         body="Ya se repuso la colación.")
    with django_capture_on_commit_callbacks(execute=True):
        answer_send(answer=final, actor=people["triage"])  # draft → sent in one step
    ticket.refresh_from_db()
    final.refresh_from_db()
    assert final.status == AnswerStatus.SENT and final.reviewed_by == people["triage"]
    assert ticket.status == Status.CLOSED and ticket.stage == ResponseStage.DONE
    assert ticket.plan_answered_at == ticket.final_answered_at == final.sent_at
    assert [m.subject.split("] ")[1] for m in mailoutbox] == [
        "Recibimos su reclamo", "Respuesta final a su reclamo"]
    # The plan can no longer be answered.
    with pytest.raises(ValidationError):
        answer_draft(ticket=ticket, actor=people["triage"], stage=ResponseStage.PLAN, body="x")


def test_plan_cannot_be_drafted_after_it_was_sent(catalog, people):
    ticket = confirmed_ticket(catalog)
    plan = answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="Pasos")
    answer_send(answer=plan, actor=people["triage"])
    with pytest.raises(ValidationError) as refused:
        answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="Otra")
    assert "respuesta final" in refused.value.message_dict["stage"][0]
    stale = TicketAnswer.objects.create(ticket=ticket, stage="plan", body="vieja",
                                        author=people["triage"])
    with pytest.raises(ValidationError):
        answer_send(answer=stale, actor=people["triage"])
    with pytest.raises(ValidationError):
        answer_draft(ticket=ticket, actor=people["triage"], stage="ack", body="x")


def test_sensitive_topic_needs_approval_rejected_then_approved(
        catalog, people, mailoutbox, django_capture_on_commit_callbacks):
    program = TopicFactory(institution=catalog["institution"], name="Denuncias",
                           is_sensitive=True, default_area=catalog["area"])
    product = TopicFactory(institution=catalog["institution"], name="Maltrato",
                           parent=program, default_area=catalog["area"])
    ticket = confirmed_ticket(catalog, topic=product)  # sensitive through its program
    answer = answer_draft(ticket=ticket, actor=people["responder"], stage="plan",
                          body="Primera versión")
    # Not sendable before approval, even by the administrator.
    with pytest.raises(ValidationError):
        answer_send(answer=answer, actor=people["triage"])
    answer = answer_submit(answer=answer, actor=people["responder"])
    assert answer.status == AnswerStatus.PENDING_APPROVAL
    with pytest.raises(ValidationError):
        answer_send(answer=answer, actor=people["triage"])
    for role in ("triage", "responder", "operator"):
        with pytest.raises(PermissionDenied):
            answer_review(answer=answer, actor=people[role], approve=True)
    with pytest.raises(ValidationError) as no_comment:
        answer_review(answer=answer, actor=people["supervisor"], approve=False, comment=" ")
    assert "comment" in no_comment.value.message_dict
    answer = answer_review(answer=answer, actor=people["supervisor"], approve=False,
                           comment="Quite el nombre del funcionario.")
    assert answer.status == AnswerStatus.REJECTED
    assert answer.review_comment == "Quite el nombre del funcionario."
    with pytest.raises(ValidationError):
        answer_send(answer=answer, actor=people["triage"])
    with pytest.raises(ValidationError):  # nothing to review any more
        answer_review(answer=answer, actor=people["supervisor"], approve=True)
    # The author corrects the same answer and submits it again.
    edited = answer_draft(ticket=ticket, actor=people["responder"], stage="plan",
                          body="Versión corregida")
    assert edited.pk == answer.pk and edited.status == AnswerStatus.DRAFT
    answer_submit(answer=edited, actor=people["responder"])
    approved = answer_review(answer=edited, actor=people["sysadmin"], approve=True)
    assert approved.status == AnswerStatus.APPROVED and approved.reviewed_by == people["sysadmin"]
    with django_capture_on_commit_callbacks(execute=True):
        answer_send(answer=approved, actor=people["triage"])
    assert mailoutbox[-1].body.count("Versión corregida") == 1
    kinds = list(ticket.events.order_by("id").values_list("kind", flat=True))
    assert [k for k in kinds if k.startswith("answer_")] == [
        "answer_drafted", "answer_submitted", "answer_rejected", "answer_drafted",
        "answer_submitted", "answer_approved"]
    rejected = ticket.events.get(kind=EventKind.ANSWER_REJECTED)
    assert not rejected.is_public and rejected.body == "Quite el nombre del funcionario."


def test_area_that_sends_answers_lets_the_responder_send(catalog, people, mailoutbox,
                                                         django_capture_on_commit_callbacks):
    catalog["area"].sends_answers = True
    catalog["area"].save()
    ticket = confirmed_ticket(catalog)
    answer = answer_draft(ticket=ticket, actor=people["responder"], stage="plan", body="Pasos")
    with django_capture_on_commit_callbacks(execute=True):
        answer_send(answer=answer, actor=people["responder"])
    ticket.refresh_from_db()
    assert ticket.stage == ResponseStage.FINAL
    assert len(mailoutbox) == 1 and "Próximos pasos" in mailoutbox[0].subject
    # A responder of another area still cannot, nor draft there.
    with pytest.raises(PermissionDenied):
        answer_draft(ticket=ticket, actor=people["other_responder"], stage="final", body="x")


def test_double_send_sends_one_message(catalog, people, mailoutbox,
                                       django_capture_on_commit_callbacks):
    ticket = confirmed_ticket(catalog)
    answer = answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="Pasos")
    with django_capture_on_commit_callbacks(execute=True):
        answer_send(answer=answer, actor=people["triage"])
    stale_copy = TicketAnswer.objects.get(pk=answer.pk)
    with pytest.raises(ValidationError) as refused:
        answer_send(answer=stale_copy, actor=people["supervisor"])
    assert "ya fue enviada" in refused.value.messages[0]
    assert OutboundMessage.objects.filter(dedupe_key__contains="-answer-").count() == 1
    assert ticket.events.filter(kind=EventKind.REPLY).count() == 1
    assert len(mailoutbox) == 1


def test_answer_without_e_mail_is_recorded(catalog, people):
    ticket = confirmed_ticket(catalog, email="")
    answer = answer_draft(ticket=ticket, actor=people["triage"], stage="final", body="Listo")
    answer_send(answer=answer, actor=people["triage"])
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert not OutboundMessage.objects.filter(ticket=ticket).exists()


def test_draft_validation_and_closed_ticket(catalog, people):
    ticket = confirmed_ticket(catalog)
    with pytest.raises(ValidationError) as empty:
        answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="  ")
    assert "body" in empty.value.message_dict
    with pytest.raises(ValidationError) as long:
        answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="x" * 10_001)
    assert "body" in long.value.message_dict
    with pytest.raises(ValidationError):
        answer_draft(ticket=ticket, actor=people["triage"], stage="bogus", body="x")
    answer = answer_draft(ticket=ticket, actor=people["triage"], stage="final", body="x")
    ticket_change_status(ticket=ticket, actor=people["triage"], to_status=Status.CLOSED)
    with pytest.raises(ValidationError) as closed:
        answer_draft(ticket=ticket, actor=people["triage"], stage="final", body="y")
    assert "cerrado" in closed.value.message_dict["body"][0]
    with pytest.raises(ValidationError):
        answer_send(answer=answer, actor=people["triage"])
    assert not TicketAnswer.objects.filter(body="y").exists()


def test_each_author_has_own_draft(catalog, people):
    ticket = confirmed_ticket(catalog)
    first = answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="A")
    second = answer_draft(ticket=ticket, actor=people["responder"], stage="plan", body="B")
    again = answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="A2")
    assert first.pk == again.pk != second.pk
    assert TicketAnswer.objects.get(pk=first.pk).body == "A2"
    # A submitted (approved) answer is not edited by a new draft: a new one is made.
    answer_submit(answer=again, actor=people["triage"])
    newer = answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="A3")
    assert newer.pk != first.pk
    with pytest.raises(ValidationError):
        answer_submit(answer=again, actor=people["triage"])


# --- permissions per role and action-----------------------------------------------------------

ROLE_ACTIONS = {
    # role: (draft, review, send)
    "triage": (True, False, True),
    "responder": (True, False, False),
    "supervisor": (True, True, True),
    "sysadmin": (True, True, True),
    "operator": (False, False, False),
    "auditor": (False, False, False),
    "other_responder": (False, False, False),
}


@pytest.mark.parametrize("role", sorted(ROLE_ACTIONS))
def test_permissions_per_role(catalog, people, role):
    may_draft, may_review, may_send = ROLE_ACTIONS[role]
    program = TopicFactory(institution=catalog["institution"], is_sensitive=True,
                           default_area=catalog["area"])
    ticket = confirmed_ticket(catalog, topic=program)
    actor = people[role]
    if may_draft:
        answer_draft(ticket=ticket, actor=actor, stage="plan", body="Hola")
    else:
        with pytest.raises(PermissionDenied):
            answer_draft(ticket=ticket, actor=actor, stage="plan", body="Hola")
    pending = answer_submit(
        answer=answer_draft(ticket=ticket, actor=people["supervisor"], stage="final",
                            body="Fin"), actor=people["supervisor"])
    if may_review:
        approved = answer_review(answer=pending, actor=actor, approve=True)
        assert approved.status == AnswerStatus.APPROVED
    else:
        with pytest.raises(PermissionDenied):
            answer_review(answer=pending, actor=actor, approve=True)
        approved = answer_review(answer=pending, actor=people["supervisor"], approve=True)
    if may_send:
        answer_send(answer=approved, actor=actor)
        assert TicketAnswer.objects.get(pk=approved.pk).status == AnswerStatus.SENT
    else:
        with pytest.raises(PermissionDenied):
            answer_send(answer=approved, actor=actor)
        assert TicketAnswer.objects.get(pk=approved.pk).status == AnswerStatus.APPROVED


def test_responder_cannot_draft_while_triage_pending(catalog, people):
    ticket = open_ticket(catalog)
    assert ticket.triage_status == TriageStatus.PENDING
    with pytest.raises(PermissionDenied):
        answer_draft(ticket=ticket, actor=people["responder"], stage="plan", body="x")
    answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="x")


def test_other_institution_staff_cannot_act(catalog, other_catalog, people):
    ticket = confirmed_ticket(catalog)
    outsider = staff(other_catalog["institution"], Role.SUPERVISOR)
    with pytest.raises(PermissionDenied):
        answer_draft(ticket=ticket, actor=outsider, stage="plan", body="x")
    answer = answer_draft(ticket=ticket, actor=people["triage"], stage="plan", body="x")
    with pytest.raises(PermissionDenied):
        answer_send(answer=answer, actor=outsider)


# --- closing rules for complaints --------------------------------------------------------------

def test_complaint_refused_closure_without_root_cause(complaint_catalog, people, mailoutbox,
                                                      django_capture_on_commit_callbacks):
    catalog = complaint_catalog
    ticket = confirmed_ticket(catalog)
    # Through the final answer: sending a draft without them is refused, nothing stored.
    final = answer_draft(ticket=ticket, actor=people["triage"], stage="final", body="Fin")
    with pytest.raises(ValidationError) as refused:
        answer_send(answer=final, actor=people["triage"])
    assert set(refused.value.message_dict) == {"root_cause", "corrective_action"}
    # Through a status change, and through a reply "and close".
    with pytest.raises(ValidationError) as by_status:
        ticket_change_status(ticket=ticket, actor=people["triage"], to_status=Status.CLOSED)
    assert "causa raíz" in by_status.value.message_dict["status"][0]
    with pytest.raises(ValidationError):
        ticket_reply(ticket=ticket, actor=people["triage"], body="Cerramos.",
                     then_status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.closed_at is None
    assert not ticket.events.filter(kind__in=[EventKind.REPLY, EventKind.STATUS_CHANGED]).exists()
    assert TicketAnswer.objects.get(pk=final.pk).status == AnswerStatus.DRAFT
    assert OutboundMessage.objects.filter(ticket=ticket).count() == 1  # the receipt only

    # Recording them on the ticket allows the closure by status change.
    with pytest.raises(ValidationError):
        ticket_set_root_cause(ticket=ticket, actor=people["triage"], root_cause="x",
                              corrective_action=" ")
    with pytest.raises(PermissionDenied):
        ticket_set_root_cause(ticket=ticket, actor=people["operator"], root_cause="Causa",
                              corrective_action="Acción")
    ticket_set_root_cause(ticket=ticket, actor=people["responder"], root_cause="Causa",
                          corrective_action="Acción")
    note = ticket.events.get(kind=EventKind.NOTE)
    assert not note.is_public and "Causa" in note.body
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, actor=people["triage"], to_status=Status.CLOSED,
                             reason="Resuelto por teléfono")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.stage == ResponseStage.DONE
    assert "fue cerrado" in mailoutbox[-1].subject
    assert "Observación: Resuelto por teléfono" in mailoutbox[-1].body


def test_non_complaint_closes_without_root_cause(catalog, people):
    ticket = confirmed_ticket(catalog)
    ticket_change_status(ticket=ticket, actor=people["triage"], to_status=Status.CLOSED)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.stage == ResponseStage.DONE


def test_reply_and_close_is_one_message(catalog, people, mailoutbox,
                                        django_capture_on_commit_callbacks):
    ticket = confirmed_ticket(catalog)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=people["triage"], body="Solucionado.",
                     then_status=Status.CLOSED)
    assert len(mailoutbox) == 1
    assert "fue cerrado" in mailoutbox[0].subject and "Solucionado." in mailoutbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, actor=people["triage"],
                             to_status=Status.IN_PROGRESS, reason="Faltó un dato")
        ticket_reply(ticket=ticket, actor=people["triage"], body="Le pedimos su dirección.",
                     then_status=Status.WAITING_CITIZEN)
    assert "Reabrimos" in mailoutbox[1].subject
    assert "Esperando a la persona" in mailoutbox[2].body  # the e-mail shows the new status
