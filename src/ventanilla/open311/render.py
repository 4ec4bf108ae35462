"""GeoReport v2 output: the same rows as JSON or as XML with the specification's element names,
UTF-8, and the specification's error format."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from django.http import HttpResponse

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _append(parent: ET.Element, name: str, value) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, list):
        # Lists are wrapped in their singular child: formats/format, attributes/attribute…
        child = name[:-1] if name.endswith("s") else "item"
        for item in value:
            _append(element, child, item)
    else:
        element.text = _text(value)


def to_xml(root: str, item: str | None, rows) -> bytes:
    """``rows`` is a list of dicts (one ``item`` element each) or one dict (``item`` None)."""
    element = ET.Element(root)
    if item is None:
        for key, value in rows.items():
            _append(element, key, value)
    else:
        for row in rows:
            _append(element, item, row)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="utf-8")


def respond(fmt: str, root: str, item: str | None, rows, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        body = to_xml(root, item, rows)
    else:
        body = json.dumps(rows, ensure_ascii=False).encode("utf-8")
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def error_response(fmt: str, status: int, *descriptions: str, headers=None) -> HttpResponse:
    rows = [{"code": status, "description": str(text)} for text in descriptions]
    response = respond(fmt, "errors", "error", rows, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
