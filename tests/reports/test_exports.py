"""SVG charts, CSV and XLSX drawn from small hand-built ``Table``s (no database)."""

import csv
import io
import re
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

import openpyxl
import pytest

from ventanilla.reports.charts import HIGHLIGHT_MARK, PALETTE, WIDTH, chart_svg
from ventanilla.reports.display import format_value
from ventanilla.reports.exports import (
    export_filename,
    sheet_name,
    table_csv,
    tables_xlsx,
)
from ventanilla.reports.tables import Column, Table

SVG = "{http://www.w3.org/2000/svg}"


def volume_table(**overrides) -> Table:
    fields = dict(
        key="volume_channel", title="Requerimientos por canal",
        columns=[Column("label", "Canal"), Column("received", "Recibidos", "int"),
                 Column("share", "Participación (%)", "percent")],
        rows=[{"label": "Web", "received": 1200, "share": Decimal("60.0")},
              {"label": "Teléfono", "received": 500, "share": Decimal("25.0")},
              {"label": "Oficina <central>", "received": 300, "share": Decimal("15.0")}],
        chart="bar", chart_label="label", chart_series=["received"],
        note="Recibidos en el período.",
    )
    fields.update(overrides)
    return Table(**fields)


def stacked_table() -> Table:
    return Table(
        key="self_service", title="Autoatención frente a asistida",
        columns=[Column("period", "Período"), Column("self_service", "Autoatención", "int"),
                 Column("assisted", "Asistido", "int")],
        rows=[{"period": "2025", "self_service": 40, "assisted": 60},
              {"period": "2026", "self_service": 70, "assisted": 30}],
        chart="stacked", chart_label="period", chart_series=["self_service", "assisted"],
    )


def line_table() -> Table:
    return Table(
        key="volume_period", title="Requerimientos por mes",
        columns=[Column("label", "Mes"), Column("received", "Recibidos", "int"),
                 Column("closed", "Cerrados", "int")],
        rows=[{"label": f"2026-0{m}", "received": 10 * m, "closed": 5 * m} for m in (1, 2, 3, 4)],
        chart="line", chart_label="label", chart_series=["received", "closed"],
    )


def shown(text_element) -> str:
    """The visible text of an SVG <text> (its <title> child is the tooltip)."""
    children = list(text_element)
    return (children[-1].tail if children else text_element.text) or ""


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 (our own output)


# --- charts ----------------------------------------------------------------------------------

def test_bar_chart_one_bar_per_row_with_labels_values_and_accessible_name():
    root = parse(chart_svg(volume_table()))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby"), root.get("aria-describedby")
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Requerimientos por canal"
    desc = root.find(f"{SVG}desc")
    assert desc.get("id") == desc_id
    assert f"Web (Recibidos: {format_value(1200, 'int')})" in desc.text
    assert "3 filas" in desc.text
    assert root.get("viewBox").startswith(f"0 0 {WIDTH} ")
    assert root.get("width") is None  # scales with its container (CSS), never fixed pixels
    bars = root.findall(f".//{SVG}rect[@class='bar']")
    assert len(bars) == 3
    widths = [float(bar.get("width")) for bar in bars]
    assert widths[0] > widths[1] > widths[2]  # proportional to 1200 > 500 > 300
    assert widths[0] / widths[1] == pytest.approx(1200 / 500, rel=0.01)
    labels = [shown(t) for t in root.iter(f"{SVG}text") if t.get("class") == "row-label"]
    assert labels == ["Web", "Teléfono", "Oficina <central>"]
    values = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == [format_value(1200, "int"), "500", "300"]


def test_label_text_is_escaped():
    svg = chart_svg(volume_table(rows=[{"label": "<script>alert(1)</script>", "received": 1,
                                        "share": None}]))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_highlighted_rows_get_a_marker_and_bold_not_only_colour():
    root = parse(chart_svg(volume_table(highlighted=[1])))
    labels = [t for t in root.iter(f"{SVG}text") if "row-label" in (t.get("class") or "")]
    assert not shown(labels[0]).startswith(HIGHLIGHT_MARK)
    assert shown(labels[1]) == f"{HIGHLIGHT_MARK} Teléfono"
    assert labels[1].get("font-weight") == "bold"


def test_stacked_chart_segments_legend_and_patterns():
    root = parse(chart_svg(stacked_table()))
    segments = root.findall(f".//{SVG}rect[@class='bar segment']")
    assert len(segments) == 4  # two rows, two series each
    fills = {segment.get("fill") for segment in segments}
    assert len(fills) == 2  # one fill per series…
    patterns = root.findall(f".//{SVG}pattern")
    assert len(patterns) == 2
    # …and the second series has a white overlay (stripes), not only another colour.
    assert len(list(patterns[1])) == 2 and len(list(patterns[0])) == 1
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["Autoatención", "Asistido"]
    totals = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert totals == ["100", "100"]
    # Segments of one row add up: 40 + 60 is as long as 70 + 30.
    first = sum(float(s.get("width")) for s in segments[:2])
    second = sum(float(s.get("width")) for s in segments[2:])
    assert first == pytest.approx(second, abs=0.2)


