"""The periodic report as PDF (reportlab): title, institution, period and filters, then each
section's figures — heading, chart (reportlab graphics), table and note — with the page
number and the generation time on every page.

Helvetica with WinAnsi encoding carries every Spanish letter; the "★" of the page is
written "*" here for that reason.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)
from reportlab.platypus import Table as PdfTable

from ventanilla.reports.charts import PALETTE
from ventanilla.reports.display import column_by_key, format_value, numeric, row_label
from ventanilla.reports.tables import Table

PAGE = landscape(A4)
MARGIN = 14 * mm
CONTENT_WIDTH = PAGE[0] - 2 * MARGIN
CHART_MAX_ROWS = 30
PDF_HIGHLIGHT_MARK = "*"
FONT, FONT_BOLD = "Helvetica", "Helvetica-Bold"


@dataclass(frozen=True)
class ReportSection:
    title: str
    intro: str
    # (table, what a highlighted row means)
    figures: list[tuple[Table, str]]


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=FONT_BOLD,
                                fontSize=20, leading=24),
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontName=FONT_BOLD, fontSize=15),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=FONT_BOLD, fontSize=12),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontName=FONT, fontSize=9.5),
        "note": ParagraphStyle("note", parent=base["BodyText"], fontName="Helvetica-Oblique",
                               fontSize=8, textColor=colors.HexColor("#333333")),
        "cell": ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9),
        "head": ParagraphStyle("head", fontName=FONT_BOLD, fontSize=7.5, leading=9),
    }


def _numbered_canvas(footer_left: str):
    """A canvas that writes "Página N de M" once the page count is known."""

    class NumberedCanvas(pdf_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict] = []

        def showPage(self):
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                self.setFont(FONT, 7.5)
                self.setFillColor(colors.HexColor("#333333"))
                self.drawString(MARGIN, 8 * mm, footer_left)
                self.drawRightString(PAGE[0] - MARGIN, 8 * mm,
                                     _("Página %(page)s de %(total)s") % {
                                         "page": self._pageNumber, "total": total})
                super().showPage()
            super().save()

    return NumberedCanvas


def _chart_drawing(table: Table) -> Drawing | None:
    if table.chart not in ("bar", "stacked", "line") or not table.rows:
        return None
    columns = column_by_key(table)
    series = [k for k in table.chart_series if k in columns] or [
        c.key for c in table.columns if c.kind in ("int", "percent", "decimal")][:1]
    if not series:
        return None
    rows = table.rows[:CHART_MAX_ROWS]
    labels = []
    for index, row in enumerate(rows):
        label = row_label(table, row)
        label = label if len(label) <= 34 else label[:33] + "…"
        labels.append((PDF_HIGHLIGHT_MARK + " " if index in table.highlighted else "") + label)
    data = [[numeric(row.get(key)) for row in rows] for key in series]
    width = CONTENT_WIDTH * 0.9
    legend_names = [str(columns[key].label) for key in series]
    if table.chart == "line":
        height = 170
        drawing = Drawing(width, height + 30)
        chart = HorizontalLineChart()
        chart.x, chart.y, chart.width, chart.height = 50, 40, width - 80, height - 40
        chart.data = data
        chart.categoryAxis.categoryNames = labels
        chart.categoryAxis.labels.angle = 40 if len(rows) > 8 else 0
        chart.categoryAxis.labels.boxAnchor = "ne" if len(rows) > 8 else "n"
        chart.categoryAxis.labels.fontSize = 6.5
        chart.valueAxis.labels.fontSize = 7
        chart.valueAxis.valueMin = min(0, *[min(s) for s in data])
        for index in range(len(series)):
            chart.lines[index].strokeColor = colors.HexColor(PALETTE[index % len(PALETTE)])
            chart.lines[index].strokeWidth = 1.8
            chart.lines[index].strokeDashArray = [None, (4, 2), (1, 2)][index % 3]
        chart.joinedLines = 1
    else:
        bar = 9 if len(series) == 1 or table.chart == "stacked" else 6
        per_row = bar * (1 if table.chart == "stacked" else len(series)) + 5
        height = max(60, per_row * len(rows) + 20)
        drawing = Drawing(width, height + 30)
        chart = HorizontalBarChart()
        chart.x, chart.y, chart.width, chart.height = 200, 20, width - 240, height - 10
        chart.data = data
        chart.categoryAxis.categoryNames = labels
        chart.categoryAxis.reverseDirection = 1  # first row on top, as in the table
        chart.categoryAxis.labels.fontSize = 7
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.valueAxis.labels.fontSize = 7
        chart.valueAxis.valueMin = min(0, *[min(s) for s in data])
        if table.chart == "stacked":
            chart.categoryAxis.style = "stacked"
        chart.barLabelFormat = "%.0f" if all(columns[k].kind == "int" for k in series) \
            else "%.1f"
        chart.barLabels.fontSize = 6.5
        chart.barLabels.boxAnchor = "w"
        chart.barLabels.dx = 3
        if table.chart == "stacked":
            chart.barLabelFormat = None
        for index in range(len(series)):
            chart.bars[index].fillColor = colors.HexColor(PALETTE[index % len(PALETTE)])
            chart.bars[index].strokeColor = colors.black
            chart.bars[index].strokeWidth = 0.3
    drawing.add(chart)
    if len(series) > 1 or table.chart == "line":
        legend = Legend()
        legend.x, legend.y = 10, height + 22
        legend.fontName, legend.fontSize = FONT, 7
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.deltax = 150
        legend.colorNamePairs = [(colors.HexColor(PALETTE[i % len(PALETTE)]), name)
                                 for i, name in enumerate(legend_names)]
        drawing.add(legend)
    return drawing


def _table_flowable(table: Table, styles, highlight_label: str) -> PdfTable:
    head = [Paragraph(escape(str(c.label)), styles["head"]) for c in table.columns]
    body = []
    for index, row in enumerate(table.rows):
        cells = []
        for position, column in enumerate(table.columns):
            text = format_value(row.get(column.key), column.kind)
            if position == 0 and index in table.highlighted:
                text = f"{PDF_HIGHLIGHT_MARK} {text} ({highlight_label or _('destacado')})"
            cells.append(Paragraph(escape(text), styles["cell"]))
        body.append(cells)
    count = len(table.columns)
    first = CONTENT_WIDTH * (0.28 if count > 2 else 0.5)
    others = (CONTENT_WIDTH - first) / max(count - 1, 1)
    widths = [first] + [others] * (count - 1)
    flowable = PdfTable([head, *body], colWidths=widths, repeatRows=1)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for index in table.highlighted:
        if 0 <= index < len(table.rows):
            style.append(("BACKGROUND", (0, index + 1), (-1, index + 1),
                          colors.HexColor("#fff3c4")))
    flowable.setStyle(TableStyle(style))
    return flowable


def report_pdf(*, title: str, institution_name: str, lines: list[tuple[str, str]],
               sections: list[ReportSection], footer: str, compress: bool = True) -> bytes:
    """The report's PDF bytes. ``compress=False`` leaves the page streams readable (tests)."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=16 * mm, title=title, author=institution_name,
        subject=_("Reporte periódico de atención ciudadana"), pageCompression=int(compress),
    )
    story = [Paragraph(escape(title), styles["title"]),
             Paragraph(escape(institution_name), styles["h1"]), Spacer(1, 6)]
    cover = PdfTable([[Paragraph(f"<b>{escape(str(label))}</b>", styles["body"]),
                       Paragraph(escape(str(value)), styles["body"])] for label, value in lines],
                     colWidths=[60 * mm, CONTENT_WIDTH - 60 * mm])
    cover.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [cover, Spacer(1, 8),
              Paragraph(escape(_("Cada gráfico va acompañado de su tabla con todos los "
                                 "valores. Las cifras son agregadas: no contienen datos "
                                 "personales.")), styles["note"])]
    for section in sections:
        story += [PageBreak(), Paragraph(escape(section.title), styles["h1"])]
        if section.intro:
            story.append(Paragraph(escape(section.intro), styles["body"]))
        for table, highlight_label in section.figures:
            heading = Paragraph(escape(str(table.title)), styles["h2"])
            if not table.rows:
                story += [heading, Paragraph(escape(_("Sin datos para este período y estos "
                                                      "filtros.")), styles["body"])]
                continue
            drawing = _chart_drawing(table)
            story.append(KeepTogether([heading, drawing] if drawing else [heading]))
            story.append(_table_flowable(table, styles, highlight_label))
            if table.highlighted and highlight_label:
                story.append(Paragraph(escape(f"{PDF_HIGHLIGHT_MARK} = {highlight_label}"),
                                       styles["note"]))
            if table.note:
                story.append(Paragraph(escape(str(table.note)), styles["note"]))
            story.append(Spacer(1, 10))
    document.build(story, canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()
