"""Re-queue outbox messages that lost their job (``outbox_replay``), once or in a loop.

``python -m ventanilla outbox_replay --every 60`` is started by ``serve`` next to the
worker; it stops cleanly (between two rounds) on SIGTERM or SIGINT.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from ventanilla.notifications.services import outbox_replay

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Re-queue outbox messages that are due but have no live job."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=float, default=0, metavar="SECONDS",
            help="Repeat every SECONDS until SIGTERM/SIGINT (default: run once).",
        )

    def handle(self, *args, every: float = 0, **options):
        if every < 0:
            raise CommandError("--every must be zero or positive.")
        if not every:
            count = outbox_replay()
            self.stdout.write(f"outbox replay: {count} message(s) re-queued")
            return

        stop = threading.Event()

        def request_stop(signum, frame):
            logger.info("outbox replay: %s received, stopping", signal.Signals(signum).name)
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        logger.info("outbox replay: running every %s s", every)
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    count = outbox_replay()
                except Exception:  # a database hiccup must not kill the loop
                    logger.exception("outbox replay round failed")
                else:
                    if count:
                        logger.info("outbox replay: %s message(s) re-queued", count)
                stop.wait(every)
        finally:
            close_old_connections()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("outbox replay: stopped")