def test_line_chart_one_line_per_series_with_distinct_markers_and_dashes():
    root = parse(chart_svg(line_table()))
    assert "chart-line" in root.get("class")
    lines = root.findall(f".//{SVG}polyline")
    assert len(lines) == 2
    assert lines[0].get("stroke") == PALETTE[0] and lines[1].get("stroke") == PALETTE[1]
    assert lines[0].get("stroke-dasharray") is None and lines[1].get("stroke-dasharray")
    assert len(lines[0].get("points").split()) == 4
    circles = root.findall(f".//{SVG}circle[@class='point']")
    squares = root.findall(f".//{SVG}rect[@class='point']")
    assert len(circles) == 4 and len(squares) == 4
    x_labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "x-label"]
    assert x_labels == ["2026-01", "2026-02", "2026-03", "2026-04"]
    # Higher value, higher on the page (smaller y).
    ys = [float(p.split(",")[1]) for p in lines[0].get("points").split()]
    assert ys == sorted(ys, reverse=True)


def test_no_chart_without_rows_or_kind():
    assert chart_svg(volume_table(rows=[])) is None
    assert chart_svg(volume_table(chart="")) is None


def test_negative_values_draw_left_of_zero():
    table = volume_table(rows=[{"label": "A", "received": -5, "share": None},
                               {"label": "B", "received": 10, "share": None}])
    root = parse(chart_svg(table))
    axis = root.find(f".//{SVG}line[@class='axis']")
    zero = float(axis.get("x1"))
    bars = root.findall(f".//{SVG}rect[@class='bar']")
    assert float(bars[0].get("x")) + float(bars[0].get("width")) == pytest.approx(zero, abs=0.2)
    assert float(bars[1].get("x")) == pytest.approx(zero, abs=0.2)


# --- CSV -------------------------------------------------------------------------------------

def test_csv_bom_header_numbers_and_percent_with_one_decimal():
    content = table_csv(volume_table(rows=[
        {"label": "Web", "received": 1200, "share": Decimal("60")},
        {"label": "Teléfono", "received": 3, "share": 12.345},
        {"label": "Sin dato", "received": None, "share": None},
    ]))
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [
        ["Canal", "Recibidos", "Participación (%)"],
        ["Web", "1200", "60.0"],
        ["Teléfono", "3", "12.3"],
        ["Sin dato", "", ""],
    ]


@pytest.mark.parametrize("dangerous", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)",
                                       "\tcmd"])
def test_csv_injection_guard_on_text_cells(dangerous):
    content = table_csv(volume_table(rows=[{"label": dangerous, "received": -4,
                                            "share": None}]))
    row = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1]
    assert row[0] == "'" + dangerous
    assert row[1] == "-4"  # a negative number stays a number


def test_csv_quotes_commas_in_text():
    content = table_csv(volume_table(rows=[{"label": "Becas, JUNAEB", "received": 1,
                                            "share": 1}]))
    assert '"Becas, JUNAEB",1,1.0' in content.decode("utf-8-sig")


# --- XLSX ------------------------------------------------------------------------------------

def test_xlsx_sheet_header_types_formats_frozen_and_filters_sheet():
    lines = [("Institución", "JUNAEB"), ("Desde", "01-01-2026")]
    table = volume_table(rows=[
        {"label": "Web", "received": 1200, "share": Decimal("60.04")},
        {"label": "=1+1", "received": 5, "share": None},
    ])
    book = openpyxl.load_workbook(io.BytesIO(tables_xlsx([table], filter_lines=lines)))
    assert book.sheetnames == ["Requerimientos por canal", "Filtros"]
    sheet = book["Requerimientos por canal"]
    assert [c.value for c in sheet[1]] == ["Canal", "Recibidos", "Participación (%)"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet["A2"].value == "Web"
    assert sheet["B2"].value == 1200 and sheet["B2"].number_format == "#,##0"
    assert sheet["C2"].value == pytest.approx(60.0) and sheet["C2"].number_format == "0.0"
    assert sheet["A3"].value == "=1+1" and sheet["A3"].data_type == "s"  # text, not a formula
    assert sheet["C3"].value is None
    assert sheet.column_dimensions["A"].width >= len("Canal")
    assert sheet["A5"].value == "Recibidos en el período."  # the note under the table
    filters = book["Filtros"]
    assert filters["A3"].value == "Institución" and filters["B3"].value == "JUNAEB"
    assert filters["A4"].value == "Desde" and filters["B4"].value == "01-01-2026"


def test_xlsx_cover_sheet_and_one_sheet_per_table_with_unique_names():
    same_title = [volume_table(), volume_table(key="other"), stacked_table()]
    book = openpyxl.load_workbook(io.BytesIO(tables_xlsx(
        same_title, filter_lines=[("Región", "Todas")], cover=("Reporte anual", []))))
    assert book.sheetnames == ["Reporte", "Requerimientos por canal",
                               "Requerimientos por canal (2)",
                               "Autoatención frente a asistida", "Filtros"]
    assert book["Reporte"]["A1"].value == "Reporte anual"
    assert book["Autoatención frente a asistida"]["B3"].value == 70


def test_sheet_names_follow_excel_rules():
    taken: set[str] = set()
    name = sheet_name("Cumplimiento: plazos [etapa] / área? * muy largo de verdad", taken)
    assert len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name)
    assert sheet_name(name, taken) != name


def test_export_filename_is_safe_ascii():
    name = export_filename("volumen-región/../x", date(2026, 1, 1), date(2026, 3, 31), "csv")
    assert name == "volumen-regionx_2026-01-01_2026-03-31.csv"
