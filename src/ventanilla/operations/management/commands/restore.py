"""``ventanilla restore PATH [--force]``: an archive of ``ventanilla backup`` into an empty
installation (see ventanilla/operations/restore.py). Stop the web and the worker first."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from ventanilla.operations.archive import BackupError
from ventanilla.operations.restore import restore_apply, restore_check

SUMMARY = [
    ("tickets_ticket", "requerimientos"),
    ("tickets_ticketevent", "eventos de la historia"),
    ("tickets_attachment", "adjuntos"),
    ("citizens_citizen", "personas"),
    ("surveys_surveyresponse", "respuestas de encuesta"),
]


class Command(BaseCommand):
    help = ("Restore a backup into an empty installation: checks every checksum first, "
            "refuses a target that has tickets unless --force, then runs migrate.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="Archive written by `ventanilla backup`.")
        parser.add_argument("--force", action="store_true",
                            help="Replace a database that already has tickets.")

    def handle(self, *args, path: Path, force: bool, **options):
        try:
            manifest = restore_check(path=path, force=force)
            self.stdout.write(_("Respaldo verificado: %(path)s (creado el %(created)s, "
                                "versión %(version)s).") % {
                "path": path, "created": manifest["created_at"],
                "version": manifest.get("version", "?")})
            result = restore_apply(path=path, manifest=manifest,
                                   progress=lambda line: self.stdout.write(line))
        except BackupError as exc:
            raise CommandError(_("Restauración fallida: %(error)s") % {"error": exc}) from exc
        self.stdout.write(_("Restauración completa:"))
        for table, label in SUMMARY:
            if table in result.counts:
                self.stdout.write(f"  {result.counts[table]} {label}")
        self.stdout.write(_("  %(files)s archivos") % {"files": result.media_files})
