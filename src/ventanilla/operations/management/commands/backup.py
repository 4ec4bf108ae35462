"""``ventanilla backup [--output PATH] [--keep N]``: database + stored files in one archive
(see ventanilla/operations/backup.py)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from ventanilla.operations.archive import BackupError
from ventanilla.operations.backup import backup_create


class Command(BaseCommand):
    help = ("Write one archive (.tar.gz) with the database, every stored file and a manifest "
            "(migrations, row counts, SHA-256 of each member). Safe while the platform runs.")

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, default=None, metavar="PATH",
                            help="Archive to write (default: $BACKUP_DIR/ventanilla-<UTC "
                                 "time>.tar.gz). Written under a temporary name and renamed "
                                 "when complete.")
        parser.add_argument("--keep", type=int, default=None, metavar="N",
                            help="Afterwards delete the oldest ventanilla-*.tar.gz of the same "
                                 "folder beyond the newest N.")

    def handle(self, *args, output: Path | None, keep: int | None, **options):
        if keep is not None and keep < 1:
            raise CommandError(_("--keep debe ser 1 o más."))
        try:
            result = backup_create(output=output, keep=keep)
        except BackupError as exc:
            raise CommandError(_("Respaldo fallido: %(error)s") % {"error": exc}) from exc
        manifest = result.manifest
        counts = manifest["row_counts"]
        self.stdout.write(_(
            "Respaldo escrito: %(path)s (%(size)s)\n"
            "  base de datos: %(engine)s, %(tables)s tablas, %(tickets)s requerimientos\n"
            "  archivos: %(files)s (%(bytes)s)") % {
            "path": result.path, "size": filesizeformat(result.path.stat().st_size),
            "engine": manifest["engine"], "tables": len(counts),
            "tickets": counts.get("tickets_ticket", 0), "files": manifest["media_files"],
            "bytes": filesizeformat(manifest["media_bytes"])})
        for path in result.removed:
            self.stdout.write(_("  respaldo antiguo eliminado: %(path)s") % {"path": path})
