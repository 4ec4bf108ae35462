"""Anonymise the closed tickets the retention rules say are due (also run daily by the
worker). ``--dry-run`` only counts, per rule."""

from django.core.management.base import BaseCommand

from ventanilla.citizens.models import RetentionRule
from ventanilla.citizens.privacy import retention_apply


class Command(BaseCommand):
    help = "Anonymise closed tickets past their retention rule (statistics are kept)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="Count what would be anonymised; change nothing.")
        parser.add_argument("--chunk-size", type=int, default=None,
                            help="Tickets per transaction (default RETENTION_CHUNK_SIZE).")

    def handle(self, *args, dry_run=False, chunk_size=None, **options):
        run = retention_apply(dry_run=dry_run, chunk_size=chunk_size)
        rules = RetentionRule.objects.in_bulk([int(pk) for pk in run.per_rule])
        for pk, count in sorted(run.per_rule.items(), key=lambda item: int(item[0])):
            verb = "due" if dry_run else "anonymised"
            self.stdout.write(f"rule {pk} ({rules.get(int(pk))}): {count} ticket(s) {verb}")
        if not dry_run:
            self.stdout.write(f"run {run.pk}: {run.tickets} ticket(s) anonymised, "
                              f"{run.attachments} file(s) deleted")
