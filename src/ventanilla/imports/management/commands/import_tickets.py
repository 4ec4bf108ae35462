"""``ventanilla import_tickets <file.csv> --institution <slug> [--dry-run] [--errors out.csv]``:
load an institution's historical tickets (thin over ``imports.services.tickets_import``)."""

from __future__ import annotations

import argparse
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from ventanilla.accounts.models import User
from ventanilla.catalog.models import Institution
from ventanilla.imports.selectors import import_runs_of_file
from ventanilla.imports.services import (
    DEFAULT_BATCH_SIZE,
    ImportResult,
    ImportStopped,
    tickets_import,
)
from ventanilla.imports.validation import ImportFileError, file_check

FORMAT_HELP = """
CSV format (full description: src/ventanilla/imports/FORMAT.md)

  UTF-8 (a BOM is fine), delimiter "," or ";" (detected from the header), first line is
  the header. Column names ignore case, accents and spaces; English names are accepted too.

  required   referencia      the folio/id in the previous system (unique per institution;
                             kept as reference, the ticket gets a new folio of ours)
             fecha_ingreso   when it was received: 2023-04-01 10:22 (ISO 8601, with or
                             without offset) or 01-04-2023 10:22; without offset = Chile time
             canal           channel code (web, email, phone, in_person, paper, whatsapp,
                             sms, social, chatbot, ivr, api, kiosk, video) or its name
             motivo          ticket type code (reclamo, consulta, …) or its name
             tema            topic name, or "Programa > Producto" when a name repeats
             nombre          the person's name
             asunto, detalle subject (≤ 200 characters) and text
  optional   rut             any format (12.345.678-5, 12345678-5, 123456785)
             correo, telefono
             region, comuna  CUT codes (13, 13101; leading zeros may be missing) or names
             estado          recibido | en proceso | esperando | cerrado (default: cerrado
                             when fecha_cierre is given, else recibido)
             fecha_cierre    required when cerrado
             area            answering area name (default: the topic's area)
             urgencia        baja | media | alta (default media)
             plazo           final deadline the previous system gave (counts in compliance)
             tipo_usuario    requester type name
             establecimiento organization code (RBD) or name

  A bad row is rejected (line, column and reason in --errors and in the summary); good rows
  are imported in batches, each batch whole or not at all. Running the same file again
  imports nothing twice (rows whose referencia is already imported are skipped).
  No notification is sent to anyone; the dashboards are rebuilt for the imported days.
"""


class Command(BaseCommand):
    help = "Import historical tickets from a CSV file into an institution."

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = FORMAT_HELP
        return parser

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file.")
        parser.add_argument("--institution", required=True, metavar="SLUG")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every row and report; store nothing.")
        parser.add_argument("--errors", metavar="OUT.csv",
                            help="Write the rejected rows (line, column, value, reason) here.")
        parser.add_argument("--user", metavar="EMAIL",
                            help="Staff member the import is recorded for (default: the "
                                 "system account running the command).")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help="Rows per transaction (default %(default)s).")

    def handle(self, *args, file, institution, dry_run=False, errors=None, user=None,
               batch_size=DEFAULT_BATCH_SIZE, **options):
        chosen = Institution.objects.filter(slug=institution).first()
        if chosen is None:
            raise CommandError(_("No existe la institución «%(slug)s».") % {"slug": institution})
        staff = None
        if user:
            staff = User.objects.filter(email__iexact=user).first()
            if staff is None:
                raise CommandError(_("No existe el usuario «%(email)s».") % {"email": user})
        if batch_size < 1:
            raise CommandError(_("--batch-size debe ser mayor que cero."))
        try:
            check = file_check(file)
        except FileNotFoundError:
            raise CommandError(_("No existe el archivo «%(file)s».") % {"file": file}) from None
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        for run in import_runs_of_file(institution=chosen, sha256=check.sha256)[:1]:
            self.stderr.write(_("Este mismo archivo ya se importó el %(date)s (%(imported)s "
                                "importadas): lo ya importado se omitirá.") % {
                "date": f"{run.started_at:%d-%m-%Y %H:%M}", "imported": run.imported})

        verbosity = options.get("verbosity", 1)

        def progress(result: ImportResult) -> None:
            if (verbosity >= 1 and sys.stderr.isatty()) or verbosity >= 2:
                self.stderr.write(f"  {result.rows_read} filas leídas, {result.imported} "
                                  f"importadas, {result.rejected} rechazadas, "
                                  f"{result.skipped} omitidas")

        try:
            result = tickets_import(
                institution=chosen, path=file, dry_run=dry_run, errors_path=errors,
                user=staff, batch_size=batch_size, progress=progress)
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        except ImportStopped as exc:
            self._summary(exc.result, errors)
            raise CommandError(str(exc)) from None
        self._summary(result, errors)

    def _summary(self, result: ImportResult, errors_path: str | None) -> None:
        write = self.stdout.write
        title = _("Simulación (no se guardó nada)") if result.dry_run else _("Importación")
        verb = _("se importarían") if result.dry_run else _("importadas")
        write(f"{title}: {result.rows_read} filas leídas, {result.imported} {verb}, "
              f"{result.rejected} rechazadas, {result.skipped} omitidas (ya importadas), "
              f"{result.seconds:.1f} s ({result.rows_per_second:.0f} filas/s).")
        if result.citizens_created:
            write(_("Personas nuevas: %(count)s.") % {"count": result.citizens_created})
        if result.errors_by_column:
            by_column = ", ".join(f"{column or _('fila')}: {count}"
                                  for column, count in result.errors_by_column.most_common())
            write(_("Problemas por columna: %(list)s.") % {"list": by_column})
            for error in result.errors_sample:
                write(f"  línea {error.line}, columna «{error.column}»: {error.message}")
            if errors_path:
                write(_("Detalle de cada fila rechazada en %(path)s.") % {"path": errors_path})
            else:
                write(_("Use --errors rechazadas.csv para obtener el detalle de todas."))
        if result.run is not None:
            write(_("Registro de la importación: #%(id)s (%(status)s).") % {
                "id": result.run.pk, "status": result.run.get_status_display()})
