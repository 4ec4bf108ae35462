"""The e-mail channel against real servers: SMTP and LMTP sessions with the Ventanilla
receiver (aiosmtpd), an IMAP mailbox in Debian's dovecot read by ``fetch_mail``, and the
whole way round: mail in → ticket → staff answer out through the outbox → the citizen's
reply back into the same ticket."""

from __future__ import annotations

import email
import os
import select
import signal
import smtplib
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from tests.channels.mailservers import (
    Receiver,
    running_dovecot,
    running_outbox_sink,
    running_receiver,
    wait_for_port,
)
from tests.channels.test_email import OIRS, as_wire_bytes, mail
from tests.factories import MembershipFactory, make_endpoint
from tests.notifications.conftest import free_port
from tests.processes import migrate_sqlite, process_env
from ventanilla.accounts.models import Role
from ventanilla.channels import email_receive
from ventanilla.channels.email_imap import MailboxError, fetch_mail_once
from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.citizens.models import ChannelIdentity, IdentityKind
from ventanilla.tickets.models import EventKind, Interaction, Ticket
from ventanilla.tickets.services import ticket_reply

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def dovecot(settings):
    with running_dovecot(settings) as server:
        yield server


@pytest.fixture
def outbox_sink(settings):
    with running_outbox_sink(settings) as server:
        yield server


@pytest.fixture
def smtp_receiver():
    with running_receiver(lmtp=False) as receiver:
        yield receiver


@pytest.fixture
def lmtp_receiver():
    with running_receiver(lmtp=True) as receiver:
        yield receiver


@pytest.fixture
def endpoint(catalog):
    return make_endpoint(catalog, provider="email", address=OIRS, channel_code="email",
                         display_name="OIRS")


# --- SMTP and LMTP ------------------------------------------------------------------------


@transactional
def test_smtp_session_refuses_unknown_recipients_and_stores_before_250(endpoint,
                                                                      smtp_receiver):
    with smtplib.SMTP("127.0.0.1", smtp_receiver.port, timeout=10) as client:
        code, features = client.ehlo("mx.example.cl")
        assert code == 250 and b"SIZE" in features
        assert client.mail("juana@example.cl")[0] == 250
        code, detail = client.rcpt("nadie@inst.example.cl")
        assert (code, detail[:5]) == (550, b"5.1.1")
        assert client.rcpt(OIRS.upper())[0] == 250
        code, detail = client.data(mail(message_id="<smtp-1@example.cl>"))
        assert code == 250
        # Stored by the time the 250 arrives.
        record = InboundMessage.objects.get(provider_message_id="smtp-1@example.cl")
        assert str(record.pk).encode() in detail

    ticket = record.ticket
    assert ticket.institution == endpoint.institution and ticket.channel.code == "email"
    assert ChannelIdentity.objects.get(kind=IdentityKind.EMAIL,
                                       value="juana@example.cl").citizen == ticket.citizen
    assert record.data["source"] == "smtp"
    assert record.data["envelope_recipients"] == [OIRS]


@transactional
def test_smtp_refuses_a_message_over_the_size_limit(endpoint, settings):
    settings.INBOUND_MAIL_MAX_BYTES = 2000
    receiver = Receiver(lmtp=False)
    receiver.start()
    try:
        with smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as client:
            client.ehlo("mx.example.cl")
            client.mail("juana@example.cl")
            client.rcpt(OIRS)
            code, _detail = client.data(mail(body="una línea de texto\n" * 300))
    finally:
        receiver.stop()
    assert code == 552, _detail  # the sending server bounces it to the person
    assert Ticket.objects.count() == 0


