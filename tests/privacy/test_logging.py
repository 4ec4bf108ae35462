"""Personal data and secrets never reach the logs."""

import io
import logging

import pytest
from django.conf import settings

from ventanilla.core.logging import RedactPersonalDataFilter, redact


@pytest.mark.parametrize(("text", "gone", "placeholder"), [
    ("de juana.soto+x@example.cl", "juana.soto+x@example.cl", "[correo]"),
    ("RUT 12.345.678-5", "12.345.678-5", "[rut]"),
    ("RUT 9876543-K", "9876543-K", "[rut]"),
    ("tel +56 9 1234 5678", "1234 5678", "[teléfono]"),
    ("tel 912345678", "912345678", "[teléfono]"),
    ("Authorization: Api-Key vk_ab12cd_Zx9-secret", "vk_ab12cd_Zx9-secret", "[secreto]"),
    ("GET /s/AbCdEf123456789xyz/ 200", "AbCdEf123456789xyz", "[secreto]"),
    ("GET /encuesta/12-abcdefghijkl/ 200", "12-abcdefghijkl", "[secreto]"),
    ("password=hunter2&next=/", "hunter2", "[secreto]"),
    ('{"token": "abc123"}', "abc123", "[secreto]"),
])
def test_redact_removes_personal_data_and_secrets(text, gone, placeholder):
    cleaned = redact(text)
    assert gone not in cleaned
    assert placeholder in cleaned


@pytest.mark.parametrize("text", [
    "folio JUN-2026-000123 closed",
    "run at 2026-11-23 04:08:00 took 1234 ms",
    "ticket 42 moved to area 7",
    "client 192.168.10.20 locked out",
])
def test_redact_keeps_what_is_not_personal(text):
    assert redact(text) == text


def _logger_with_filter():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactPersonalDataFilter())
    logger = logging.getLogger("tests.privacy.redaction")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_filter_redacts_arguments_and_tracebacks():
    logger, stream = _logger_with_filter()
    logger.info("message from %s (%s)", "juana@example.cl", "12.345.678-5")
    try:
        raise ValueError("no se pudo enviar a juana@example.cl")
    except ValueError:
        logger.exception("delivery failed for %s", "+56 9 1234 5678")
    output = stream.getvalue()
    assert "juana@example.cl" not in output
    assert "12.345.678-5" not in output and "1234 5678" not in output
    assert "[correo]" in output and "[rut]" in output and "ValueError" in output


def test_filter_never_drops_a_record():
    logger, stream = _logger_with_filter()
    logger.info("plain %d", 3)
    logger.info("broken %s %s", "only one")  # a bad format must not raise in the filter
    assert "plain 3" in stream.getvalue()


def test_every_configured_handler_has_the_filter():
    config = settings.LOGGING
    assert config["filters"]["redact_personal_data"]["()"] == \
        "ventanilla.core.logging.RedactPersonalDataFilter"
    assert config["handlers"]
    for handler in config["handlers"].values():
        assert "redact_personal_data" in handler.get("filters", [])


def test_root_logger_output_is_redacted():
    """The configured handler (not pytest's capture) writes the redacted text."""
    root = logging.getLogger()
    configured = [h for h in root.handlers
                  if any(isinstance(f, RedactPersonalDataFilter) for f in h.filters)]
    assert configured, "LOGGING did not install the filter on the root handler"
    stream = io.StringIO()
    handler = configured[0]
    old_stream = handler.setStream(stream)
    try:
        logging.getLogger("ventanilla.test").warning("contact %s", "ana@example.cl")
    finally:
        handler.setStream(old_stream)
    assert "ana@example.cl" not in stream.getvalue()
