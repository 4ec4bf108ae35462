"""Console: the answers panel and page, and their POST views."""

import pytest
from django.urls import reverse

from tests.factories import TopicFactory, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import (
    AnswerStatus,
    ResponseStage,
    Ticket,
    TicketAnswer,
    TriageStatus,
)
from ventanilla.tickets.services import answer_draft, answer_submit

pytestmark = pytest.mark.django_db


def _confirmed(ticket):
    Ticket.objects.filter(pk=ticket.pk).update(triage_status=TriageStatus.CONFIRMED)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def ticket(catalog):
    return _confirmed(open_ticket(catalog, email="juana@example.cl"))


@pytest.fixture
def complaint(catalog):
    catalog["complaint"].requires_root_cause = True
    catalog["complaint"].save()
    return _confirmed(open_ticket(catalog, email="juana@example.cl"))


@pytest.fixture
def sensitive(catalog):
    topic = TopicFactory(institution=catalog["institution"], is_sensitive=True,
                         default_area=catalog["area"])
    return _confirmed(open_ticket(catalog, topic=topic))


def page(ticket):
    return reverse("console:answers", args=[ticket.folio])


def draft_url(ticket, stage):
    return reverse(f"console:answer-draft-{stage}", args=[ticket.folio])


def answer_url(name, answer):
    return reverse(f"console:answer-{name}", args=[answer.ticket.folio, answer.pk])


def test_answers_page_for_triage_shows_both_stage_forms(client, ticket, staff, login):
    login(staff(Role.TRIAGE))
    response = client.get(page(ticket))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Respuestas a la persona" in content
    assert 'id="id_plan-body"' in content and 'id="id_final-body"' in content
    assert 'for="id_plan-body"' in content  # every input has its label
    assert "id_final-root_cause" not in content  # not a type that requires it
    assert ticket.detail in content  # what the person asked, next to the answer


def test_operator_sees_the_answers_read_only(client, ticket, staff, login):
    author = staff(Role.TRIAGE)
    answer_draft(ticket=ticket, actor=author, stage="plan", body="Texto del borrador")
    login(staff(Role.OPERATOR))
    content = client.get(page(ticket)).content.decode()
    assert "Texto del borrador" in content and "Borrador" in content
    assert "id_plan-body" not in content
    assert "Enviar a la persona" not in content
    response = client.post(draft_url(ticket, "plan"), {"plan-body": "Hola"})
    assert response.status_code == 403


def test_auditor_and_other_institution_cannot_use_it(client, ticket, staff, login,
                                                      other_catalog):
    login(staff(Role.AUDITOR))
    assert client.get(page(ticket)).status_code == 403
    client.logout()
    login(staff(Role.SUPERVISOR, institution=other_catalog["institution"]))
    assert client.get(page(ticket)).status_code == 404
    assert client.post(draft_url(ticket, "plan"), {"plan-body": "x"}).status_code == 404
    assert not TicketAnswer.objects.exists()


