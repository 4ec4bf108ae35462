"""The periodic report as XLSX: a cover sheet (title, institution, period, filters), one
sheet per figure, and the filters sheet — the same tables as the PDF and the dashboard."""

from __future__ import annotations

from ventanilla.reports.exports import tables_xlsx
from ventanilla.reports.tables import Table


def report_xlsx(*, title: str, lines: list[tuple[str, str]], tables: list[Table]) -> bytes:
    return tables_xlsx(tables, filter_lines=lines, cover=(title, lines))
