"""Read new mail from the institution's IMAP mailbox (``fetch_mail``), once or in a loop.

``python -m ventanilla fetch_mail`` reads once and exits non-zero when the mailbox cannot
be reached; ``--every 60`` repeats until SIGTERM/SIGINT and only logs such failures (the
messages wait in the mailbox for the next round).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from ventanilla.channels.email_imap import MailboxError, fetch_mail_once
from ventanilla.core.management.periodic import run_every

logger = logging.getLogger(__name__)


def _summary(counts: dict) -> str:
    return ("fetch-mail: {fetched} read, {processed} to tickets, {duplicates} already "
            "known, {ignored} ignored, {quarantined} quarantined").format(**counts)


def _round() -> str:
    try:
        counts = fetch_mail_once()
    except MailboxError as exc:
        logger.warning("fetch-mail: %s", exc)
        return ""
    return _summary(counts) if counts["fetched"] else ""


class Command(BaseCommand):
    help = "Turn the unseen messages of the IMAP mailbox (IMAP_* settings) into tickets."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="Read the mailbox once and exit (the default).")
        parser.add_argument(
            "--every", type=float, default=0, metavar="SECONDS",
            help="Repeat every SECONDS until SIGTERM/SIGINT.",
        )

    def handle(self, *args, once: bool = False, every: float = 0, **options):
        if every < 0:
            raise CommandError("--every must be zero or positive.")
        if once and every:
            raise CommandError("Use either --once or --every.")
        if not settings.IMAP_HOST:
            raise CommandError("IMAP_HOST is not set: there is no mailbox to read.")
        if not every:
            try:
                counts = fetch_mail_once()
            except MailboxError as exc:
                raise CommandError(f"fetch-mail: {exc}") from None
            except DatabaseError as exc:  # already logged; the messages stay unseen
                raise CommandError(f"fetch-mail: database error, nothing lost: {exc}") from None
            self.stdout.write(_summary(counts))
            return
        run_every(every, _round, name="fetch-mail")
