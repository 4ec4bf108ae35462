"""Run one job every N seconds until SIGTERM or SIGINT (it stops between two rounds).

Shared by the ``--every`` mode of ``outbox_replay`` and ``sla_sweep``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from django.db import close_old_connections

logger = logging.getLogger(__name__)


def run_every(seconds: float, job: Callable[[], object], *, name: str) -> None:
    stop = threading.Event()

    def request_stop(signum, frame):
        logger.info("%s: %s received, stopping", name, signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    logger.info("%s: running every %s s", name, seconds)
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                result = job()
            except Exception:  # a database hiccup must not kill the loop
                logger.exception("%s round failed", name)
            else:
                if result:
                    logger.info("%s: %s", name, result)
            stop.wait(seconds)
    finally:
        close_old_connections()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logger.info("%s: stopped", name)
