"""Spanish first, English on request: the language comes only from the language cookie, and
the English catalogue is complete, compiled and keeps every placeholder of its msgids."""

from __future__ import annotations

import ast
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

import ventanilla

PO_PATH = Path(ventanilla.__file__).parent / "locale" / "en" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]")

# (Spanish msgid, English msgstr) pairs that the site shows on every page.
KNOWN = [
    ("Seguimiento", "Track a request"),
    ("Nueva solicitud", "New request"),
    ("Saltar al contenido", "Skip to content"),
    ("Esperando a la persona", "Waiting for the requester"),
]


def _text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture(autouse=True)
def _restore_language():
    """The middleware activates the chosen language for the thread; do not leak it."""
    before = translation.get_language()
    yield
    if before:
        translation.activate(before)
    else:
        translation.deactivate()


# --- Choosing the language ------------------------------------------------------------


@pytest.mark.django_db
def test_home_is_spanish_by_default(client, catalog):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    text = _text(response)
    assert '<html lang="es-cl">' in text
    assert "Seguimiento" in text
    assert "Track a request" not in text
    assert response["Content-Language"] == "es-cl"


@pytest.mark.django_db
def test_language_cookie_switches_to_english(client, catalog):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    text = _text(response)
    assert '<html lang="en">' in text
    assert "Track a request" in text
    assert "Seguimiento" not in text
    assert "Citizen service" in text
    assert "Atención ciudadana" not in text
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_accept_language_alone_does_not_switch_to_english(client, catalog):
    response = client.get(reverse("portal:home"), HTTP_ACCEPT_LANGUAGE="en")
    text = _text(response)
    assert '<html lang="es-cl">' in text
    assert "Seguimiento" in text
    assert "Track a request" not in text


@pytest.mark.django_db
def test_unsupported_cookie_value_falls_back_to_spanish(client, catalog):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    text = _text(client.get(reverse("portal:home")))
    assert '<html lang="es-cl">' in text
    assert "Seguimiento" in text


@pytest.mark.django_db
def test_set_language_sets_the_cookie_and_redirects(client, catalog):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    text = _text(client.get(reverse("portal:home")))  # the client keeps the cookie
    assert '<html lang="en">' in text
    assert "Track a request" in text

    client.post(reverse("set_language"), {"language": "es-cl", "next": "/"})
    text = _text(client.get(reverse("portal:home")))
    assert '<html lang="es-cl">' in text
    assert "Seguimiento" in text


# --- The compiled catalogue -----------------------------------------------------------


@pytest.mark.parametrize(("spanish", "english"), KNOWN)
def test_compiled_catalogue_translates_known_strings(spanish, english):
    with translation.override("en"):
        assert translation.gettext(spanish) == english
    with translation.override("es-cl"):
        assert translation.gettext(spanish) == spanish


def test_compiled_catalogue_translates_plurals():
    with translation.override("en"):
        one = translation.ngettext(
            "%(count)d mensaje anulado.", "%(count)d mensajes anulados.", 1) % {"count": 1}
        many = translation.ngettext(
            "%(count)d mensaje anulado.", "%(count)d mensajes anulados.", 3) % {"count": 3}
    assert one == "1 message cancelled."
    assert many == "3 messages cancelled."


# --- The .po file ---------------------------------------------------------------------


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def msgstrs(self) -> dict[str, str]:
        return {key: value for key, value in self.fields.items() if key.startswith("msgstr")}


def parse_po(path: Path) -> list[Entry]:
    """A small parser for what makemessages writes: comments, then msgctxt / msgid /
    msgid_plural / msgstr / msgstr[N] keywords, each a quoted string optionally followed by
    quoted continuation lines. Obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    current: Entry | None = None
    keyword = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            current, keyword = None, ""
            continue
        if line.startswith("#"):
            if current is None or current.fields:
                current = Entry(line=number)
                entries.append(current)
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith('"'):
            assert current is not None and keyword, f"line {number}: stray string"
            current.fields[keyword] += ast.literal_eval(line)
            continue
        keyword, _, value = line.partition(" ")
        assert re.fullmatch(r"msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?", keyword), (
            f"line {number}: unexpected {keyword!r}")
        if current is None or (keyword in {"msgctxt", "msgid"} and "msgid" in current.fields):
            current = Entry(line=number)
            entries.append(current)
        current.fields[keyword] = ast.literal_eval(value)
    return [entry for entry in entries if "msgid" in entry.fields]


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    entries = parse_po(PO_PATH)
    assert len(entries) > 400  # sanity check of the parser
    return entries


def test_po_header_is_english_with_two_plural_forms(po_entries):
    header = po_entries[0]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    text = header.fields["msgstr"]
    assert "Language: en\n" in text
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in text
    assert "charset=UTF-8" in text


def test_every_po_entry_is_translated_and_not_fuzzy(po_entries):
    problems = []
    for entry in po_entries[1:]:
        if "fuzzy" in entry.flags:
            problems.append(f"line {entry.line}: fuzzy {entry.msgid!r}")
        expected = {"msgstr[0]", "msgstr[1]"} if "msgid_plural" in entry.fields else {"msgstr"}
        strings = entry.msgstrs
        if set(strings) != expected or not all(strings.values()):
            problems.append(f"line {entry.line}: untranslated {entry.msgid!r}")
    assert problems == []


def test_every_po_entry_keeps_its_placeholders(po_entries):
    problems = []
    for entry in po_entries[1:]:
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        wanted |= set(PLACEHOLDER.findall(entry.fields.get("msgid_plural", "")))
        for key, value in entry.msgstrs.items():
            found = set(PLACEHOLDER.findall(value))
            if found != wanted:
                problems.append(f"line {entry.line} {key}: {entry.msgid!r} has "
                                f"{sorted(wanted)}, the translation has {sorted(found)}")
    assert problems == []


def test_compiled_catalogue_matches_the_po_file(po_entries):
    """The committed .mo was compiled from the current .po: every entry comes back
    translated through Django's gettext."""
    stale = []
    with translation.override("en"):
        for entry in po_entries[1:]:
            context = entry.fields.get("msgctxt")
            if "msgid_plural" in entry.fields:
                plural = entry.fields["msgid_plural"]
                got = [translation.npgettext(context, entry.msgid, plural, n) if context
                       else translation.ngettext(entry.msgid, plural, n) for n in (1, 2)]
                want = [entry.fields["msgstr[0]"], entry.fields["msgstr[1]"]]
            else:
                got = [translation.pgettext(context, entry.msgid) if context
                       else translation.gettext(entry.msgid)]
                want = [entry.fields["msgstr"]]
            if got != want:
                stale.append(f"line {entry.line}: {entry.msgid!r} gives {got}, .po has {want}")
    assert stale == [], "run compilemessages"
