"""Bulk import of historical tickets (issue 7): one ``ImportRun`` per execution of the
``import_tickets`` command, so an institution can see what was loaded, from which file, by
whom, and what was left out."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    RUNNING = "running", _("En curso")
    DONE = "done", _("Terminada")
    # Every good row is in; some rows were rejected (see the errors file).
    DONE_WITH_ERRORS = "done_with_errors", _("Terminada con filas rechazadas")
    # Stopped by a file-level problem or a database error: the batches committed before it
    # stay (whole), running the same file again continues where it stopped.
    FAILED = "failed", _("Fallida")


class ImportRun(models.Model):
    institution = models.ForeignKey(
        "catalog.Institution", on_delete=models.PROTECT, related_name="+",
        verbose_name=_("institución"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("solicitada por"),
    )
    # The command runs on a server shell: the system account is recorded when no staff
    # member is named with --user.
    requested_by_label = models.CharField(_("cuenta que la ejecutó"), max_length=150,
                                          blank=True)
    file_name = models.CharField(_("archivo"), max_length=255)
    file_sha256 = models.CharField(_("SHA-256 del archivo"), max_length=64, db_index=True)
    file_size = models.BigIntegerField(_("tamaño (bytes)"), default=0)
    started_at = models.DateTimeField(_("iniciada el"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminada el"), null=True, blank=True)
    duration_seconds = models.FloatField(_("duración (s)"), null=True, blank=True)
    status = models.CharField(_("estado"), max_length=20, choices=ImportStatus.choices,
                              default=ImportStatus.RUNNING)
    rows_read = models.PositiveIntegerField(_("filas leídas"), default=0)
    imported = models.PositiveIntegerField(_("importadas"), default=0)
    rejected = models.PositiveIntegerField(_("rechazadas"), default=0)
    # Rows whose historical reference was already imported (a re-run of the same file).
    skipped = models.PositiveIntegerField(_("omitidas (ya importadas)"), default=0)
    citizens_created = models.PositiveIntegerField(_("personas creadas"), default=0)
    first_received_at = models.DateTimeField(_("primer ingreso importado"), null=True,
                                             blank=True)
    last_received_at = models.DateTimeField(_("último ingreso importado"), null=True,
                                            blank=True)
    error_message = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("importación de requerimientos")
        verbose_name_plural = _("importaciones de requerimientos")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
