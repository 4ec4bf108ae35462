"""Raise the SLA alerts that are due (``sla_sweep``), once or in a loop.

``python -m ventanilla sla_sweep --every 60`` runs until SIGTERM or SIGINT (it stops between
two rounds). Each alert is raised once however often, or however many copies, run.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from ventanilla.sla.services import sla_sweep

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Alert the area and the supervisors about at-risk and breached tickets."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=float, default=0, metavar="SECONDS",
            help="Repeat every SECONDS until SIGTERM/SIGINT (default: run once).",
        )

    def handle(self, *args, every: float = 0, **options):
        if every < 0:
            raise CommandError("--every must be zero or positive.")
        if not every:
            counts = sla_sweep()
            self.stdout.write(
                "sla sweep: {at_risk} at risk, {breached} breached, {emails} e-mail(s)".format(
                    **counts))
            return

        stop = threading.Event()

        def request_stop(signum, frame):
            logger.info("sla sweep: %s received, stopping", signal.Signals(signum).name)
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        logger.info("sla sweep: running every %s s", every)
        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    sla_sweep()
                except Exception:  # a database hiccup must not kill the loop
                    logger.exception("sla sweep round failed")
                stop.wait(every)
        finally:
            close_old_connections()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("sla sweep: stopped")
