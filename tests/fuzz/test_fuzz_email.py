"""Properties of the e-mail parser (channels/email_parse.py) and of the e-mail channel that
uses it (channels/email.py) on arbitrary bytes and generated MIME trees: nested multiparts,
forwarded messages, encoded words, unknown charsets, broken base64, missing boundaries."""

from __future__ import annotations

import base64
import logging
import quopri
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.factories import make_endpoint
from tests.fuzz.settings import FUZZ
from ventanilla.channels import email_parse as parse
from ventanilla.channels.email import email_process
from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.tickets.models import Attachment, Ticket

OIRS = "oirs@inst.example.cl"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)

header_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=60,
)
charsets = st.sampled_from(
    ["utf-8", "iso-8859-1", "windows-1252", "us-ascii", "utf-16", "x-unknown-charset", "", "utf8",
     "koi8-r", "utf-7", "\"utf-8\"", "iso-2022-jp"]
)


def _encoded_word(text: str, charset: str, mode: str) -> str:
    data = text.encode("utf-8")
    payload = base64.b64encode(data).decode() if mode == "b" else quopri.encodestring(
        data, header=True).decode()
    return f"=?{charset}?{mode}?{payload}?="


@st.composite
def header_values(draw) -> str:
    """Plain text, RFC 2047 encoded words (right, wrong charset, broken) and their mixes."""
    kind = draw(st.sampled_from(["plain", "encoded", "broken", "mixed"]))
    text = draw(header_text)
    if kind == "plain":
        return text.encode("ascii", "replace").decode()
    if kind == "broken":
        return draw(st.sampled_from(["=?utf-8?b?@@@?=", "=?x-bogus?q?caf=E9?=", "=?utf-8?q?",
                                     "=?utf-8?b?w6E=?==?utf-8?b?", "=??b??=", "=?utf-8*es?q?a?="]))
    word = _encoded_word(text, draw(charsets) or "utf-8", draw(st.sampled_from("bq")))
    return word if kind == "encoded" else f"Re: {word} [JUN-2026-000123] {word}"


@st.composite
def addresses(draw) -> str:
    return draw(st.one_of(
        st.sampled_from([
            "Juana Soto <juana@example.cl>", "juana@example.cl", "<>", "",
            "undisclosed-recipients:;",
            "MAILER-DAEMON@example.cl", "a@b", "\"Soto, Juana\" <juana@example.cl>",
            "=?utf-8?q?Mar=C3=ADa?= <maria@example.cl>", "<juana@example.cl", "@@@",
            "juana@example.cl, pedro@example.cl", OIRS,
        ]),
        header_values(),
    ))


def _body_bytes(text: str, charset: str, encoding: str) -> tuple[str, bytes]:
    try:
        data = text.encode(charset.strip('"') or "utf-8")
    except (LookupError, UnicodeError):
        data = text.encode("utf-8")
    if encoding == "base64":
        return encoding, base64.encodebytes(data)
    if encoding == "quoted-printable":
        return encoding, quopri.encodestring(data)
    if encoding == "broken-base64":
        return "base64", b"@@not base64!!" + data[:20]
    return "8bit", data