@transactional
def test_a_storage_failure_answers_451_so_the_sender_retries(endpoint, smtp_receiver,
                                                            monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(email_receive, "email_process", database_down)
    with smtplib.SMTP("127.0.0.1", smtp_receiver.port, timeout=10) as client:
        client.ehlo("mx.example.cl")
        client.mail("juana@example.cl")
        client.rcpt(OIRS)
        code, detail = client.data(mail())
    assert (code, detail[:5]) == (451, b"4.3.0")
    monkeypatch.undo()

    # The retry goes through, once.
    raw = mail(message_id="<reintento@example.cl>")
    for _attempt in range(2):
        with smtplib.SMTP("127.0.0.1", smtp_receiver.port, timeout=10) as client:
            client.sendmail("juana@example.cl", [OIRS], raw)
    assert Ticket.objects.count() == 1


@transactional
def test_lmtp_session_delivers_to_a_ticket(endpoint, lmtp_receiver):
    with smtplib.LMTP("127.0.0.1", lmtp_receiver.port, timeout=10) as client:
        refused = client.sendmail("juana@example.cl", [OIRS, "nadie@inst.example.cl"],
                                  mail(message_id="<lmtp-1@example.cl>"))
    assert list(refused) == ["nadie@inst.example.cl"]
    record = InboundMessage.objects.get(provider_message_id="lmtp-1@example.cl")
    assert record.status == InboundStatus.PROCESSED and record.data["source"] == "lmtp"
    assert record.ticket.contact_email == "juana@example.cl"


# --- IMAP ---------------------------------------------------------------------------------


@transactional
def test_fetch_mail_reads_unseen_messages_once_and_marks_them_seen(endpoint, dovecot):
    dovecot.append(mail(message_id="<nuevo@example.cl>"))
    dovecot.append(mail(message_id="<auto@example.cl>",
                        headers={"Auto-Submitted": "auto-replied"}))
    broken = (b"From: juana@example.cl\r\nTo: " + OIRS.encode() + b"\r\n"
              b"Message-ID: <roto@example.cl>\r\nContent-Type: multipart/mixed\r\n\r\nx\r\n")
    dovecot.append(broken)
    dovecot.append(mail(message_id="<ya-leido@example.cl>"), flags="\\Seen")

    counts = fetch_mail_once()

    assert counts == {"fetched": 3, "processed": 1, "duplicates": 0, "ignored": 1,
                      "quarantined": 1, "left_unseen": 0}
    assert Ticket.objects.count() == 1
    ticket = InboundMessage.objects.get(provider_message_id="nuevo@example.cl").ticket
    assert ticket.contact_email == "juana@example.cl"
    quarantined = InboundMessage.objects.get(provider_message_id="roto@example.cl")
    assert quarantined.status == InboundStatus.QUARANTINED
    with quarantined.raw.open("rb") as stored:
        assert stored.read().replace(b"\r\n", b"\n") == broken.replace(b"\r\n", b"\n")
    assert not InboundMessage.objects.filter(provider_message_id="ya-leido@example.cl").exists()
    assert all("\\Seen" in flags for flags in dovecot.flags().values())

    # A second round finds nothing new.
    assert fetch_mail_once()["fetched"] == 0
    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 3


@transactional
def test_a_message_stored_but_not_flagged_is_read_again_without_a_second_ticket(endpoint,
                                                                               dovecot):
    dovecot.append(mail(message_id="<una-vez@example.cl>"))
    fetch_mail_once()
    # A crash between storing and flagging: the message is unseen again.
    client = dovecot.client()
    client.select("INBOX")
    client.store("1:*", "-FLAGS", "(\\Seen)")
    client.logout()

    counts = fetch_mail_once()

    assert (counts["fetched"], counts["duplicates"]) == (1, 1)
    assert Ticket.objects.count() == 1
    assert Interaction.objects.count() == 1
    assert dovecot.flags()["<una-vez@example.cl>"] == {"\\Seen"}


@transactional
def test_a_database_failure_leaves_the_rest_unseen_for_the_next_round(endpoint, dovecot,
                                                                      monkeypatch):
    from ventanilla.channels import email_imap

    for number in range(3):
        dovecot.append(mail(message_id=f"<lote-{number}@example.cl>"))
    real_process = email_imap.email_process
    calls = []

    def fails_on_the_second(raw, **kwargs):
        calls.append(raw)
        if len(calls) == 2:
            raise OperationalError("database is down")
        return real_process(raw, **kwargs)

    monkeypatch.setattr(email_imap, "email_process", fails_on_the_second)
    with pytest.raises(OperationalError):
        fetch_mail_once()
    flags = dovecot.flags()
    assert flags["<lote-0@example.cl>"] == {"\\Seen"}
    assert flags["<lote-1@example.cl>"] == set() and flags["<lote-2@example.cl>"] == set()

    monkeypatch.undo()
    assert fetch_mail_once()["processed"] == 2
    assert Ticket.objects.count() == 3


@transactional
def test_fetch_mail_command_reports_and_fails_cleanly(endpoint, dovecot, settings, capsys):
    dovecot.append(mail())
    call_command("fetch_mail", "--once")
    assert "1 read, 1 to tickets" in capsys.readouterr().out

    settings.IMAP_PASSWORD = "equivocada"
    with pytest.raises(CommandError, match="rechazó el acceso"):
        call_command("fetch_mail")
    settings.IMAP_PORT = free_port()  # nothing listens there
    with pytest.raises(CommandError, match="no se pudo conectar"):
        call_command("fetch_mail")
    settings.IMAP_HOST = ""
    with pytest.raises(CommandError, match="IMAP_HOST"):
        call_command("fetch_mail")
    with pytest.raises(MailboxError):
        fetch_mail_once()


# --- the whole way round ------------------------------------------------------------------


@transactional
def test_end_to_end_mailbox_to_ticket_to_answer_and_back(endpoint, dovecot, outbox_sink,
                                                         smtp_receiver, settings):
    settings.DEFAULT_FROM_EMAIL = "Ventanilla <no-responder@localhost>"
    dovecot.append(mail(sender="Juana Soto <juana@example.cl>",
                        message_id="<primer-correo@example.cl>",
                        subject="Colación", body="No llegó la colación al liceo."))
    assert fetch_mail_once()["processed"] == 1
    ticket = Ticket.objects.get()
    assert (ticket.contact_name, ticket.reply_address) == ("Juana Soto", "juana@example.cl")

    staff = MembershipFactory(institution=endpoint.institution, role=Role.TRIAGE).user
    ticket_reply(ticket=ticket, actor=staff, body="Llegará el jueves.")
    _ack, answer = outbox_sink.messages
    assert "Llegará el jueves." in answer.get_body(("plain",)).get_content()
    assert answer["Reply-To"] == f"OIRS <{OIRS}>"
    assert answer["In-Reply-To"] == "<primer-correo@example.cl>"
    assert f"[{ticket.folio}]" in answer["Subject"]

    # The citizen's client answers the answer (Reply-To is the institution's mailbox).
    reply = email.message.EmailMessage()
    reply["From"] = "Juana Soto <juana@example.cl>"
    reply["To"] = answer["Reply-To"]
    reply["Subject"] = "Re: " + answer["Subject"]
    reply["Message-ID"] = "<respuesta-juana@example.cl>"
    reply["In-Reply-To"] = answer["Message-ID"]
    reply["References"] = f"{answer['In-Reply-To']} {answer['Message-ID']}"
    reply.set_content("Gracias, quedo atenta.\n\n"
                      "El jue, Ventanilla <no-responder@localhost> escribió:\n"
                      "> Llegará el jueves.\n")
    with smtplib.SMTP("127.0.0.1", smtp_receiver.port, timeout=10) as client:
        client.sendmail("juana@example.cl", [OIRS], as_wire_bytes(reply))

    assert Ticket.objects.count() == 1
    timeline = list(ticket.events.order_by("pk").values_list("kind", "body"))
    assert (EventKind.REPLY, "Llegará el jueves.") in timeline
    assert timeline[-1] == (EventKind.CITIZEN_MESSAGE, "Gracias, quedo atenta.")
    assert Interaction.objects.filter(ticket=ticket).count() == 2


# --- the receive_mail command as a process ------------------------------------------------


def read_line(process: subprocess.Popen, *, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            return process.stdout.readline()
        if process.poll() is not None:
            break
    return ""


def test_receive_mail_command_listens_refuses_strangers_and_stops_on_sigterm(tmp_path):
    migrate_sqlite(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ventanilla", "receive_mail", "--port", str(port)],
        env=process_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "listening on 127.0.0.1:" in read_line(process)
        wait_for_port(port, process=process)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("mx.example.cl")
            client.mail("juana@example.cl")
            assert client.rcpt("nadie@inst.example.cl")[0] == 550
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
        process.stderr.close()
