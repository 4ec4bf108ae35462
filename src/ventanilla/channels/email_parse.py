"""Reading an inbound e-mail: addresses, thread references, the new text of a reply and
the signs of automatic mail (auto-replies, bounces). Pure functions on
``email.message.EmailMessage``; no database (``channels.email`` decides what to do).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

# Defects after which the parser's idea of the body cannot be trusted: the parts it found
# may be the wrong ones. Other defects (a missing closing boundary, a stray header line)
# are common in real mail and leave a readable message.
SERIOUS_DEFECTS = (
    "NoBoundaryInMultipartDefect",
    "StartBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect",
)
FOLIO_PATTERN = re.compile(r"\b([A-Z]{2,6}-\d{4}-\d{6})\b", re.IGNORECASE)
MESSAGE_ID_PATTERN = re.compile(r"<([^<>\s]+)>")
# The stored id column is 255 characters; longer ids are replaced by their digest.
MAX_MESSAGE_ID_LENGTH = 255


def without_nul(text: str) -> str:
    """PostgreSQL text columns refuse NUL characters (SQLite keeps them): a message carrying
    one must not fail to store, and be fetched again for ever."""
    return text.replace("\x00", "")

# RFC 3834 and the de-facto headers of Exchange, Gmail, mailing-list software and
# vacation responders.
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
AUTO_RESPONSE_SUPPRESS = {"all", "oof", "autoreply"}
# Out-of-office subjects; a secondary signal only (a person may write them too).
OUT_OF_OFFICE_SUBJECT = re.compile(
    r"^\s*(respuesta autom[aá]tica|fuera de (la )?oficina|ausente|ausencia|vacaciones|"
    r"auto(matic)? ?reply|auto-reply|autoreply|out of (the )?office|abwesend|"
    r"r[eé]ponse automatique|auto:)",
    re.IGNORECASE,
)
BOUNCE_SENDERS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}

# Where a reply's quoted copy of the previous message starts.
QUOTE_HEADER_END = re.compile(r"(escribi[oó]|wrote|a [ée]crit|schrieb)\s*:\s*$", re.IGNORECASE)
QUOTE_HEADER_START = re.compile(r"^\s*(el|on|le|am)\s", re.IGNORECASE)
ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|mensaje original|forwarded message|"
    r"mensaje reenviado)\s*-{2,}\s*$",
    re.IGNORECASE,
)
OUTLOOK_FROM = re.compile(r"^\s*\**(de|from)\s*:\**\s+\S", re.IGNORECASE)
OUTLOOK_NEXT = re.compile(r"^\s*\**(enviado|sent|fecha|date|para|to)\s*:", re.IGNORECASE)


def normalize_message_id(value: str) -> str:
    """A Message-ID without its angle brackets and surrounding space ("" if none)."""
    value = (value or "").strip()
    match = MESSAGE_ID_PATTERN.search(value)
    found = match.group(1) if match else value.strip("<> \t")
    if len(found) > MAX_MESSAGE_ID_LENGTH:
        found = "sha256:" + hashlib.sha256(found.encode("utf-8", "replace")).hexdigest()
    return found


def message_ids_in(value: str) -> list[str]:
    """Every ``<id>`` in an In-Reply-To or References header, in order."""
    return [normalize_message_id(found) for found in MESSAGE_ID_PATTERN.findall(value or "")]


def header_text(message: EmailMessage, name: str) -> str:
    """A header as text, never raising: broken encoded words are kept as they came."""
    try:
        value = message.get(name)
    except Exception:  # a header the policy cannot parse at all
        value = None
        for key, raw_value in message.raw_items():
            if key.lower() == name.lower():
                value = raw_value
                break
    if value is None:
        return ""
    return " ".join(without_nul(str(value)).split())


def header_texts(message: EmailMessage, name: str) -> list[str]:
    try:
        values = message.get_all(name) or []
    except Exception:
        values = [raw for key, raw in message.raw_items() if key.lower() == name.lower()]
    return [" ".join(without_nul(str(value)).split()) for value in values]


def valid_address(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


@dataclass(frozen=True)
class Sender:
    address: str  # lower-case
    name: str


def sender_of(message: EmailMessage, header: str = "From") -> Sender | None:
    """The first usable address of a From/Reply-To header; None when there is none (no
    address, a bare name, something that is not an address)."""
    raw = header_text(message, header)
    if not raw:
        return None
    for name, address in getaddresses([raw]):
        address = address.strip().lower()
        if address and valid_address(address):
            return Sender(address=address, name=" ".join(name.split())[:200])
    return None


def recipient_addresses(message: EmailMessage) -> list[str]:
    """Addresses the message was delivered for, most specific first (the headers a
    delivery agent adds, then To and Cc)."""
    found: list[str] = []
    for header in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"):
        for value in header_texts(message, header):
            for _name, address in getaddresses([value]):
                address = address.strip().lower()
                if address and address not in found:
                    found.append(address)
    return found


def serious_defects(message: EmailMessage) -> list[str]:
    names = []
    for part in message.walk():
        for defect in getattr(part, "defects", []):
            if type(defect).__name__ in SERIOUS_DEFECTS:
                names.append(type(defect).__name__)
    return names


def auto_reply_reason(message: EmailMessage) -> str:
    """Why the message is an automatic one (``""`` when it looks written by a person)."""
    auto_submitted = header_text(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if header_text(message, header):
            return f"{header}: {header_text(message, header)}"
    precedence = header_text(message, "Precedence").lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    suppress = {item.strip().lower()
                for item in header_text(message, "X-Auto-Response-Suppress").split(",")}
    if suppress & AUTO_RESPONSE_SUPPRESS:
        return f"X-Auto-Response-Suppress: {header_text(message, 'X-Auto-Response-Suppress')}"
    return ""


def looks_out_of_office(subject: str) -> bool:
    return bool(OUT_OF_OFFICE_SUBJECT.search(subject or ""))


def is_bounce(message: EmailMessage) -> bool:
    """A delivery status notification: the standard report, or a non-standard one from a
    mailer daemon / the null sender."""
    if (message.get_content_type() == "multipart/report"
            and (message.get_param("report-type") or "").lower() == "delivery-status"):
        return True
    return_path = header_text(message, "Return-Path")
    if return_path and parseaddr(return_path)[1] == "" and "<>" in return_path.replace(" ", ""):
        return True
    sender = parseaddr(header_text(message, "From"))[1].lower()
    return sender.split("@")[0] in BOUNCE_SENDERS


@dataclass(frozen=True)
class DeliveryReport:
    failed: bool  # False for "delayed"/"relayed"/"delivered" notices
    error: str


def delivery_report(message: EmailMessage) -> DeliveryReport:
    """What the bounce says happened (RFC 3464 fields when present)."""
    actions, diagnostics = [], []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:
            if not hasattr(block, "get"):
                continue
            if block.get("Action"):
                actions.append(str(block.get("Action")).strip().lower())
            for field_name in ("Diagnostic-Code", "Status"):
                value = " ".join(without_nul(str(block.get(field_name) or "")).split())
                if value:
                    diagnostics.append(f"{field_name}: {value}")
    failed = not actions or any(action == "failed" for action in actions)
    error = "; ".join(diagnostics) or header_text(message, "Subject") or "bounce"
    return DeliveryReport(failed=failed, error=error[:500])


def searchable_text(message: EmailMessage) -> str:
    """Every header and text part, including the returned copy inside a bounce: where our
    own Message-ID appears when a server sends one of our messages back."""
    chunks = []
    for part in message.walk():
        chunks += [f"{key}: {value}" for key, value in part.raw_items()]
        if part.get_content_maintype() == "text" or part.get_content_type() in (
                "message/delivery-status", "text/rfc822-headers"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                chunks.append(payload.decode("utf-8", "replace"))
    return "\n".join(chunks)


class _TextFromHtml(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5",
              "h6", "blockquote", "pre", "hr", "section", "article", "header", "footer"}
    SKIPPED = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.chunks.append("\n")
            if tag == "li":
                self.chunks.append("- ")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in self.BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: tags out, entities decoded, paragraphs and line
    breaks kept, runs of blank lines collapsed."""
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient; this is a last resort
        return re.sub(r"<[^>]*>", " ", html)
    lines = [" ".join(line.split()) for line in "".join(parser.chunks).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def part_text(part: EmailMessage) -> str:
    """A text part decoded with its charset; unknown or wrong charsets decode with
    replacement characters instead of failing."""
    try:
        content = part.get_content()
    except Exception:  # the fallback below decodes whatever is there
        content = None
    if isinstance(content, str):
        return without_nul(content)
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return without_nul(payload.decode(charset, "replace"))
    except LookupError:
        return without_nul(payload.decode("utf-8", "replace"))


def body_part(message: EmailMessage) -> EmailMessage | None:
    try:
        return message.get_body(preferencelist=("plain", "html"))
    except Exception:
        return None


def body_text(message: EmailMessage) -> str:
    """The message text: text/plain preferred, else the HTML made readable."""
    part = body_part(message)
    if part is None:
        return ""
    text = part_text(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _quote_start(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if ORIGINAL_MESSAGE.match(line):
            return index
        if QUOTE_HEADER_END.search(line):
            # "El lun, 3 jun 2024 a las 10:00, Ventanilla <x@y.cl>" may wrap onto the
            # "escribió:" line: the quote header starts where "El"/"On" is.
            for back in range(index, max(index - 3, -1), -1):
                if QUOTE_HEADER_START.match(lines[back]):
                    return back
            return index
        if OUTLOOK_FROM.match(line) and any(OUTLOOK_NEXT.match(following)
                                            for following in lines[index + 1:index + 4]):
            return index
    # A trailing block of "> " lines (with blank lines between them) is the quote.
    start = None
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if stripped.startswith(">"):
            start = index
        elif stripped:
            break
    return start


def strip_quoted_reply(text: str) -> str:
    """What the person wrote, without the quoted copy of the message they answer. Keeps
    the whole text when trimming would leave nothing (a forward, a top-quoted reply)."""
    lines = text.splitlines()
    start = _quote_start(lines)
    if start is None:
        return text.strip()
    trimmed = "\n".join(lines[:start]).strip()
    return trimmed or text.strip()


@dataclass(frozen=True)
class MailPart:
    filename: str
    content_type: str
    content: bytes


def attachment_parts(message: EmailMessage) -> list[MailPart]:
    """Files in the message: every part with a file name that is not the body, and inline
    images (pasted screenshots). The files inside a forwarded message (message/rfc822)
    are listed like the others."""
    body = body_part(message)
    found = []
    for index, part in enumerate(message.walk()):
        if part.is_multipart() or part is body:
            continue
        try:
            filename = without_nul(part.get_filename() or "")
        except Exception:
            filename = ""
        disposition = part.get_content_disposition()
        is_image = part.get_content_maintype() == "image"
        if not filename and not (is_image or disposition == "attachment"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if not filename:
            prefix = "imagen" if is_image else "adjunto"
            filename = f"{prefix}-{index}.{part.get_content_subtype() or 'bin'}"
        found.append(MailPart(filename=filename, content_type=part.get_content_type(),
                              content=payload))
    return found


def folio_in(text: str) -> str:
    match = FOLIO_PATTERN.search(text or "")
    return match.group(1).upper() if match else ""
