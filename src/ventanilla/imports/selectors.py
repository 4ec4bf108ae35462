"""Reads of the import runs."""

from ventanilla.catalog.models import Institution
from ventanilla.imports.models import ImportRun


def import_runs_of_file(*, institution: Institution, sha256: str) -> list[ImportRun]:
    """Earlier runs of the same file (same SHA-256), newest first: a re-run imports nothing
    twice anyway; the command says so before starting."""
    return list(ImportRun.objects.filter(institution=institution, file_sha256=sha256)
                .order_by("-started_at", "-pk"))
