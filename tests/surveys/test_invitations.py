"""Invitations on closure, through the real closing services: the link in the closing
message, one per ticket, who gets none."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import mark_queued_messages_sent, open_ticket
from tests.surveys.helpers import close_with_final_answer, make_survey
from tests.tickets.helpers import staff
from ventanilla.accounts.models import Role
from ventanilla.citizens.services import ContactData
from ventanilla.notifications.models import OutboundMessage
from ventanilla.surveys.models import SurveyInvitation
from ventanilla.surveys.tokens import invitation_id_from_token
from ventanilla.tickets.models import Status
from ventanilla.tickets.services import ticket_change_status, ticket_reply

pytestmark = pytest.mark.django_db


def _link_in(text: str) -> str:
    return next(word for word in text.split() if "/encuesta/" in word)


def test_final_answer_email_carries_a_working_link(catalog, mailoutbox, settings,
                                                   django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://ventanilla.example.cl"
    survey = make_survey(catalog["institution"], link_valid_days=10)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(catalog, delivered=False)
    with django_capture_on_commit_callbacks(execute=True):
        close_with_final_answer(ticket)
    assert ticket.status == Status.CLOSED
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert invitation.survey == survey and invitation.sent_via == "email"
    assert invitation.used_at is None
    assert abs(invitation.expires_at - (invitation.created_at + timedelta(days=10))) < \
        timedelta(seconds=1)
    final_mail = mailoutbox[-1]
    assert "Respuesta final" in final_mail.subject
    link = _link_in(final_mail.body)
    assert link.startswith("https://ventanilla.example.cl/encuesta/")
    assert invitation_id_from_token(link.rstrip("/").rsplit("/", 1)[1]) == invitation.pk


def test_closing_by_status_change_carries_the_link(catalog, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    make_survey(catalog["institution"])
    ticket = open_ticket(catalog)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_change_status(ticket=ticket, actor=staff(catalog["institution"], Role.TRIAGE),
                             to_status=Status.CLOSED)
    assert "/encuesta/" in mailoutbox[-1].body
    assert SurveyInvitation.objects.filter(ticket=ticket).count() == 1


def test_whatsapp_closing_message_carries_the_link(catalog):
    make_survey(catalog["institution"])
    ticket = open_ticket(catalog, reply_channel="whatsapp", reply_address="56912345678",
                         contact=ContactData(full_name="Luis Díaz", phone="+56912345678"))
    close_with_final_answer(ticket)
    invitation = SurveyInvitation.objects.get(ticket=ticket)
    assert invitation.sent_via == "whatsapp"
    message = OutboundMessage.objects.filter(ticket=ticket, channel="whatsapp").last()
    assert "/encuesta/" in message.body_text


def test_channel_survey_wins_over_default_and_inactive_falls_back(catalog):
    default = make_survey(catalog["institution"])
    web = make_survey(catalog["institution"], channel_code="web", scale=3)
    first = close_with_final_answer(open_ticket(catalog))
    assert first.survey_invitation.survey == web
    web.is_active = False
    web.save()
    second = close_with_final_answer(open_ticket(catalog))
    assert second.survey_invitation.survey == default


def test_no_survey_no_link(catalog, mailoutbox, django_capture_on_commit_callbacks):
    other = make_survey(catalog["institution"], channel_code="phone")  # not the web's
    assert other.channel.code == "phone"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = close_with_final_answer(open_ticket(catalog))
    assert not SurveyInvitation.objects.filter(ticket=ticket).exists()
    assert "/encuesta/" not in mailoutbox[-1].body


def test_type1_ticket_gets_no_invitation(catalog, mailoutbox,
                                         django_capture_on_commit_callbacks):
    make_survey(catalog["institution"])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    assert ticket.status == Status.CLOSED
    assert not SurveyInvitation.objects.exists()
    assert all("/encuesta/" not in mail.body for mail in mailoutbox)


def test_reclosed_ticket_gets_no_second_invitation(catalog, mailoutbox,
                                                   django_capture_on_commit_callbacks):
    make_survey(catalog["institution"])
    actor = staff(catalog["institution"], Role.TRIAGE)
    ticket = close_with_final_answer(open_ticket(catalog), actor=actor)
    first = SurveyInvitation.objects.get(ticket=ticket)
    ticket_change_status(ticket=ticket, actor=actor, to_status=Status.IN_PROGRESS,
                         reason="La persona volvió a escribir.")
    # The closing and reopening messages went out (no commit in tests; messages keep order).
    mark_queued_messages_sent(ticket)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=actor, body="Listo.", then_status=Status.CLOSED)
    assert list(SurveyInvitation.objects.filter(ticket=ticket)) == [first]
    assert "/encuesta/" not in mailoutbox[-1].body


def test_ticket_without_address_gets_an_invitation_sent_nowhere(catalog):
    make_survey(catalog["institution"])
    ticket = open_ticket(catalog, contact=ContactData(full_name="Sin correo"))
    close_with_final_answer(ticket)
    assert SurveyInvitation.objects.get(ticket=ticket).sent_via == ""


def test_expiry_is_measured_from_creation(catalog):
    make_survey(catalog["institution"], link_valid_days=3)
    before = timezone.now()
    ticket = close_with_final_answer(open_ticket(catalog))
    invitation = ticket.survey_invitation
    assert before + timedelta(days=3) <= invitation.expires_at <= \
        timezone.now() + timedelta(days=3)