@st.composite
def leaf_parts(draw) -> bytes:
    kind = draw(st.sampled_from(["plain", "html", "png", "pdf", "binary", "image-garbage"]))
    filename = draw(st.one_of(st.none(), header_values(), st.sampled_from(
        ["foto.png", "../../etc/passwd", "informe.pdf", "a" * 300 + ".png", "archivo.exe"])))
    disposition = draw(st.sampled_from(["", "attachment", "inline"]))
    headers = []
    if kind in ("plain", "html"):
        charset = draw(charsets)
        text = draw(st.text(max_size=300))
        if kind == "html":
            text = f"<html><body><p>{text}</p><script>x()</script><br>fin</body></html>"
        encoding, body = _body_bytes(text, charset, draw(
            st.sampled_from(["8bit", "base64", "quoted-printable", "broken-base64"])))
        headers.append(f"Content-Type: text/{kind}; charset={charset}")
    else:
        content_type, data = {
            "png": ("image/png", PNG),
            "pdf": ("application/pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
            "binary": ("application/octet-stream", draw(st.binary(max_size=200))),
            "image-garbage": ("image/jpeg", draw(st.binary(max_size=200))),
        }[kind]
        encoding, body = "base64", base64.encodebytes(data)
        headers.append(f"Content-Type: {content_type}")
    headers.append(f"Content-Transfer-Encoding: {encoding}")
    if disposition or filename is not None:
        name = f'; filename="{filename}"' if filename is not None else ""
        headers.append(f"Content-Disposition: {disposition or 'attachment'}{name}")
    return "\r\n".join(headers).encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body


def _multipart(children: list[bytes], subtype: str, boundary: str, close: bool) -> bytes:
    out = [f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n\r\n".encode()]
    out.append(b"preamble\r\n")
    for child in children:
        out.append(f"--{boundary}\r\n".encode() + child + b"\r\n")
    if close:
        out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def parts() -> st.SearchStrategy[bytes]:
    """A MIME tree: leaves, multiparts (sometimes without their closing boundary) and
    forwarded messages (message/rfc822) holding another tree, a few levels deep."""
    return st.recursive(
        leaf_parts(),
        lambda children: st.one_of(
            st.builds(
                _multipart, st.lists(children, min_size=1, max_size=4),
                st.sampled_from(["mixed", "alternative", "related", "report"]),
                st.sampled_from(["b1", "=_frontera_", "x" * 70, "b1"]),  # nested: same name
                st.booleans()),
            st.builds(lambda inner: b"Content-Type: message/rfc822\r\n\r\n"
                      b"From: otra@example.cl\r\nSubject: reenviado\r\n" + inner, children),
        ),
        max_leaves=8,
    )


@st.composite
def messages(draw) -> bytes:
    headers = {
        "From": draw(addresses()),
        "To": draw(st.sampled_from([OIRS, f"Oficina <{OIRS}>", "otra@example.cl", ""])),
        "Subject": draw(header_values()),
        "Message-ID": draw(st.one_of(st.sampled_from(["", "<>", "<" + "x" * 400 + "@a>"]),
                                     st.uuids().map(lambda u: f"<{u}@example.cl>"))),
        "In-Reply-To": draw(st.sampled_from(["", "<outbox-1@inst.example.cl>", "<<<>>>"])),
    }
    for extra in draw(st.lists(st.sampled_from([
        "Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autoreply: yes",
        "Return-Path: <>", "X-Loop: ventanilla", "Content-Type: multipart/mixed",
        "Content-Transfer-Encoding: base64", "Reply-To: =?utf-8?q?x?= <respuesta@example.cl>",
    ]), max_size=2)):
        name, value = extra.split(": ", 1)
        headers[name] = value
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items() if value)
    return head.encode("utf-8", "surrogateescape") + draw(parts())


def _parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def _read_everything(message) -> None:
    """Every function the channel calls on a message, with the invariants of their results."""
    for name in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References"):
        assert "\n" not in parse.header_text(message, name)
    parse.header_texts(message, "To")
    sender = parse.sender_of(message)
    if sender is not None:
        assert sender.address == sender.address.lower() and parse.valid_address(sender.address)
        assert len(sender.name) <= 200
    parse.recipient_addresses(message)
    parse.serious_defects(message)
    parse.auto_reply_reason(message)
    parse.is_bounce(message)
    assert len(parse.delivery_report(message).error) <= 500
    parse.searchable_text(message)
    message_id = parse.normalize_message_id(parse.header_text(message, "Message-ID"))
    assert len(message_id) <= parse.MAX_MESSAGE_ID_LENGTH + len("sha256:")
    assert all(len(found) <= 300 for found in parse.message_ids_in(
        parse.header_text(message, "References")))
    text = parse.body_text(message)
    trimmed = parse.strip_quoted_reply(text)
    # Trimming only removes: what is left was in the text.
    assert trimmed in text or trimmed == text.strip()
    for part in parse.attachment_parts(message):
        assert part.filename and isinstance(part.content, bytes)
    folio = parse.folio_in(parse.header_text(message, "Subject"))
    assert folio == folio.upper()


@FUZZ
@given(raw=st.binary(max_size=2000))
@example(b"")
@example(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x\r\n")
@example(b"Content-Type: text/plain; charset=\"\"\r\n\r\n\xff\xfe")
@example(b"Subject: =?utf-8?b?\xff\xff?=\r\nFrom: \xc3\xa1@\xc3\xa1\r\n\r\nhola")
def test_parser_reads_arbitrary_bytes_without_raising(raw):
    _read_everything(_parse(raw))


@FUZZ
@given(raw=messages())
def test_parser_reads_generated_mime_trees_without_raising(raw):
    _read_everything(_parse(raw))


@FUZZ
@given(raw=messages(), cut=st.floats(min_value=0.1, max_value=1.0))
def test_parser_reads_truncated_messages_without_raising(raw, cut):
    _read_everything(_parse(raw[: int(len(raw) * cut)]))


@pytest.fixture
def email_endpoint(catalog):
    return make_endpoint(catalog, provider="email", address=OIRS, channel_code="email")


NUL_MESSAGE = (f"From: Juana <juana@example.cl>\r\nTo: {OIRS}\r\nSubject: a\x00b\r\n"
               "Message-ID: <nul\x00@example.cl>\r\nContent-Type: text/plain\r\n\r\n"
               "texto\x00con NUL").encode()


@pytest.mark.django_db
@FUZZ
@given(raw=messages())
@example(raw=NUL_MESSAGE)  # PostgreSQL refuses NUL in text columns (found by this test)
def test_the_channel_stores_each_message_once_within_the_limits(
        email_endpoint, settings, caplog, raw):
    """The whole channel: never an unexpected exception (which it would record as
    «Error inesperado»), a redelivery stores nothing new, and the attachment limits hold."""
    settings.ATTACHMENT_MAX_FILES = 2
    settings.ATTACHMENT_MAX_BYTES = 1024
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="ventanilla.channels.email"):
        first = email_process(raw, source="fuzz")
    assert not [r for r in caplog.records if r.name == "ventanilla.channels.email"], (
        caplog.text)
    record = getattr(first, "message", first)
    assert isinstance(record, InboundMessage)
    if record.status == InboundStatus.QUARANTINED:
        assert not record.reason.startswith("Error inesperado"), record.reason
    tickets, rows, files = (Ticket.objects.count(), InboundMessage.objects.count(),
                            Attachment.objects.count())
    again = email_process(raw, source="fuzz")
    assert getattr(again, "message", again).pk == record.pk
    assert (Ticket.objects.count(), InboundMessage.objects.count(),
            Attachment.objects.count()) == (tickets, rows, files)
    if record.ticket_id:
        attachments = Attachment.objects.filter(ticket_id=record.ticket_id)
        assert attachments.count() <= 2
        assert all(attachment.size <= 1024 for attachment in attachments)


@pytest.mark.django_db
@FUZZ
@given(raw=messages(), padding=st.integers(min_value=1, max_value=70_000))
@example(raw=NUL_MESSAGE, padding=1)
def test_an_oversized_message_is_quarantined_not_parsed(email_endpoint, settings, raw, padding):
    settings.INBOUND_MAIL_MAX_BYTES = 2048
    big = raw + b"\r\n" + b"A" * (2048 + padding)
    record = email_process(big, source="fuzz")
    assert isinstance(record, InboundMessage)
    assert record.status == InboundStatus.QUARANTINED
    assert "máximo" in record.reason
