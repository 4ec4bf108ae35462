"""Reading the text of the generated PDF without a PDF library: inflate each content
stream and decode its literal strings (WinAnsi ≈ cp1252)."""

import base64
import re
import zlib

_STREAM = re.compile(rb"/Filter\s*\[?([^\]>]*)\]?[^>]*>>\s*stream\r?\n(.*?)endstream", re.S)
_LITERAL = re.compile(rb"\((?:\\.|[^\\()])*\)\s*Tj", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _inflate(filters: bytes, raw: bytes) -> bytes:
    data = raw.strip()
    if b"ASCII85Decode" in filters:
        data = base64.a85decode(data, adobe=True)
    if b"FlateDecode" in filters:
        data = zlib.decompress(data)
    return data


def _unescape(body: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(body):
        char = body[index:index + 1]
        if char != b"\\":
            out += char
            index += 1
            continue
        following = body[index + 1:index + 2]
        octal = re.match(rb"[0-7]{1,3}", body[index + 1:index + 4])
        if octal:
            out.append(int(octal.group(0), 8))
            index += 1 + len(octal.group(0))
        else:
            out += _ESCAPES.get(following, following)
            index += 2
    return bytes(out)


def pdf_text(content: bytes) -> str:
    """Every shown string, one per line, in drawing order."""
    lines = []
    for filters, raw in _STREAM.findall(content):
        data = _inflate(filters, raw)
        for match in _LITERAL.finditer(data):
            literal = match.group(0)
            literal = literal[:literal.rindex(b")") + 1]
            lines.append(_unescape(literal[1:-1]).decode("cp1252"))
    return "\n".join(lines)
