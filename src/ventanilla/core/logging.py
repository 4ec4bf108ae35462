"""Personal data and secrets never reach the logs.

``RedactPersonalDataFilter`` is installed on every handler (settings, block "Trust: personal
data"). It rewrites each record's final message (the format string merged with its
arguments, and the text of an attached exception) replacing:

- e-mail addresses → ``[correo]``
- Chilean RUTs (12.345.678-5, 12345678-5, 123456785 when it has a valid check digit is not
  assumed: only the dotted or hyphenated forms, which is how people write them) → ``[rut]``
- phone numbers (8 or more digits, optionally with +, spaces, dots, hyphens, parentheses)
  → ``[teléfono]``
- secrets: our API keys (``vk_…``), bearer/Api-Key authorisation values, ``token=`` /
  ``password=`` / ``secret=`` style pairs, signed link tokens in our URLs (``/s/<token>/``,
  ``/encuesta/<token>/``) → ``[secreto]``

A filter, not a formatter: it runs once per record whatever the handler and formatter are,
and it never drops a record (a log line with its personal data removed is still useful).
Record attributes other than the message (``extra=``) are left alone: log calls must not
pass personal data there; tests/privacy checks the project's own log calls.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# 1.234.567-8 … 12.345.678-K, or 12345678-K (check digit after a hyphen).
RUT = re.compile(r"\b\d{1,2}(?:\.\d{3}){2}-[\dkK]\b|\b\d{7,8}-[\dkK]\b")
# Runs of 8+ digits with the usual separators, optionally international. Years, folios
# (PREFIX-2026-000123) and ids are shorter or broken by letters, so they survive.
PHONE = re.compile(r"(?<![\w/:.-])\+?\(?\d[\d\s().-]{6,}\d(?![\w/-])")
SECRET_PAIRS = re.compile(
    r"(?i)\b(password|passwd|clave|secret|token|api[_-]?key|authorization|otp|code)"
    r"(\s*[=:]\s*|\"\s*:\s*\")([^\s&\"',;]+)")
AUTH_HEADER = re.compile(r"(?i)\b(Bearer|Api-Key|Token|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
API_KEY = re.compile(r"\bvk_[A-Za-z0-9]+_[A-Za-z0-9_\-]+")
LINK_TOKEN = re.compile(r"(/(?:s|encuesta|kiosco/emparejar|cuenta/verificar)/)[^/\s?#]{8,}")


DATE_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}[-/]\d{2}[-/]\d{4}")
# IP addresses stay: security logs (lock-out, throttling) need them.
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _phone_or_keep(match: re.Match) -> str:
    text = match.group(0)
    if (sum(ch.isdigit() for ch in text) < 8 or DATE_LIKE.search(text)
            or IPV4.fullmatch(text.strip())):
        return text  # a date, an address, a short number: not a phone
    return "[teléfono]"


def redact(text: str) -> str:
    """``text`` with personal data and secrets replaced by placeholders."""
    if not text:
        return text
    text = API_KEY.sub("[secreto]", text)
    text = AUTH_HEADER.sub(lambda m: f"{m.group(1)} [secreto]", text)
    text = SECRET_PAIRS.sub(lambda m: f"{m.group(1)}{m.group(2)}[secreto]", text)
    text = LINK_TOKEN.sub(lambda m: f"{m.group(1)}[secreto]", text)
    text = EMAIL.sub("[correo]", text)
    text = RUT.sub("[rut]", text)
    return PHONE.sub(_phone_or_keep, text)


class RedactPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Format the traceback once here, redacted; handlers reuse ``exc_text``.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
