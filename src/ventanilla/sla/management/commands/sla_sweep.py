"""Raise the SLA alerts that are due (``sla_sweep``), once or in a loop.

``python -m ventanilla sla_sweep --every 60`` runs until SIGTERM or SIGINT (it stops between
two rounds). Each alert is raised once however often, or however many copies, run.
``--full`` reads every open ticket instead of what changed since the last complete sweep
(after loading tickets with SQL, for instance).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ventanilla.core.management.periodic import run_every
from ventanilla.sla.services import sla_sweep


class Command(BaseCommand):
    help = "Alert the area and the supervisors about at-risk and breached tickets."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=float, default=0, metavar="SECONDS",
            help="Repeat every SECONDS until SIGTERM/SIGINT (default: run once).",
        )
        parser.add_argument("--full", action="store_true",
                            help="Look at every open ticket, not only what changed since.")

    def handle(self, *args, every: float = 0, full: bool = False, **options):
        if every < 0:
            raise CommandError("--every must be zero or positive.")
        if not every:
            counts = sla_sweep(full=full)
            self.stdout.write(
                "sla sweep: {at_risk} at risk, {breached} breached, {emails} e-mail(s)".format(
                    **counts))
            return

        run_every(every, sla_sweep, name="sla sweep")
