"""The e-mail channel from a raw message to a ticket (``channels.email.email_process``):
threading, automatic mail, loops, quarantine, attachments, and the headers our own mail
carries so that answers thread back."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import pytest
from PIL import Image

from tests.channels.mailservers import running_outbox_sink
from tests.factories import MembershipFactory, make_endpoint, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.channels import email as email_channel
from ventanilla.channels.email import email_process
from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.channels.services import InboundResult, inbound_record_unprocessed
from ventanilla.channels.services import inbound_reprocess as service_reprocess
from ventanilla.citizens.models import ChannelIdentity, IdentityKind
from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.notifications.services import outbox_deliver
from ventanilla.tickets.models import Attachment, EventKind, Interaction, Ticket, TicketEvent
from ventanilla.tickets.services import ticket_reply

pytestmark = pytest.mark.django_db

OIRS = "oirs@inst.example.cl"


@pytest.fixture
def outbox_sink(settings):
    with running_outbox_sink(settings) as server:
        yield server


@pytest.fixture
def endpoint(catalog):
    return make_endpoint(catalog, provider="email", address=OIRS, channel_code="email",
                         display_name="OIRS Institución")


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def mail(*, sender: str = "Juana Soto <juana@example.cl>", to: str = OIRS,
         subject: str = "La colación no llegó", body: str = "El lunes no llegó la colación.",
         message_id: str | None = "auto", headers: dict | None = None, html: str | None = None,
         attachments: list[tuple[str, bytes, str]] = ()) -> bytes:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate()
    if message_id == "auto":
        message["Message-ID"] = make_msgid(domain="example.cl")
    elif message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and body is None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    for filename, data, content_type in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return as_wire_bytes(message)


def as_wire_bytes(message: EmailMessage) -> bytes:
    """The message with CRLF line ends, as SMTP and IMAP carry it."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def process(raw: bytes, **kwargs):
    return email_process(raw, source="test", **kwargs)


def stored_raw(record: InboundMessage) -> bytes:
    with record.raw.open("rb") as stored:
        return stored.read()


def citizen_messages(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(kind=EventKind.CITIZEN_MESSAGE).order_by("pk"))


def sent_outbox(ticket: Ticket) -> OutboundMessage:
    """The acknowledgement of ``ticket``, delivered (the immediate task backend of the tests
    runs after commit; here the test transaction never commits)."""
    message = OutboundMessage.objects.filter(ticket=ticket).order_by("pk").last()
    assert outbox_deliver(message_id=message.pk) == OutboundStatus.SENT
    message.refresh_from_db()
    return message


# --- a new message ------------------------------------------------------------------------


def test_a_new_message_opens_a_ticket_for_the_sender(endpoint):
    result = process(mail(sender="Juana Soto <Juana@Example.CL>"))

    assert isinstance(result, InboundResult) and result.created_ticket
    ticket = result.ticket
    assert ticket.channel.code == "email"
    assert ticket.institution == endpoint.institution
    assert ticket.subject == "La colación no llegó"
    assert "El lunes no llegó la colación." in ticket.detail
    assert (ticket.reply_channel, ticket.reply_address) == ("email", "juana@example.cl")
    assert ticket.contact_email == "juana@example.cl"
    assert ticket.contact_name == "Juana Soto"
    identity = ChannelIdentity.objects.get(kind=IdentityKind.EMAIL, value="juana@example.cl")
    assert identity.citizen_id == ticket.citizen_id
    assert identity.verified_at is None  # a From: header proves nothing
    record = result.message
    assert (record.status, record.endpoint, record.ticket) == (InboundStatus.PROCESSED,
                                                               endpoint, ticket)
    assert not record.raw  # nothing to review: the raw message is not kept
    # The acknowledgement goes back to the sender.
    assert OutboundMessage.objects.get(ticket=ticket).recipient == "juana@example.cl"


def test_reply_to_header_is_where_answers_go(endpoint):
    result = process(mail(headers={"Reply-To": "Casa <casa@example.cl>"}))
    assert result.ticket.reply_address == "casa@example.cl"
    assert result.ticket.contact_email == "juana@example.cl"


