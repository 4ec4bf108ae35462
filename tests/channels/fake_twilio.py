"""A local fake of Twilio's REST API in a thread, speaking its real formats.

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP basic auth
  (AccountSid / AuthToken) and a form body (To, From, Body, StatusCallback): 201 with the
  documented Message resource JSON (``sid`` "SM…", ``status`` "queued"), or the next
  queued failure as Twilio's error JSON (``{"code", "message", "more_info", "status"}``).
- ``GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}``: MMS
  media with basic auth (401 without it, 404 when unknown).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "f" * 32

ERRORS = {
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
}


@dataclass
class SentMessage:
    sid: str
    auth: tuple[str, str] | None
    form: dict[str, str]


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list[SentMessage] = field(default_factory=list)
    # Twilio error codes to answer with, in order, before accepting again.
    failures: list[int] = field(default_factory=list)
    # path → (content type, bytes)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    media_requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_media(self, content_type: str, content: bytes) -> str:
        """Publish media for an incoming MMS; returns its MediaUrl."""
        number = next(self._ids)
        path = (f"/2010-04-01/Accounts/{self.account_sid}/Messages/MM{number:032x}"
                f"/Media/ME{number:032x}")
        self.media[path] = (content_type, content)
        return self.base_url + path

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _auth(self) -> tuple[str, str] | None:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return None
                user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
                return user, password

            def _authorised(self) -> bool:
                return self._auth() == (fake.account_sid, fake.auth_token)

            def _json(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, code: int, status: int, message: str) -> None:
                self._json(status, {"code": code, "message": message, "status": status,
                                    "more_info": f"https://www.twilio.com/docs/errors/{code}"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {key: values[0] for key, values in
                        parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                        .items()}
                expected = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if self.path != expected:
                    return self._error(20404, 404, "The requested resource was not found")
                if not self._authorised():
                    return self._error(20003, 401, "Authenticate")
                with fake.lock:
                    failure = fake.failures.pop(0) if fake.failures else None
                if failure is not None:
                    status, message = ERRORS[failure]
                    return self._error(failure, status, message.format(to=form.get("To")))
                sid = f"SM{next(fake._ids):032x}"
                with fake.lock:
                    fake.messages.append(SentMessage(sid=sid, auth=self._auth(), form=form))
                self._json(201, {
                    "account_sid": fake.account_sid, "api_version": "2010-04-01",
                    "body": form.get("Body", ""), "date_created": None, "date_sent": None,
                    "date_updated": None, "direction": "outbound-api", "error_code": None,
                    "error_message": None, "from": form.get("From"),
                    "messaging_service_sid": None, "num_media": "0", "num_segments": "1",
                    "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
                    "subresource_uris": {"media": f"/2010-04-01/Accounts/{fake.account_sid}"
                                                  f"/Messages/{sid}/Media.json"},
                    "to": form.get("To"),
                    "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
                })

            def do_GET(self):
                with fake.lock:
                    fake.media_requests.append(self.path)
                if not self._authorised():
                    return self._error(20003, 401, "Authenticate")
                if self.path not in fake.media:
                    return self._error(20404, 404, "The requested resource was not found")
                content_type, content = fake.media[self.path]
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def running_fake_twilio(settings):
    """A started ``FakeTwilio`` with the Twilio settings pointing at it."""
    server = FakeTwilio()
    server.start()
    settings.TWILIO_ACCOUNT_SID = server.account_sid
    settings.TWILIO_AUTH_TOKEN = server.auth_token
    settings.TWILIO_API_BASE_URL = server.base_url
    settings.PROVIDER_HTTP_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()
