"""Reads of periodic reports (``ReportRun``), always inside one institution."""

from __future__ import annotations

from ventanilla.reports.models import ReportRun

REPORT_LIST_LIMIT = 50


def report_run_list(*, institution_id: int, limit: int = REPORT_LIST_LIMIT) -> list[ReportRun]:
    return list(ReportRun.objects.filter(institution_id=institution_id)
                .select_related("requested_by")[:limit])


def report_run_get(*, institution_id: int, run_id: int) -> ReportRun | None:
    """The run if it belongs to the institution (another institution's looks unknown)."""
    return ReportRun.objects.filter(institution_id=institution_id, pk=run_id).first()
