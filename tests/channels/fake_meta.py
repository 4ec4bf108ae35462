"""A local fake of Meta's Graph API, in a thread, speaking its real formats.

- ``POST /{version}/{phone-number-id}/messages`` (WhatsApp) answers
  ``{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}``;
  ``POST /{version}/{page-id}/messages`` (Messenger/Instagram Send API) answers
  ``{"recipient_id": ..., "message_id": "m_..."}``. Every POST is recorded.
- ``GET /{version}/{media-id}`` answers ``{"url": ..., "mime_type": ..., "id": ...}`` for media
  added with ``add_media``, and the URL serves the bytes; both need the Bearer token.
- ``GET /cdn/{name}`` serves Messenger/Instagram attachments (no token).
- ``GET /{version}/{user-id}?fields=...`` answers a profile added with ``add_profile``.
- ``fail_next(status, code, message)`` makes the next POST answer a Graph error body.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

VERSION = "v21.0"


@dataclass
class Recorded:
    path: str
    headers: dict
    json: dict


@dataclass
class FakeGraph:
    token: str = "test-access-token"
    posts: list[Recorded] = field(default_factory=list)
    media: dict = field(default_factory=dict)  # media id → (bytes, mime type)
    cdn: dict = field(default_factory=dict)  # name → (bytes, content type)
    profiles: dict = field(default_factory=dict)  # user id → JSON
    failures: list = field(default_factory=list)  # (status, body) for the next POSTs
    media_failures: dict = field(default_factory=dict)  # media id → (status, body)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self):
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/{VERSION}"

    def __enter__(self) -> FakeGraph:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def add_media(self, media_id: str, content: bytes, mime_type: str) -> None:
        self.media[media_id] = (content, mime_type)

    def fail_media(self, media_id: str, status: int = 404, code: int = 100,
                   message: str = "Unsupported get request.") -> None:
        self.media_failures[media_id] = (status, _graph_error(code, message))

    def add_cdn(self, name: str, content: bytes, content_type: str) -> str:
        self.cdn[name] = (content, content_type)
        return f"{self.root}/cdn/{name}?_nc_sig=fake"

    def fail_next(self, status: int, code: int, message: str = "Error", *,
                  details: str = "") -> None:
        self.failures.append((status, _graph_error(code, message, details)))

    def _handler(fake):  # the handler class closes over the fake as "fake"
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body, content_type="application/json"):
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {fake.token}":
                    return True
                self._send(401, _graph_error(190, "Invalid OAuth access token."))
                return False

            def do_POST(self):
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._send(400, _graph_error(100, "Invalid JSON"))
                with fake._lock:
                    fake.posts.append(Recorded(url.path, dict(self.headers), payload))
                    failure = fake.failures.pop(0) if fake.failures else None
                if failure:
                    return self._send(*failure)
                if len(parts) != 3 or parts[0] != VERSION or parts[2] != "messages":
                    return self._send(400, _graph_error(100, "Unknown path"))
                if not self._authorised():
                    return None
                number = next(fake._ids)
                if payload.get("messaging_product") == "whatsapp":
                    return self._send(200, {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": payload.get("to"), "wa_id": payload.get("to")}],
                        "messages": [{"id": f"wamid.FAKE{number:06d}"}],
                    })
                return self._send(200, {"recipient_id": payload.get("recipient", {}).get("id"),
                                        "message_id": f"m_FAKE{number:06d}"})

            def do_GET(self):
                url = urlsplit(self.path)
                parts = url.path.strip("/").split("/")
                if parts[0] == "cdn" and len(parts) == 2 and parts[1] in fake.cdn:
                    content, content_type = fake.cdn[parts[1]]
                    return self._send(200, content, content_type)
                if parts[0] == "download" and len(parts) == 2 and parts[1] in fake.media:
                    if not self._authorised():
                        return None
                    content, mime = fake.media[parts[1]]
                    return self._send(200, content, mime)
                if len(parts) != 2 or parts[0] != VERSION:
                    return self._send(404, b"not found", "text/plain")
                object_id = parts[1]
                if not self._authorised():
                    return None
                if object_id in fake.media_failures:
                    return self._send(*fake.media_failures[object_id])
                if object_id in fake.media:
                    content, mime = fake.media[object_id]
                    return self._send(200, {
                        "messaging_product": "whatsapp", "url": f"{fake.root}/download/{object_id}",
                        "mime_type": mime, "sha256": hashlib.sha256(content).hexdigest(),
                        "file_size": len(content), "id": object_id,
                    })
                if object_id in fake.profiles:
                    fields = parse_qs(url.query).get("fields", [""])[0].split(",")
                    profile = fake.profiles[object_id]
                    return self._send(200, {key: value for key, value in profile.items()
                                            if key in fields or key == "id"})
                return self._send(400, _graph_error(
                    100, f"Unsupported get request. Object with ID '{object_id}' does not exist"))

        return Handler


def _graph_error(code: int, message: str, details: str = "") -> dict:
    error = {"message": message, "type": "OAuthException", "code": code,
             "fbtrace_id": "AbCdEfFakeTrace"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}