def test_draft_then_send_plan_from_console(client, ticket, staff, login, mailoutbox,
                                           django_capture_on_commit_callbacks):
    triage = staff(Role.TRIAGE)
    login(triage)
    response = client.post(draft_url(ticket, "plan"), {"plan-body": "Revisaremos la entrega."})
    assert response.status_code == 302
    assert response["Location"] == page(ticket) + "#answers"
    answer = TicketAnswer.objects.get()
    assert (answer.stage, answer.status, answer.author) == ("plan", AnswerStatus.DRAFT, triage)
    content = client.get(page(ticket)).content.decode()
    assert "Revisaremos la entrega." in content
    assert answer_url("send", answer) in content and answer_url("submit", answer) in content
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(answer_url("send", answer), follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:ticket", args=[ticket.folio])
    assert "Respuesta intermedia enviada." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.stage == ResponseStage.FINAL
    assert len(mailoutbox) == 1 and "Revisaremos la entrega." in mailoutbox[0].body
    # A second click (stale page) shows a Spanish error and sends nothing more.
    response = client.post(answer_url("send", answer))
    assert response.status_code == 400
    assert "Esta respuesta ya fue enviada." in response.content.decode()
    assert OutboundMessage.objects.filter(dedupe_key__contains="-answer-").count() == 1


def test_empty_draft_shows_error_next_to_field_and_in_summary(client, ticket, staff, login):
    login(staff(Role.TRIAGE))
    response = client.post(draft_url(ticket, "final"), {"final-body": "  "})
    assert response.status_code == 400
    content = response.content.decode()
    assert "Escriba la respuesta." in content
    assert 'href="#id_final-body"' in content
    assert 'aria-invalid="true"' in content
    assert not TicketAnswer.objects.exists()


def test_complaint_final_shows_root_cause_fields_and_refuses_send_without_them(
        client, complaint, staff, login):
    triage = staff(Role.TRIAGE)
    login(triage)
    content = client.get(page(complaint)).content.decode()
    assert 'id="id_final-root_cause"' in content and 'id="id_final-corrective_action"' in content
    assert "id_plan-root_cause" not in content
    client.post(draft_url(complaint, "final"), {"final-body": "Solucionado."})
    answer = TicketAnswer.objects.get()
    response = client.post(answer_url("send", answer))
    assert response.status_code == 400
    content = response.content.decode()
    assert "Indique la causa raíz" in content
    assert 'href="#id_final-root_cause"' in content
    assert "Solucionado." in content  # the draft's text is kept in the form
    complaint.refresh_from_db()
    assert complaint.status != "closed"
    # Completing the draft lets it through and closes the ticket.
    client.post(draft_url(complaint, "final"), {
        "final-body": "Solucionado.", "final-root_cause": "Ruta mal cargada",
        "final-corrective_action": "Control diario de rutas"})
    response = client.post(answer_url("send", answer))
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == "closed" and complaint.corrective_action == "Control diario de rutas"


def test_root_cause_form_allows_closing_by_status(client, complaint, staff, login):
    login(staff(Role.TRIAGE))
    response = client.post(reverse("console:ticket-status", args=[complaint.folio]),
                           {"status-status": "closed"})
    assert response.status_code == 200
    assert "sin su causa raíz" in response.content.decode()
    response = client.post(reverse("console:ticket-root-cause", args=[complaint.folio]),
                           {"rootcause-root_cause": "", "rootcause-corrective_action": "x"})
    assert response.status_code == 400
    assert "Indique la causa raíz." in response.content.decode()
    response = client.post(reverse("console:ticket-root-cause", args=[complaint.folio]),
                           {"rootcause-root_cause": "Causa", "rootcause-corrective_action": "x"})
    assert response.status_code == 302
    response = client.post(reverse("console:ticket-status", args=[complaint.folio]),
                           {"status-status": "closed"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == "closed"


def test_sensitive_review_flow(client, sensitive, staff, login, catalog):
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    supervisor = staff(Role.SUPERVISOR)
    login(responder)
    client.post(draft_url(sensitive, "plan"), {"plan-body": "Borrador delicado"})
    answer = TicketAnswer.objects.get()
    content = client.get(page(sensitive)).content.decode()
    assert "Tema sensible" in content and "Enviar a aprobación" in content
    assert answer_url("send", answer) not in content
    assert client.post(answer_url("submit", answer)).status_code == 302
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PENDING_APPROVAL
    assert client.post(answer_url("review", answer), {
        f"review-{answer.pk}-decision": "approve"}).status_code == 403

    client.logout()
    login(supervisor)
    content = client.get(page(sensitive)).content.decode()
    assert answer_url("review", answer) in content and "Devolver con comentario" in content
    response = client.post(answer_url("review", answer), {
        f"review-{answer.pk}-decision": "reject", f"review-{answer.pk}-comment": " "})
    assert response.status_code == 400
    assert "Explique qué debe corregirse" in response.content.decode()
    response = client.post(answer_url("review", answer), {
        f"review-{answer.pk}-decision": "reject",
        f"review-{answer.pk}-comment": "Sin nombres, por favor."})
    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.REJECTED

    client.logout()
    login(responder)
    content = client.get(page(sensitive)).content.decode()
    assert "Sin nombres, por favor." in content and "Devuelta" in content
    assert "Borrador delicado" in content  # the form is filled with the returned draft
    client.post(draft_url(sensitive, "plan"), {"plan-body": "Borrador corregido"})
    client.post(answer_url("submit", answer))
    client.logout()
    login(supervisor)
    response = client.post(answer_url("review", answer), {
        f"review-{answer.pk}-decision": "approve"})
    assert response.status_code == 302
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.APPROVED and answer.body == "Borrador corregido"


def test_responder_send_button_depends_on_the_area(client, ticket, staff, login, catalog):
    responder = staff(Role.RESPONDER, areas=[catalog["area"]])
    answer = answer_submit(answer=answer_draft(ticket=ticket, actor=responder, stage="plan",
                                               body="Pasos"), actor=responder)
    login(responder)
    assert answer_url("send", answer) not in client.get(page(ticket)).content.decode()
    assert client.post(answer_url("send", answer)).status_code == 403
    catalog["area"].sends_answers = True
    catalog["area"].save()
    assert answer_url("send", answer) in client.get(page(ticket)).content.decode()
    assert client.post(answer_url("send", answer)).status_code == 302


def test_answer_of_another_ticket_is_not_found(client, ticket, catalog, staff, login):
    triage = staff(Role.TRIAGE)
    other = _confirmed(open_ticket(catalog))
    answer = answer_draft(ticket=other, actor=triage, stage="plan", body="x")
    login(triage)
    url = reverse("console:answer-send", args=[ticket.folio, answer.pk])
    assert client.post(url).status_code == 404
    assert client.get(answer_url("send", answer)).status_code == 405


def test_type1_ticket_has_no_answer_panel(client, catalog, staff, login):
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    login(staff(Role.TRIAGE))
    response = client.get(page(ticket))
    assert response.status_code == 200
    assert "no sigue el flujo de tres respuestas" in response.content.decode()
