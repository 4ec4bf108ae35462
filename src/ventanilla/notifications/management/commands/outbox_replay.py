"""Re-queue outbox messages that lost their job (``outbox_replay``), once or in a loop.

``python -m ventanilla outbox_replay --every 60`` is started by ``serve`` next to the
worker; it stops cleanly (between two rounds) on SIGTERM or SIGINT.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.management.periodic import run_every
from ventanilla.notifications.services import outbox_replay


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

        run_every(every, outbox_replay, name="outbox replay")
