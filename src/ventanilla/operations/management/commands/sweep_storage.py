"""``ventanilla sweep_storage [--dry-run]``: delete stored files no row points to (also run
daily by the worker, STORAGE_SWEEP_EVERY)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from ventanilla.operations.services import storage_orphans_sweep


class Command(BaseCommand):
    help = "Delete stored files that no record points to and are older than a day."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true",
                            help="List what would be deleted; delete nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        removed = storage_orphans_sweep(dry_run=dry_run)
        for name in removed:
            self.stdout.write(name)
        self.stdout.write((_("%(count)s archivo(s) huérfano(s) encontrado(s) (simulación)")
                           if dry_run else _("%(count)s archivo(s) huérfano(s) eliminado(s)"))
                          % {"count": len(removed)})
