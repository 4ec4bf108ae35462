"""CSV and XLSX of ``Table``s: exactly the figure the page shows, with its filters.

CSV: UTF-8 with a byte-order mark (so Excel opens accents correctly), comma-separated
(RFC 4180; the delimiter every tool expects), a header row with the column labels, then
one line per row. Numbers are plain numbers with a dot as decimal separator (integers as
integers; percentages 0 to 100 with one decimal, no "%" sign), dates ISO 8601, empty when
missing. A text cell that a spreadsheet would run as a formula (starting with = + - @,
a tab or a carriage return) gets a leading apostrophe ("CSV injection").

XLSX (openpyxl): one sheet per table with a bold, frozen header row, number formats and
column widths, and a "Filtros" sheet saying what the figures cover. Text cells are always
stored as text, never as formulas.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ventanilla.reports.tables import Column, Table

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_FORMATS = {"int": "#,##0", "percent": "0.0", "decimal": "#,##0.00", "date": "yyyy-mm-dd"}
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_COLUMN_WIDTH = 60


def neutralise_formula(text: str) -> str:
    """A text cell as text: a spreadsheet must not run it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _plain_value(value, column: Column):
    """The raw value as an export cell: a number, a date, or text."""
    if value is None:
        return None
    if column.kind == "bool":
        return _("sí") if value else _("no")
    if column.kind == "percent" and _is_number(value):
        return round(float(value), 1)
    if column.kind == "int" and _is_number(value):
        return int(value)
    if column.kind == "decimal" and _is_number(value):
        return float(value)
    if column.kind == "date" and isinstance(value, date | datetime):
        return value
    if _is_number(value):
        return value
    return str(value)


def _csv_cell(value, column: Column) -> str:
    plain = _plain_value(value, column)
    if plain is None:
        return ""
    if isinstance(plain, float):
        return f"{plain:.1f}" if column.kind == "percent" else repr(plain)
    if isinstance(plain, int | Decimal):
        return str(plain)
    if isinstance(plain, datetime):
        return timezone.localtime(plain).isoformat() if timezone.is_aware(plain) \
            else plain.isoformat()
    if isinstance(plain, date):
        return plain.isoformat()
    return neutralise_formula(plain)


def table_csv(table: Table) -> bytes:
    """The table as CSV bytes (UTF-8 with BOM, comma-separated, header row first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_formula(str(column.label)) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(row.get(column.key), column) for column in table.columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def sheet_name(title: str, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique in the book."""
    base = SHEET_NAME_FORBIDDEN.sub(" ", title).strip().strip("'") or _("Hoja")
    base = base[:31]
    name, counter = base, 2
    while name.lower() in {t.lower() for t in taken}:
        suffix = f" ({counter})"
        name = base[: 31 - len(suffix)] + suffix
        counter += 1
    taken.add(name)
    return name


def _set_text(cell, text: str) -> None:
    cell.value = text
    cell.data_type = "s"  # never a formula, whatever it starts with


def write_table_sheet(sheet, table: Table) -> None:
    """The table on a sheet: bold frozen header, typed cells, number formats, widths."""
    bold = Font(bold=True)
    widths = []
    for index, column in enumerate(table.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        _set_text(cell, str(column.label))
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        widths.append(len(str(column.label)))
    for row_index, row in enumerate(table.rows, start=2):
        for col_index, column in enumerate(table.columns, start=1):
            cell = sheet.cell(row=row_index, column=col_index)
            plain = _plain_value(row.get(column.key), column)
            if isinstance(plain, datetime) and timezone.is_aware(plain):
                plain = timezone.localtime(plain).replace(tzinfo=None)
            if isinstance(plain, str):
                _set_text(cell, plain)
            else:
                cell.value = plain
            if column.kind in NUMBER_FORMATS and plain is not None and not isinstance(plain,
                                                                                       str):
                cell.number_format = NUMBER_FORMATS[column.kind]
            shown = len(str(plain)) if plain is not None else 0
            widths[col_index - 1] = max(widths[col_index - 1], shown)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width + 3,
                                                                      MAX_COLUMN_WIDTH)
    sheet.freeze_panes = "A2"
    if table.note:
        note_row = len(table.rows) + 3
        _set_text(sheet.cell(row=note_row, column=1), str(table.note))
        sheet.cell(row=note_row, column=1).font = Font(italic=True)


def write_lines_sheet(sheet, heading: str, lines: list[tuple[str, str]]) -> None:
    """A sheet of label/value lines (the filters, the report's cover)."""
    _set_text(sheet.cell(row=1, column=1), heading)
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    for index, (label, value) in enumerate(lines, start=3):
        _set_text(sheet.cell(row=index, column=1), str(label))
        sheet.cell(row=index, column=1).font = Font(bold=True)
        _set_text(sheet.cell(row=index, column=2), str(value))
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 60


def tables_xlsx(tables: list[Table], *, filter_lines: list[tuple[str, str]],
                cover: tuple[str, list[tuple[str, str]]] | None = None) -> bytes:
    """A workbook: an optional cover sheet, one sheet per table, and the "Filtros" sheet."""
    workbook = Workbook()
    taken: set[str] = set()
    first = workbook.active
    if cover is not None:
        first.title = sheet_name(_("Reporte"), taken)
        write_lines_sheet(first, cover[0], cover[1])
        first = None
    for table in tables:
        sheet = first if first is not None else workbook.create_sheet()
        first = None
        sheet.title = sheet_name(str(table.title), taken)
        write_table_sheet(sheet, table)
    filters_sheet = first if first is not None else workbook.create_sheet()
    filters_sheet.title = sheet_name(_("Filtros"), taken)
    write_lines_sheet(filters_sheet, _("Filtros aplicados"), filter_lines)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_filename(key: str, date_from: date, date_to: date, extension: str) -> str:
    """A safe ASCII file name: the figure's key and the period."""
    stem = slugify(key) or "tabla"
    return f"{stem}_{date_from:%Y-%m-%d}_{date_to:%Y-%m-%d}.{extension}"
