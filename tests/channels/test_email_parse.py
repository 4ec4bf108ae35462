"""Reading e-mail: the pure functions of ``channels.email_parse`` on real-shaped messages."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from ventanilla.channels import email_parse as parse


def parsed(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def test_html_only_body_becomes_readable_text():
    html = (
        "<html><head><style>p{color:red}</style><title>x</title></head><body>"
        "<p>Hola,&nbsp;la colaci&oacute;n <b>no lleg&oacute;</b>.</p>"
        "<div>Segunda l&iacute;nea<br>tercera</div><ul><li>uno</li><li>dos</li></ul>"
        "<script>alert(1)</script></body></html>"
    )
    text = parse.html_to_text(html)
    assert text.splitlines()[0] == "Hola, la colación no llegó."
    assert "color:red" not in text and "alert" not in text and "<" not in text
    assert "Segunda línea\ntercera" in text
    assert "- uno" in text and "- dos" in text


@pytest.mark.parametrize("reply", [
    "Gracias, sigue sin llegar.\n\nEl lun, 3 jun 2024 a las 10:00, Ventanilla "
    "<no-responder@x.cl> escribió:\n> Recibimos su reclamo\n> Folio ABC-2024-000001\n",
    "Gracias, sigue sin llegar.\n\nEl lun, 3 jun 2024 a las 10:00, Ventanilla\n"
    "<no-responder@x.cl> escribió:\n> Recibimos su reclamo\n",
    "Gracias, sigue sin llegar.\n\nOn Mon, Jun 3, 2024 at 10:00 AM Ventanilla wrote:\n"
    "> Recibimos su reclamo\n",
    "Gracias, sigue sin llegar.\n-----Original Message-----\nFrom: Ventanilla\n"
    "Recibimos su reclamo\n",
    "Gracias, sigue sin llegar.\n\nDe: Ventanilla <no-responder@x.cl>\nEnviado: lunes\n"
    "Para: Juana\nAsunto: Recibimos\n\nRecibimos su reclamo\n",
    "Gracias, sigue sin llegar.\n\n> Recibimos su reclamo\n>\n> Folio ABC-2024-000001\n",
])
def test_quoted_previous_message_is_trimmed(reply):
    assert parse.strip_quoted_reply(reply) == "Gracias, sigue sin llegar."


def test_interleaved_quotes_and_quote_only_messages_are_kept_whole():
    interleaved = "> ¿Qué día?\nEl lunes.\n> ¿Dónde?\nEn la escuela."
    assert parse.strip_quoted_reply(interleaved) == interleaved
    only_quote = "El lun, 3 jun 2024, Ventanilla escribió:\n> Recibimos su reclamo"
    assert parse.strip_quoted_reply(only_quote) == only_quote


def test_unknown_and_wrong_charsets_decode_with_replacement():
    unknown = parsed(b"From: a@b.cl\r\nContent-Type: text/plain; charset=x-desconocido\r\n"
                     b"\r\nCaf\xe9 ok\r\n")
    assert parse.body_text(unknown).startswith("Caf")
    latin1 = parsed(b"From: a@b.cl\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                    b"Content-Transfer-Encoding: 8bit\r\n\r\nCami\xf3n y ni\xf1o\r\n")
    assert parse.body_text(latin1) == "Camión y niño"
    wrong = parsed(b"From: a@b.cl\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                   b"mal \xff\xfe codificado\r\n")
    assert "codificado" in parse.body_text(wrong)


def test_message_ids_are_normalised_without_brackets():
    assert parse.normalize_message_id(" <abc@x.cl> ") == "abc@x.cl"
    assert parse.message_ids_in("<a@x> <b@y>\r\n <c@z>") == ["a@x", "b@y", "c@z"]
    long_id = "<" + "a" * 300 + "@x.cl>"
    normalised = parse.normalize_message_id(long_id)
    assert normalised.startswith("sha256:") and len(normalised) <= 255
    assert parse.normalize_message_id(long_id) == normalised


@pytest.mark.parametrize(("header", "expected"), [
    ("Auto-Submitted: auto-replied", True),
    ("Auto-Submitted: no", False),
    ("X-Autoreply: yes", True),
    ("X-Autorespond: yes", True),
    ("Precedence: bulk", True),
    ("Precedence: auto_reply", True),
    ("Precedence: first-class", False),
    ("X-Auto-Response-Suppress: All", True),
    ("X-Auto-Response-Suppress: OOF, DR", True),
    ("X-Mailer: Thunderbird", False),
])
def test_auto_reply_headers(header, expected):
    message = parsed(f"From: a@b.cl\r\n{header}\r\nSubject: x\r\n\r\nhola\r\n".encode())
    assert bool(parse.auto_reply_reason(message)) is expected


def test_sender_needs_a_real_address():
    assert parse.sender_of(parsed(b"From: Juana Soto <Juana@Example.CL>\r\n\r\nx")) == \
        parse.Sender(address="juana@example.cl", name="Juana Soto")
    assert parse.sender_of(parsed(b"From: Juana Soto\r\n\r\nx")) is None
    assert parse.sender_of(parsed(b"From: <juana@>\r\n\r\nx")) is None
    assert parse.sender_of(parsed(b"Subject: x\r\n\r\nx")) is None


def test_recipient_addresses_prefer_delivery_headers():
    message = parsed(b"Delivered-To: oirs@inst.cl\r\nTo: Otro <otro@inst.cl>\r\n"
                     b"Cc: copia@inst.cl, OIRS <oirs@inst.cl>\r\n\r\nx")
    assert parse.recipient_addresses(message) == ["oirs@inst.cl", "otro@inst.cl",
                                                  "copia@inst.cl"]


def test_folio_is_found_in_a_subject():
    assert parse.folio_in("Re: [tcab-2026-000042] Respuesta") == "TCAB-2026-000042"
    assert parse.folio_in("Re: pedido 2026-000042") == ""
