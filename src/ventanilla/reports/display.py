"""How a ``Table``'s values read on a page and in the PDF (es-CL number formats).

Exports (CSV, XLSX) keep the raw values; only people-facing renderings go through here.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from ventanilla.reports.tables import Column, Table

EMPTY = "—"


def format_value(value, kind: str) -> str:
    """A cell as people read it: grouped integers, one-decimal percentages, local dates."""
    if value is None or value == "":
        return EMPTY
    if kind == "bool":
        return _("Sí") if value else _("No")
    if kind == "int" and isinstance(value, int | float | Decimal):
        return formats.number_format(int(value), 0, use_l10n=True, force_grouping=True)
    if kind == "percent" and isinstance(value, int | float | Decimal):
        return formats.number_format(round(float(value), 1), 1, use_l10n=True,
                                     force_grouping=True) + " %"
    if kind == "decimal" and isinstance(value, int | float | Decimal):
        return formats.number_format(value, 2, use_l10n=True, force_grouping=True)
    if kind == "date" and isinstance(value, date | datetime):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def numeric(value) -> float:
    """A value as a number for drawing (missing values draw as zero; the table says "—")."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    return 0.0


def column_by_key(table: Table) -> dict[str, Column]:
    return {column.key: column for column in table.columns}


def row_label(table: Table, row: dict) -> str:
    """The text naming a row on a chart: its ``chart_label`` column, else its first column."""
    key = table.chart_label or (table.columns[0].key if table.columns else "")
    column = column_by_key(table).get(key)
    return format_value(row.get(key), column.kind if column else "text")


def filter_lines(filters, *, generated_at=None) -> list[tuple[str, str]]:
    """What a figure covers, as label/value lines (export "Filtros" sheet, report cover)."""
    from django.utils import timezone

    lines = [
        (_("Institución"), filters.institution.name),
        (_("Desde"), formats.date_format(filters.date_from, "SHORT_DATE_FORMAT")),
        (_("Hasta (inclusive)"), formats.date_format(filters.date_to, "SHORT_DATE_FORMAT")),
        (_("Región"), filters.region.name if filters.region else _("Todas")),
        (_("Área"), filters.area.name if filters.area else _("Todas")),
        (_("Canal"), filters.channel.name if filters.channel else _("Todos")),
    ]
    generated_at = generated_at or timezone.now()
    lines.append((_("Generado"), formats.date_format(timezone.localtime(generated_at),
                                                      "SHORT_DATETIME_FORMAT")))
    return lines
