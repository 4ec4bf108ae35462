"""Optional virus scanning of uploads with ClamAV's daemon (clamd).

Speaks clamd's INSTREAM command over its unix socket (``CLAMD_SOCKET``) or TCP
(``CLAMD_HOST``/``CLAMD_PORT``): the file is sent in length-prefixed chunks and clamd answers
``stream: OK`` or ``stream: <signature> FOUND``. Nothing is written to disk on our side and
clamd needs no access to our files. ``tickets.uploads`` decides what a result means for the
person (refuse, or retry later when clamd cannot be reached).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from django.conf import settings

CHUNK_BYTES = 64 * 1024


class ClamdUnavailable(Exception):
    """clamd could not be reached or did not give a verdict."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str = ""


def clamd_configured() -> bool:
    return bool(settings.CLAMD_SOCKET or settings.CLAMD_HOST)


def _connect() -> socket.socket:
    timeout = settings.CLAMD_TIMEOUT
    try:
        if settings.CLAMD_SOCKET:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(settings.CLAMD_SOCKET)
            return conn
        return socket.create_connection((settings.CLAMD_HOST, settings.CLAMD_PORT),
                                        timeout=timeout)
    except OSError as exc:
        raise ClamdUnavailable(f"cannot connect to clamd: {exc.__class__.__name__}") from exc


def _reply(conn: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\0"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > 64 * 1024:
            break
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def _command(command: bytes, payload: bytes | None = None) -> str:
    try:
        with _connect() as conn:
            conn.sendall(b"z" + command + b"\0")
            if payload is not None:
                view = memoryview(payload)
                for start in range(0, len(view), CHUNK_BYTES):
                    chunk = view[start:start + CHUNK_BYTES]
                    conn.sendall(struct.pack("!L", len(chunk)) + chunk)
                conn.sendall(struct.pack("!L", 0))
            return _reply(conn)
    except ClamdUnavailable:
        raise
    except OSError as exc:
        raise ClamdUnavailable(f"clamd I/O error: {exc.__class__.__name__}") from exc


def clamd_ping() -> bool:
    try:
        return _command(b"PING") == "PONG"
    except ClamdUnavailable:
        return False


def clamd_scan(content: bytes) -> ScanResult:
    """Scan ``content``; raise ClamdUnavailable when no verdict could be obtained."""
    answer = _command(b"INSTREAM", content)
    # "stream: OK" | "stream: Eicar-Signature FOUND" | "<reason> ERROR"
    if answer.endswith(" FOUND"):
        signature = answer.removeprefix("stream:").removesuffix(" FOUND").strip()
        return ScanResult(infected=True, signature=signature[:200])
    if answer.endswith("OK"):
        return ScanResult(infected=False)
    raise ClamdUnavailable(f"clamd gave no verdict: {answer[:200]!r}")