def test_envelope_recipient_finds_the_endpoint_of_a_blind_copy(endpoint):
    result = process(mail(to="otra@example.cl"), envelope_recipients=[OIRS.upper()])
    assert result.ticket.institution == endpoint.institution


def test_html_only_body_is_stored_as_readable_text(endpoint):
    html = ("<html><body><p>La colaci&oacute;n <b>no lleg&oacute;</b>.</p>"
            "<p>Escuela&nbsp;12</p><style>p{}</style></body></html>")
    ticket = process(mail(body=None, html=html)).ticket
    assert "La colación no llegó." in ticket.detail
    assert "Escuela 12" in ticket.detail
    assert "<" not in ticket.detail and "p{}" not in ticket.detail


def test_non_utf8_charset_is_decoded(endpoint):
    raw = (b"From: =?iso-8859-1?q?Jos=E9_Pe=F1a?= <jose@example.cl>\r\n"
           b"To: " + OIRS.encode() + b"\r\n"
           b"Subject: =?iso-8859-1?q?Cami=F3n_escolar?=\r\n"
           b"Message-ID: <latin1@example.cl>\r\n"
           b"Content-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           b"El cami\xf3n no pas\xf3 por el ni\xf1o.\r\n")
    ticket = process(raw).ticket
    assert ticket.subject == "Camión escolar"
    assert ticket.contact_name == "José Peña"
    assert "El camión no pasó por el niño." in ticket.detail


def test_undecodable_bytes_never_crash(endpoint):
    raw = (b"From: jose@example.cl\r\nTo: " + OIRS.encode() + b"\r\n"
           b"Subject: prueba\r\nMessage-ID: <bad-charset@example.cl>\r\n"
           b"Content-Type: text/plain; charset=no-existe\r\n\r\nhola \xff\xfe mundo\r\n")
    ticket = process(raw).ticket
    assert "hola" in ticket.detail and "mundo" in ticket.detail


# --- redelivery ---------------------------------------------------------------------------


def test_the_same_message_id_twice_is_one_interaction(endpoint):
    raw = mail(message_id="<una-vez@example.cl>")
    first = process(raw)
    second = process(raw)

    assert second.duplicate and second.ticket == first.ticket
    assert Ticket.objects.count() == 1
    assert Interaction.objects.filter(ticket=first.ticket).count() == 1
    assert InboundMessage.objects.get().provider_message_id == "una-vez@example.cl"


def test_a_message_without_message_id_dedupes_on_its_bytes(endpoint):
    raw = mail(message_id=None)
    first = process(raw)
    second = process(raw)
    assert first.message.provider_message_id.startswith("sha256:")
    assert second.duplicate and Ticket.objects.count() == 1


# --- threading ----------------------------------------------------------------------------


def test_a_reply_to_our_message_joins_the_ticket_with_only_the_new_text(endpoint):
    ticket = process(mail()).ticket
    ack = sent_outbox(ticket)
    reply = mail(subject="Re: Recibimos su reclamo", headers={
        "In-Reply-To": ack.provider_message_id, "References": ack.provider_message_id},
        body="Sigue sin llegar.\n\nEl lun, 3 jun 2024 a las 10:00, Ventanilla "
             "<no-responder@localhost> escribió:\n> Recibimos su reclamo\n")

    result = process(reply)

    assert not result.created_ticket and result.ticket == ticket
    messages = citizen_messages(ticket)
    assert [event.body for event in messages] == ["Sigue sin llegar."]
    assert Interaction.objects.filter(ticket=ticket).count() == 2


def test_references_to_an_earlier_inbound_message_join_its_ticket(endpoint):
    first = process(mail(message_id="<primero@example.cl>"))
    # The person answers their own message (a correction sent right after).
    result = process(mail(subject="Corrección", body="Era el martes.",
                          headers={"References": "<otro@x.cl> <primero@example.cl>"}))
    assert result.ticket == first.ticket
    assert citizen_messages(first.ticket)[0].body == "Era el martes."


def test_folio_in_the_subject_joins_only_the_same_persons_ticket(endpoint):
    ticket = process(mail()).ticket
    same = process(mail(subject=f"Consulta por [{ticket.folio}]", body="¿Novedades?"))
    assert same.ticket == ticket and not same.created_ticket

    other = process(mail(sender="Pedro <pedro@example.cl>", subject=f"Sobre {ticket.folio}",
                         body="Quiero ver ese caso."))
    assert other.created_ticket and other.ticket != ticket
    assert other.ticket.contact_email == "pedro@example.cl"


def test_a_reply_to_our_message_from_another_person_opens_a_new_ticket(endpoint):
    ticket = process(mail()).ticket
    ack = sent_outbox(ticket)
    forwarded = process(mail(sender="pedro@example.cl",
                             headers={"In-Reply-To": ack.provider_message_id}))
    assert forwarded.created_ticket and forwarded.ticket != ticket


# --- automatic mail and loops -------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Auto-Submitted": "auto-replied"},
    {"Auto-Submitted": "auto-generated"},
    {"X-Autoreply": "yes"},
    {"X-Autorespond": "Fuera de la oficina"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"Precedence": "auto_reply"},
    {"X-Auto-Response-Suppress": "All"},
    {"X-Auto-Response-Suppress": "OOF"},
])
def test_auto_replies_are_ignored(endpoint, headers):
    result = process(mail(headers=headers))

    assert isinstance(result, InboundMessage)
    assert result.status == InboundStatus.IGNORED
    assert "automática" in result.reason
    assert Ticket.objects.count() == 0 and OutboundMessage.objects.count() == 0


