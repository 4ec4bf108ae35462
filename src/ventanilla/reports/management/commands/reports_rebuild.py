"""Rebuild the dashboard rollups: every day of a range (``reports_rebuild --from 2025-01-01
--to 2025-12-31 --institution junaeb``), or one incremental pass (``--refresh``), or the
incremental pass in a loop (``--refresh --every 60``, what the worker does). The month rows
of every month a rebuilt day falls in are summed again from its days in the same transaction.

A full rebuild is needed after loading tickets with ``received_at`` in the past by a path
that bypasses ``updated_at`` (a data import), or after a catalog change that the rollups
copy (a channel becoming assisted or self-service is read live; nothing else is copied).
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ventanilla.catalog.models import Institution
from ventanilla.core.management.periodic import run_every
from ventanilla.reports.services import rollup_rebuild, rollup_refresh


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {value!r}") from exc


class Command(BaseCommand):
    help = "Rebuild the dashboard rollups for a date range and institution, or refresh them."

    def add_arguments(self, parser):
        parser.add_argument("--institution", metavar="SLUG",
                            help="Only this institution (default: every one).")
        parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                            help="First day (Chile) to rebuild (default: the first ticket's).")
        parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                            help="Last day (Chile) to rebuild, inclusive (default: the last).")
        parser.add_argument("--refresh", action="store_true",
                            help="One incremental pass instead: the days changed since the "
                                 "last pass.")
        parser.add_argument("--every", type=float, default=0, metavar="SECONDS",
                            help="With --refresh: repeat every SECONDS until SIGTERM/SIGINT.")

    def handle(self, *args, institution=None, date_from=None, date_to=None, refresh=False,
               every=0.0, **options):
        if every < 0:
            raise CommandError("--every must be zero or positive.")
        if refresh:
            if institution or date_from or date_to:
                raise CommandError("--refresh takes no --institution, --from or --to.")
            if every:
                run_every(every, rollup_refresh, name="rollup refresh")
                return
            self.stdout.write(f"rollup refresh: {rollup_refresh()}")
            return
        if every:
            raise CommandError("--every goes with --refresh.")
        first = _date(date_from) if date_from else None
        last = _date(date_to) if date_to else None
        if first and last and first > last:
            raise CommandError("--from is after --to.")
        chosen = None
        if institution:
            chosen = Institution.objects.filter(slug=institution).first()
            if chosen is None:
                raise CommandError(f"no institution with slug {institution!r}")
        result = rollup_rebuild(institution=chosen, date_from=first, date_to=last)
        self.stdout.write(f"rollup rebuild: {result}")
