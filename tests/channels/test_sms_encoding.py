"""SMS text rules: GSM-7 or UCS-2, segment counting, transliteration and the cut to the
segment budget (``channels.sms``)."""

from __future__ import annotations

import pytest

from tests.factories import open_ticket
from ventanilla.channels.sms import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    outbound_prepare,
    sms_fit,
    sms_segments,
    sms_transliterate,
)
from ventanilla.portal.access_links import tracking_link_url

LINK = "https://ventanilla.example.cl/seguimiento/?folio=JUN-2026-000123"


def test_the_gsm7_tables_are_the_standard_ones():
    # 128 codes minus the escape; the extension table has ten printable characters.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10
    assert {"é", "ñ", "Ñ", "ü", "Ü", "¿", "¡", "É", "Ç"} <= GSM7_BASIC
    assert not {"á", "í", "ó", "ú", "Á", "Í", "Ó", "Ú", "ç", "`"} & GSM7_BASIC


def test_plain_text_is_gsm7_with_160_characters_in_one_segment():
    assert sms_segments("a" * 160) == ("gsm7", 1, 160)
    assert sms_segments("a" * 161) == ("gsm7", 2, 161)
    assert sms_segments("a" * 306) == ("gsm7", 2, 306)
    assert sms_segments("a" * 307) == ("gsm7", 3, 307)
    assert sms_segments("¿Qué pasa? ¡Ñuñoa!")[0] == "gsm7"  # é, ñ, Ñ, ¿, ¡ are GSM-7


def test_extension_characters_count_twice_and_never_straddle_two_parts():
    assert sms_segments("€" * 80) == ("gsm7", 1, 160)
    assert sms_segments("{" * 81) == ("gsm7", 2, 162)
    # 152 septets, then a two-septet character: 154 does not fit in a 153-septet part,
    # so it opens the second part whole.
    assert sms_segments("a" * 152 + "€" + "a" * 10)[1] == 2
    assert sms_segments("a" * 152 + "€" + "a" * 152)[1] == 3


def test_a_character_outside_gsm7_makes_the_whole_message_ucs2():
    assert sms_segments("á" * 70) == ("ucs2", 1, 70)
    assert sms_segments("á" * 71) == ("ucs2", 2, 71)
    assert sms_segments("a" * 100 + "😀") == ("ucs2", 2, 102)  # an emoji is two code units
    # 66 units, then a surrogate pair that cannot be split: it opens the second part, so
    # 134 units need three parts, not two.
    assert sms_segments("x" * 66 + "😀" + "x" * 66) == ("ucs2", 3, 134)
    assert sms_segments("x" * 67 + "😀" + "x" * 65) == ("ucs2", 2, 134)


def test_spanish_accents_and_typography_are_transliterated_to_gsm7():
    text = "¿Cómo está? “Sí”, dijo María — la niña… «Ñuñoa» N° 5 Ándres Ígor"
    result = sms_transliterate(text)

    assert result == '¿Como esta? "Si", dijo Maria - la niña... "Ñuñoa" No 5 Andres Igor'
    assert sms_segments(result)[0] == "gsm7"


def test_text_that_cannot_be_gsm7_keeps_its_accents_as_ucs2():
    text = "Gracias 🙏 por su ayuda, María"
    assert sms_transliterate(text) == text
    assert sms_segments(text)[0] == "ucs2"


def test_a_long_text_is_cut_at_a_word_and_keeps_the_link_whole():
    head = " ".join(["palabra"] * 120)
    for budget in (1, 2, 3):
        text = sms_fit(head, LINK, max_segments=budget)
        encoding, segments, _length = sms_segments(text)
        assert (encoding, segments) == ("gsm7", budget)
        first, link = text.split("\n")
        assert link == LINK
        assert first.endswith("palabra...")  # a whole word, then the ellipsis
    assert sms_fit("Corto", LINK, max_segments=1) == f"Corto\n{LINK}"


def test_the_cut_respects_the_ucs2_budget(settings):
    settings.SMS_MAX_SEGMENTS = 2
    text = sms_fit("Hola 😀 " * 40, LINK)
    assert sms_segments(text)[:2] == ("ucs2", 2)
    assert text.endswith("\n" + LINK)


@pytest.mark.django_db
def test_the_outbound_sms_is_the_institution_the_subject_and_the_tracking_link(catalog,
                                                                               settings):
    settings.SITE_URL = "https://ventanilla.example.cl"
    settings.SMS_MAX_SEGMENTS = 2
    ticket = open_ticket(catalog)
    body = "Estimada/o Juana:\n\n" + "Un texto larguísimo del correo. " * 40

    text = outbound_prepare(channel="sms", subject=f"[{ticket.folio}] Respuesta a su "
                            "requerimiento: la colación llegará el jueves", body=body,
                            ticket=ticket)

    assert text.startswith(f"{catalog['institution']}: [{ticket.folio}] Respuesta a su "
                           "requerimiento")
    assert text.endswith("\n" + tracking_link_url(ticket))
    assert "larguísimo" not in text  # the e-mail body is not an SMS
    assert "la colacion llegara el jueves\n" in text  # transliterated to stay GSM-7
    assert sms_segments(text)[:2] == ("gsm7", 2)

    settings.SMS_MAX_SEGMENTS = 1  # one part: the subject is cut, never the link
    short = outbound_prepare(channel="sms", subject=f"[{ticket.folio}] Respuesta a su "
                             "requerimiento: la colación llegará el jueves", body=body,
                             ticket=ticket)
    assert short.endswith("...\n" + tracking_link_url(ticket))
    assert sms_segments(short)[:2] == ("gsm7", 1)


@pytest.mark.django_db
def test_transliteration_can_be_turned_off(catalog, settings):
    settings.SMS_TRANSLITERATE = False
    ticket = open_ticket(catalog)
    text = outbound_prepare(channel="sms", subject="Recibimos su petición", body="",
                            ticket=ticket)
    assert "petición" in text
    assert sms_segments(text)[0] == "ucs2"