def test_out_of_office_subject_counts_only_on_a_reply_to_us(endpoint):
    ticket = process(mail()).ticket
    ack = sent_outbox(ticket)
    auto = process(mail(subject="Fuera de la oficina: Re: Recibimos su reclamo",
                        headers={"In-Reply-To": ack.provider_message_id}))
    assert isinstance(auto, InboundMessage) and auto.status == InboundStatus.IGNORED
    assert citizen_messages(ticket) == []

    person = process(mail(subject="Fuera de la oficina del liceo no hay luz"))
    assert isinstance(person, InboundResult) and person.created_ticket


def dsn(*, original_message_id: str, action: str = "failed",
        sender: str = "Mail Delivery System <MAILER-DAEMON@mx.example.cl>") -> bytes:
    boundary = "dsn-boundary"
    return (
        f"From: {sender}\r\nTo: no-responder@localhost\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{make_msgid()[1:-1]}>\r\nAuto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: multipart/report; report-type=delivery-status; "
        f"boundary=\"{boundary}\"\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
        f"Your message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.cl\r\n\r\n"
        f"Final-Recipient: rfc822; nadie@example.cl\r\nAction: {action}\r\n"
        f"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Ventanilla <no-responder@localhost>\r\nTo: nadie@example.cl\r\n"
        f"Message-ID: {original_message_id}\r\nSubject: Recibimos su reclamo\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def test_a_bounce_of_our_message_marks_it_failed_and_opens_nothing(endpoint):
    ticket = process(mail()).ticket
    ack = sent_outbox(ticket)

    result = process(dsn(original_message_id=ack.provider_message_id))

    assert isinstance(result, InboundMessage) and result.status == InboundStatus.IGNORED
    assert f"#{ack.pk}" in result.reason
    ack.refresh_from_db()
    assert ack.delivery_status == "failed"
    assert "User unknown" in ack.delivery_error
    assert citizen_messages(ticket) == [] and Ticket.objects.count() == 1


def test_a_delay_notice_is_ignored_without_failing_the_message(endpoint):
    ticket = process(mail()).ticket
    ack = sent_outbox(ticket)
    result = process(dsn(original_message_id=ack.provider_message_id, action="delayed"))
    assert result.status == InboundStatus.IGNORED
    ack.refresh_from_db()
    assert ack.delivery_status == ""


def test_a_bounce_of_someone_elses_message_changes_nothing(endpoint):
    result = process(dsn(original_message_id="<outbox-1@otro-sitio.example>"))
    assert result.status == InboundStatus.IGNORED
    assert OutboundMessage.objects.exclude(delivery_status="").count() == 0


def test_a_null_sender_message_is_a_bounce(endpoint):
    raw = b"Return-Path: <>\r\n" + mail(sender="Servidor <avisos@mx.example.cl>")
    result = process(raw)
    assert isinstance(result, InboundMessage) and result.status == InboundStatus.IGNORED
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("sender", ["Ventanilla <no-responder@localhost>", OIRS])
def test_mail_from_ourselves_is_a_loop(endpoint, settings, sender):
    settings.DEFAULT_FROM_EMAIL = "Ventanilla <no-responder@localhost>"
    result = process(mail(sender=sender))
    assert result.status == InboundStatus.IGNORED and "Bucle" in result.reason
    assert Ticket.objects.count() == 0


def test_our_loop_header_coming_back_is_a_loop(endpoint, settings):
    settings.DEFAULT_FROM_EMAIL = "Ventanilla <no-responder@localhost>"
    result = process(mail(headers={"X-Loop": "no-responder@localhost"}))
    assert result.status == InboundStatus.IGNORED and "X-Loop" in result.reason
    result = process(mail(headers={"X-Loop": "lista@otra.example"}))
    assert isinstance(result, InboundResult)


def test_a_burst_from_one_sender_waits_for_an_administrator(endpoint, monkeypatch):
    monkeypatch.setattr(email_channel, "SENDER_BURST_LIMIT", 3)
    for number in range(3):
        inbound_record_unprocessed(provider="email", status=InboundStatus.IGNORED,
                                   reason="auto", sender="robot@example.cl",
                                   provider_message_id=f"robot-{number}@example.cl")
    result = process(mail(sender="robot@example.cl"))
    assert result.status == InboundStatus.QUARANTINED
    assert "bucle" in result.reason and stored_raw(result)
    assert isinstance(process(mail(sender="otra@example.cl")), InboundResult)


# --- quarantine ---------------------------------------------------------------------------


def test_malformed_mime_is_quarantined_with_the_raw_message(endpoint):
    raw = (b"From: juana@example.cl\r\nTo: " + OIRS.encode() + b"\r\nSubject: roto\r\n"
           b"Message-ID: <roto@example.cl>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed\r\n\r\nsin partes\r\n")
    result = process(raw)
    assert result.status == InboundStatus.QUARANTINED
    assert "MIME mal formado" in result.reason
    assert stored_raw(result) == raw
    assert result.provider_message_id == "roto@example.cl"
    assert Ticket.objects.count() == 0
    # Redelivered: still one row.
    assert process(raw).pk == result.pk


@pytest.mark.parametrize(("sender", "reason"), [
    ("", "no tiene remitente"),
    ("Juana Soto", "Formato de remitente desconocido"),
    ("juana@@example", "Formato de remitente desconocido"),
])
def test_a_message_without_a_usable_sender_is_quarantined(endpoint, sender, reason):
    raw = mail(sender=sender)
    result = process(raw)
    assert result.status == InboundStatus.QUARANTINED and reason in result.reason
    assert stored_raw(result) == raw


def test_an_oversized_message_is_quarantined(endpoint, settings):
    raw = mail(attachments=[("foto.png", png_bytes() + b"\0" * 4000, "image/png")])
    settings.INBOUND_MAIL_MAX_BYTES = len(raw) - 1
    result = process(raw)
    assert result.status == InboundStatus.QUARANTINED
    assert "máximo" in result.reason
    assert stored_raw(result) == raw
    assert result.subject == "La colación no llegó"


def test_a_message_for_no_endpoint_is_quarantined_and_reprocessed_once_it_exists(catalog):
    raw = mail(to="contacto@inst.example.cl")
    record = process(raw)
    assert record.status == InboundStatus.QUARANTINED
    assert "contacto@inst.example.cl" in record.reason

    admin = MembershipFactory(institution=catalog["institution"], role=Role.SYSADMIN).user
    make_endpoint(catalog, provider="email", address="contacto@inst.example.cl",
                  channel_code="email")
    result = service_reprocess(message=record, actor=admin)

    assert isinstance(result, InboundResult) and result.created_ticket
    assert result.message.pk == record.pk
    record.refresh_from_db()
    assert record.status == InboundStatus.PROCESSED and record.ticket == result.ticket
    assert InboundMessage.objects.count() == 1


def test_a_reprocessed_message_that_still_fails_keeps_one_row_with_the_new_reason(catalog):
    record = process(mail(to="contacto@inst.example.cl"))
    admin = MembershipFactory(institution=catalog["institution"], role=Role.SYSADMIN).user
    record.reason = "motivo anterior"
    record.save(update_fields=["reason"])
    again = service_reprocess(message=record, actor=admin)
    assert again.pk == record.pk and again.status == InboundStatus.QUARANTINED
    assert "contacto@inst.example.cl" in again.reason
    assert InboundMessage.objects.count() == 1


def test_an_intake_refusal_is_quarantined_with_its_message(endpoint, catalog):
    catalog["topic"].is_active = False
    catalog["topic"].save()
    raw = mail()
    result = process(raw)
    assert result.status == InboundStatus.QUARANTINED
    assert "no está disponible" in result.reason
    assert stored_raw(result) == raw and Ticket.objects.count() == 0


# --- attachments --------------------------------------------------------------------------


def test_attachments_are_checked_like_the_portal(endpoint):
    raw = mail(attachments=[
        ("foto.png", png_bytes(), "image/png"),
        ("virus.exe", b"MZ\x90\x00binario", "application/octet-stream"),
        ("falsa.pdf", b"no soy un pdf", "application/pdf"),
    ])
    result = process(raw)

    ticket = result.ticket
    assert [a.original_name for a in Attachment.objects.filter(ticket=ticket)] == ["foto.png"]
    assert "Archivos adjuntos no guardados" in ticket.detail
    assert "virus.exe" in ticket.detail and "falsa.pdf" in ticket.detail
    record = result.message
    assert record.status == InboundStatus.PROCESSED
    assert "virus.exe" in record.reason
    assert stored_raw(record) == raw  # kept for an administrator


def test_an_oversized_attachment_and_too_many_files_are_noted(endpoint, settings):
    settings.ATTACHMENT_MAX_FILES = 1
    settings.ATTACHMENT_MAX_BYTES = len(png_bytes()) + 10
    raw = mail(attachments=[
        ("uno.png", png_bytes(), "image/png"),
        ("grande.png", png_bytes() + b"\0" * 100, "image/png"),
        ("dos.png", png_bytes(), "image/png"),
    ])
    result = process(raw)
    assert Attachment.objects.filter(ticket=result.ticket).count() == 1
    assert "grande.png" in result.message.reason
    assert "máximo de 1 archivos" in result.ticket.detail


def test_an_attachment_on_a_reply_is_on_the_timeline_entry(endpoint):
    ticket = process(mail(message_id="<hilo@example.cl>")).ticket
    process(mail(body="Adjunto la foto.", headers={"In-Reply-To": "<hilo@example.cl>"},
                 attachments=[("foto.png", png_bytes(), "image/png")]))
    event = citizen_messages(ticket)[0]
    assert [a.original_name for a in event.attachments.all()] == ["foto.png"]


# --- outbound headers ---------------------------------------------------------------------


def test_answers_carry_reply_to_in_reply_to_and_the_folio(endpoint, outbox_sink, settings,
                                                         django_capture_on_commit_callbacks):
    settings.DEFAULT_FROM_EMAIL = "Ventanilla <no-responder@localhost>"
    with django_capture_on_commit_callbacks(execute=True):
        ticket = process(mail(message_id="<pregunta@example.cl>")).ticket
    staff = MembershipFactory(institution=endpoint.institution, role=Role.TRIAGE).user
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, actor=staff, body="Se repone el jueves.")

    ack, reply = outbox_sink.messages
    for sent in (ack, reply):
        assert sent["To"] == "juana@example.cl"
        assert sent["Reply-To"] == f"OIRS Institución <{OIRS}>"
        assert sent["In-Reply-To"] == "<pregunta@example.cl>"
        assert sent["References"] == "<pregunta@example.cl>"
        assert sent["Auto-Submitted"] == "auto-replied"
        assert f"[{ticket.folio}]" in sent["Subject"]
        assert sent["X-Ventanilla-Loop"] == "no-responder@localhost"
    assert reply["Message-ID"] == OutboundMessage.objects.filter(ticket=ticket).order_by(
        "pk").last().provider_message_id


def test_a_web_ticket_gets_no_thread_headers(catalog, outbox_sink,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = open_ticket(catalog, delivered=False)
    (sent,) = outbox_sink.messages
    assert sent["In-Reply-To"] is None and sent["Reply-To"] is None
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["Subject"].count(ticket.folio) == 1  # already in the template
