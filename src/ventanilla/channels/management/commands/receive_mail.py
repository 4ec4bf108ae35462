"""Receive mail directly over SMTP or LMTP (``receive_mail``) until SIGTERM/SIGINT.

Point the institution's MX, or its mail server's LMTP transport (Postfix
``mailbox_transport = lmtp:inet:host:port``), at it. Only addresses of active e-mail
endpoints are accepted.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from ventanilla.channels.email_receive import mail_receiver

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the SMTP (or LMTP) receiver that turns inbound mail into tickets."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1",
                            help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=None,
                            help="Port (default 2525 for SMTP, 2424 for LMTP).")
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP instead of SMTP.")

    def handle(self, *args, host: str, port: int | None, lmtp: bool, **options):
        port = port if port is not None else (2424 if lmtp else 2525)
        if not 0 < port < 65536:
            raise CommandError("--port must be between 1 and 65535.")
        receiver = mail_receiver(host=host, port=port, lmtp=lmtp)
        try:
            receiver.start()
        except Exception as exc:  # port taken, address not available…
            raise CommandError(f"receive-mail: cannot listen on {host}:{port}: {exc}") from None
        stop = threading.Event()

        def request_stop(signum, frame):
            logger.info("receive-mail: %s received, stopping", signal.Signals(signum).name)
            stop.set()

        previous = {sig: signal.signal(sig, request_stop)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        protocol = "LMTP" if lmtp else "SMTP"
        self.stdout.write(f"receive-mail: {protocol} listening on {host}:{port}")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            receiver.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("receive-mail: stopped")
