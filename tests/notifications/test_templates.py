"""Editable message templates: precedence, validation in the admin, fallback at send time,
and the delivery panel of the console."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from django.template import Context, Template
from django.urls import reverse

from tests.factories import TicketTypeFactory, UserFactory, make_catalog, open_ticket
from ventanilla.notifications.admin import MessageTemplateForm
from ventanilla.notifications.models import MessageTemplate, OutboundMessage, OutboundStatus
from ventanilla.notifications.rendering import render_message, template_check
from ventanilla.notifications.selectors import outbound_for_ticket
from ventanilla.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_catalog(db):
    """A second institution with its own catalog."""
    return make_catalog()


def received_message(ticket) -> OutboundMessage:
    return OutboundMessage.objects.get(dedupe_key=f"ticket-{ticket.pk}-received")


def make_template(catalog, *, ticket_type=None, subject, body, **extra):
    return MessageTemplate.objects.create(
        institution=catalog["institution"], key="ticket_received", ticket_type=ticket_type,
        subject=subject, body=body, **extra,
    )


def test_type_template_beats_institution_template_beats_file(catalog, other_catalog):
    without = open_ticket(catalog)
    assert received_message(without).subject.startswith(f"[{without.folio}] Recibimos su")

    make_template(catalog, subject="Institución {{ ticket.folio }}",
                  body="Hola {{ ticket.contact_name }}. Siga en {{ tracking_url }}")
    generic = open_ticket(catalog)
    message = received_message(generic)
    assert message.subject == f"Institución {generic.folio}"
    assert message.body_text.startswith("Hola Juana Soto. Siga en http")
    assert "/seguimiento/" in message.body_text

    make_template(catalog, ticket_type=catalog["complaint"], subject="Reclamo {{ ticket.folio }}",
                  body="Texto del reclamo.")
    specific = open_ticket(catalog)
    assert received_message(specific).subject == f"Reclamo {specific.folio}"
    inquiry = TicketTypeFactory(institution=catalog["institution"], name="Consulta",
                                code="consulta")
    other_type = open_ticket(catalog, ticket_type=inquiry)
    assert received_message(other_type).subject == f"Institución {other_type.folio}"

    # Inactive templates and other institutions' templates do not apply.
    MessageTemplate.objects.update(is_active=False)
    assert received_message(open_ticket(catalog)).subject.endswith("Recibimos su reclamo")
    foreign = open_ticket(other_catalog)
    assert "Recibimos su" in received_message(foreign).subject


@pytest.mark.parametrize(("subject", "body", "field", "fragment"), [
    ("{% if %}", "Texto", "subject", "sintaxis"),
    ("Asunto", "{{ ticket.folio|nofilter }}", "body", "sintaxis"),
    ("Asunto", "{% load static %}", "body", "sintaxis"),
    ("Asunto", "{% debug %}", "body", "sintaxis"),
    ("Asunto", "{% include 'base.html' %}", "body", "sintaxis"),
    ("Asunto {{ ticket.no_existe }}", "Texto", "subject", "ticket.no_existe"),
    ("Asunto", "{{ cuerpo }}", "body", "cuerpo"),
    ("   ", "Texto", "subject", ""),
])
def test_admin_form_refuses_broken_templates(catalog, subject, body, field, fragment):
    form = MessageTemplateForm(data={
        "institution": catalog["institution"].pk, "key": "ticket_received", "ticket_type": "",
        "subject": subject, "body": body, "is_active": "on",
    })
    assert not form.is_valid()
    assert field in form.errors
    assert fragment in " ".join(form.errors[field])
    assert not MessageTemplate.objects.exists()


def test_admin_form_accepts_a_good_template_and_refuses_a_second_generic_one(catalog):
    data = {"institution": catalog["institution"].pk, "key": "answer_final",
            "ticket_type": "", "is_active": "on",
            "subject": "[{{ ticket.folio }}] Respuesta final",
            "body": "{{ body }}\n{% if survey_url %}Encuesta: {{ survey_url }}{% endif %}\n"
                    "{{ ticket.received_at|date:'j \\d\\e F' }} {% url 'portal:track' %}"}
    form = MessageTemplateForm(data=data)
    assert form.is_valid(), form.errors
    form.save()
    again = MessageTemplateForm(data=data)
    assert not again.is_valid() and "ticket_type" in again.errors
    foreign_type = TicketTypeFactory()
    typed = MessageTemplateForm(data={**data, "ticket_type": foreign_type.pk})
    assert not typed.is_valid()
    assert template_check(key="ticket_merged", subject="{{ into.folio }}", body="x") == {}


def test_a_broken_template_falls_back_to_the_file_without_breaking_the_transaction(
        catalog, caplog, django_capture_on_commit_callbacks, mailoutbox):
    # Saved around the admin's validation (e.g. by a data import): fails while rendering.
    make_template(catalog, subject="{% if %}", body="x")
    with (caplog.at_level(logging.ERROR, logger="ventanilla.notifications.rendering"),
          django_capture_on_commit_callbacks(execute=True)):
        ticket = open_ticket(catalog, delivered=False)
    message = received_message(ticket)
    assert message.subject.startswith(f"[{ticket.folio}] Recibimos su")
    assert message.status == OutboundStatus.SENT
    assert len(mailoutbox) == 1
    assert "failed; using the file template" in caplog.text


def test_a_template_whose_query_fails_does_not_poison_the_transaction(catalog, monkeypatch):
    from django.db import connection

    from ventanilla.notifications import rendering

    make_template(catalog, subject="{{ ticket.folio }}", body="Texto")

    def failing_query(*args, **kwargs):
        with connection.cursor() as cursor:  # PostgreSQL aborts the transaction on this
            cursor.execute("SELECT * FROM no_such_table_here")

    monkeypatch.setattr(rendering, "_render_source", failing_query)
    with transaction.atomic():
        ticket = open_ticket(catalog, delivered=False)
        # Still usable: the failure happened inside a savepoint.
        assert received_message(ticket).subject.startswith(f"[{ticket.folio}]")
        assert Ticket.objects.filter(pk=ticket.pk).exists()


def test_render_message_empty_custom_subject_falls_back(catalog):
    ticket = open_ticket(catalog)
    make_template(catalog, subject="{{ nada }}", body="Texto")
    rendered = render_message(template="ticket_received", context={"ticket": ticket},
                              institution=ticket.institution, ticket=ticket)
    assert rendered.source == "file"


def test_admin_change_page_shows_variables_and_preview(client, catalog):
    admin_user = UserFactory(is_staff=True, is_superuser=True)
    template = make_template(catalog, subject="Hola {{ ticket.contact_name }}",
                             body="Folio {{ ticket.folio }}")
    client.force_login(admin_user)
    response = client.get(reverse("admin:notifications_messagetemplate_change",
                                  args=[template.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "{{ into.folio }}" in content  # the variables of the merge message
    assert "Hola Juana Soto" in content  # the preview, with made-up data
    assert "-2026-000123" in content or "-000123" in content


# --- delivery panel --------------------------------------------------------------------------

def test_delivery_panel_lists_the_ticket_messages(catalog, django_assert_max_num_queries):
    ticket = open_ticket(catalog)
    other = open_ticket(catalog, email="otro@example.cl")
    OutboundMessage.objects.filter(ticket=ticket).update(
        status=OutboundStatus.PENDING, attempts=2,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed\nTraceback …")
    with django_assert_max_num_queries(1):
        html = Template('{% include "console/deliveries/panel.html" %}').render(
            Context({"ticket": ticket}))
    assert "juana@example.cl" in html and "otro@example.cl" not in html
    assert "Pendiente" in html
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in html
    assert "Traceback" not in html
    assert [m.pk for m in outbound_for_ticket(ticket)] == [
        m.pk for m in OutboundMessage.objects.filter(ticket=ticket)]
    assert outbound_for_ticket(other).count() == 1
