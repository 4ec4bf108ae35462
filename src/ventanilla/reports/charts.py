"""Server-side SVG charts drawn from a ``Table`` (no JavaScript, nothing from the internet).

Three kinds, as ``Table.chart`` says: ``bar`` (one horizontal bar per row, grouped when
there are several series), ``stacked`` (one horizontal bar per row split by series) and
``line`` (each series over the rows in order). Horizontal bars keep long topic names
readable; the drawing scales with its ``viewBox``, so it fits a phone.

Accessibility: the ``<svg>`` is ``role="img"`` named by its ``<title>`` and described by
its ``<desc>`` (which reads the values out); every series has its own colour *and* pattern or line
style, named in a legend, and every bar carries its value as text, so colour is never the
only carrier. The full table is always shown beside the chart by the page.
"""

from __future__ import annotations

import math
import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ventanilla.reports.display import column_by_key, format_value, numeric, row_label
from ventanilla.reports.tables import Table

# Each at least 4.5:1 against white, so the bars and their outlines stay visible.
PALETTE = ["#1f4e79", "#a34100", "#2e6b30", "#6a1b9a", "#7a4a00", "#a01a3a"]
# Line charts: a dash pattern and a marker shape per series, besides the colour.
DASHES = ["", "8 4", "2 4", "12 4 2 4", "4 4", "1 2"]
MARKERS = ["circle", "square", "triangle", "diamond", "circle", "square"]
TEXT_COLOUR = "#1a1a1a"
GRID_COLOUR = "#b0b0b0"
HIGHLIGHT_MARK = "★"

# A narrow drawing, so that on a phone its text stays readable once scaled down.
WIDTH = 480
LABEL_WIDTH = 150
VALUE_ROOM = 64
MAX_LABEL_CHARS = 21
DESC_MAX_ROWS = 24


def _uid(table: Table, prefix: str) -> str:
    return prefix + re.sub(r"[^a-zA-Z0-9_-]", "-", table.key or "chart")


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _series(table: Table) -> list[str]:
    """The numeric columns drawn: ``chart_series``, else every int/percent/decimal column."""
    columns = column_by_key(table)
    series = [key for key in table.chart_series if key in columns]
    if not series:
        series = [c.key for c in table.columns if c.kind in ("int", "percent", "decimal")][:1]
    return series


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10 ** exponent
        if candidate >= value:
            return candidate
    return 10 ** (exponent + 1)


def _scale_bounds(values: list[float], all_percent: bool) -> tuple[float, float]:
    low = min([0.0, *values])
    high = max([0.0, *values])
    if all_percent and low >= 0 and high <= 100:
        return 0.0, 100.0
    if high > 0:
        # At least 4 so that the four grid steps of small counts are whole numbers.
        high = _nice_max(high if all_percent else max(high, 4))
    if low < 0:
        low = -_nice_max(-low)
    if high == low:
        high = low + 1
    return low, high


def _pattern_defs(uid: str, count: int) -> str:
    """One fill per series: solid, then white stripes, dots, cross-hatch… over the colour."""
    parts = []
    for index in range(count):
        colour = PALETTE[index % len(PALETTE)]
        pid = f"{uid}-fill{index}"
        style = index % 6
        if style == 0:
            overlay = ""
        elif style == 1:
            overlay = '<path d="M0 8 L8 0" stroke="#fff" stroke-width="2"/>'
        elif style == 2:
            overlay = '<circle cx="4" cy="4" r="1.6" fill="#fff"/>'
        elif style == 3:
            overlay = ('<path d="M0 8 L8 0 M0 0 L8 8" stroke="#fff" stroke-width="1.2"/>')
        elif style == 4:
            overlay = '<path d="M0 4 L8 4" stroke="#fff" stroke-width="2"/>'
        else:
            overlay = '<path d="M4 0 L4 8" stroke="#fff" stroke-width="2"/>'
        parts.append(
            f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">'
            f'<rect width="8" height="8" fill="{colour}"/>{overlay}</pattern>'
        )
    return "<defs>" + "".join(parts) + "</defs>"


def _legend(uid: str, labels: list[str], *, y: float, line: bool) -> tuple[str, float]:
    """The series names with their swatch (bars) or line sample (lines); returns the height."""
    if len(labels) < 2 and not line:
        return "", 0.0
    parts = ['<g class="legend">']
    x, row_y = 8.0, y
    for index, label in enumerate(labels):
        text = escape(_short(label, 34))
        width = 34 + 7 * len(_short(label, 34))
        if x + width > WIDTH - 8 and x > 8:
            x, row_y = 8.0, row_y + 20
        if line:
            colour = PALETTE[index % len(PALETTE)]
            dash = DASHES[index % len(DASHES)]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<line x1="{x}" y1="{row_y + 7}" x2="{x + 22}" y2="{row_y + 7}" '
                         f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
            parts.append(_marker(MARKERS[index % len(MARKERS)], x + 11, row_y + 7, colour,
                                 css="legend-marker"))
        else:
            parts.append(f'<rect x="{x}" y="{row_y}" width="22" height="14" '
                         f'fill="url(#{uid}-fill{index})" stroke="{TEXT_COLOUR}" '
                         f'stroke-width="0.5"/>')
        parts.append(f'<text x="{x + 28}" y="{row_y + 11}">{text}</text>')
        x += width
    parts.append("</g>")
    return "".join(parts), row_y - y + 24


def _marker(shape: str, x: float, y: float, colour: str, *, css: str = "point") -> str:
    if shape == "square":
        return (f'<rect class="{css}" x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                f'fill="{colour}"/>')
    if shape == "triangle":
        return (f'<path class="{css}" d="M{x:.1f} {y - 5:.1f} L{x + 5:.1f} {y + 4:.1f} '
                f'L{x - 5:.1f} {y + 4:.1f} Z" fill="{colour}"/>')
    if shape == "diamond":
        return (f'<path class="{css}" d="M{x:.1f} {y - 5:.1f} L{x + 5:.1f} {y:.1f} '
                f'L{x:.1f} {y + 5:.1f} L{x - 5:.1f} {y:.1f} Z" fill="{colour}"/>')
    return f'<circle class="{css}" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def _description(table: Table, series: list[str], kind_label: str) -> str:
    columns = column_by_key(table)
    rows = table.rows[:DESC_MAX_ROWS]
    readings = []
    for row in rows:
        values = ", ".join(
            f"{columns[key].label}: {format_value(row.get(key), columns[key].kind)}"
            for key in series
        )
        readings.append(f"{row_label(table, row)} ({values})")
    text = _("%(kind)s con %(count)s filas. ") % {"kind": kind_label,
                                                   "count": len(table.rows)}
    text += "; ".join(readings)
    if len(table.rows) > len(rows):
        text += _("; y %(more)s filas más.") % {"more": len(table.rows) - len(rows)}
    return text + " " + _("Todos los valores están en la tabla junto al gráfico.")


def _wrap(table: Table, uid: str, kind: str, kind_label: str, height: float, body: str,
          series: list[str], defs: str = "") -> SafeString:
    title = escape(str(table.title))
    desc = escape(_description(table, series, kind_label))
    # Every text that comes from the table (labels, values, titles) was escaped above.
    return mark_safe(  # noqa: S308
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" preserveAspectRatio="xMinYMin meet" '
        f'role="img" aria-labelledby="{uid}-title" aria-describedby="{uid}-desc" id="{uid}" '
        f'font-family="sans-serif" font-size="13" fill="{TEXT_COLOUR}">'
        f'<title id="{uid}-title">{title}</title><desc id="{uid}-desc">{desc}</desc>'
        f"{defs}{body}</svg>"
    )


def _row_label_svg(table: Table, index: int, row: dict, y: float) -> str:
    label = row_label(table, row)
    highlighted = index in table.highlighted
    shown = (HIGHLIGHT_MARK + " " if highlighted else "") + _short(label)
    weight = ' font-weight="bold"' if highlighted else ""
    css = "row-label highlighted" if highlighted else "row-label"
    return (f'<text class="{css}" x="{LABEL_WIDTH - 8}" y="{y:.1f}" text-anchor="end"'
            f'{weight}><title>{escape(label)}</title>{escape(shown)}</text>')


def bar_chart(table: Table, *, id_prefix: str = "chart-") -> SafeString:
    """Horizontal bars, one per row (a group of bars per row with several series)."""
    uid = _uid(table, id_prefix)
    columns = column_by_key(table)
    series = _series(table)
    all_percent = all(columns[key].kind == "percent" for key in series)
    values = [numeric(row.get(key)) for row in table.rows for key in series]
    low, high = _scale_bounds(values, all_percent)
    plot_left, plot_right = LABEL_WIDTH, WIDTH - VALUE_ROOM
    span = plot_right - plot_left

    def x_of(value: float) -> float:
        return plot_left + (value - low) / (high - low) * span

    legend, legend_height = _legend(uid, [str(columns[k].label) for k in series], y=6,
                                    line=False)
    bar_height = 16 if len(series) == 1 else 12
    row_height = bar_height * len(series) + 10
    top = 8 + legend_height
    parts = [legend]
    zero_x = x_of(0)
    for index, row in enumerate(table.rows):
        y = top + index * row_height
        parts.append(_row_label_svg(table, index, row, y + row_height / 2 + 2))
        for s_index, key in enumerate(series):
            value = row.get(key)
            number = numeric(value)
            bar_y = y + 4 + s_index * bar_height
            start, end = sorted((zero_x, x_of(number)))
            parts.append(
                f'<rect class="bar" x="{start:.1f}" y="{bar_y:.1f}" '
                f'width="{max(end - start, 0.5):.1f}" height="{bar_height - 2}" '
                f'fill="url(#{uid}-fill{s_index})" stroke="{TEXT_COLOUR}" stroke-width="0.4">'
                f"<title>{escape(row_label(table, row))} · {escape(str(columns[key].label))}: "
                f"{escape(format_value(value, columns[key].kind))}</title></rect>"
            )
            parts.append(
                f'<text class="value" x="{max(end, zero_x) + 4:.1f}" '
                f'y="{bar_y + bar_height - 4:.1f}">'
                f"{escape(format_value(value, columns[key].kind))}</text>"
            )
    bottom = top + len(table.rows) * row_height
    parts.append(f'<line class="axis" x1="{zero_x:.1f}" y1="{top - 2}" x2="{zero_x:.1f}" '
                 f'y2="{bottom:.1f}" stroke="{TEXT_COLOUR}" stroke-width="1"/>')
    return _wrap(table, uid, "bar", _("Gráfico de barras"), bottom + 8, "".join(parts),
                 series, _pattern_defs(uid, len(series)))


def stacked_chart(table: Table, *, id_prefix: str = "chart-") -> SafeString:
    """Horizontal bars split by series; the row's total is written at the bar's end."""
    uid = _uid(table, id_prefix)
    columns = column_by_key(table)
    series = _series(table)
    totals = [sum(max(numeric(row.get(k)), 0.0) for k in series) for row in table.rows]
    all_percent = all(columns[key].kind == "percent" for key in series)
    low, high = _scale_bounds(totals, all_percent)
    plot_left, plot_right = LABEL_WIDTH, WIDTH - VALUE_ROOM
    span = plot_right - plot_left
    legend, legend_height = _legend(uid, [str(columns[k].label) for k in series], y=6,
                                    line=False)
    row_height = 26
    top = 8 + legend_height
    parts = [legend]
    total_kind = "percent" if all_percent else "int"
    if any(columns[k].kind == "decimal" for k in series):
        total_kind = "decimal"
    for index, row in enumerate(table.rows):
        y = top + index * row_height
        parts.append(_row_label_svg(table, index, row, y + row_height / 2 + 4))
        x = plot_left
        for s_index, key in enumerate(series):
            value = row.get(key)
            width = max(numeric(value), 0.0) / (high - low) * span
            if width <= 0:
                continue
            parts.append(
                f'<rect class="bar segment" x="{x:.1f}" y="{y + 4:.1f}" width="{width:.1f}" '
                f'height="{row_height - 8}" fill="url(#{uid}-fill{s_index})" '
                f'stroke="{TEXT_COLOUR}" stroke-width="0.4">'
                f"<title>{escape(row_label(table, row))} · {escape(str(columns[key].label))}: "
                f"{escape(format_value(value, columns[key].kind))}</title></rect>"
            )
            x += width
        parts.append(f'<text class="value" x="{x + 4:.1f}" y="{y + row_height / 2 + 4:.1f}">'
                     f"{escape(format_value(totals[index], total_kind))}</text>")
    bottom = top + len(table.rows) * row_height
    parts.append(f'<line class="axis" x1="{plot_left}" y1="{top - 2}" x2="{plot_left}" '
                 f'y2="{bottom:.1f}" stroke="{TEXT_COLOUR}" stroke-width="1"/>')
    return _wrap(table, uid, "stacked", _("Gráfico de barras apiladas"), bottom + 8,
                 "".join(parts), series, _pattern_defs(uid, len(series)))


def line_chart(table: Table, *, id_prefix: str = "chart-") -> SafeString:
    """Each series as a line over the rows in their order (periods), with markers."""
    uid = _uid(table, id_prefix)
    columns = column_by_key(table)
    series = _series(table)
    all_percent = all(columns[key].kind == "percent" for key in series)
    values = [numeric(row.get(key)) for row in table.rows for key in series]
    low, high = _scale_bounds(values, all_percent)
    legend, legend_height = _legend(uid, [str(columns[k].label) for k in series], y=6,
                                    line=True)
    count = len(table.rows)
    rotate = count > 5
    left, right = 56.0, WIDTH - 16.0
    top = 14 + legend_height
    plot_height = 200.0
    bottom = top + plot_height
    height = bottom + (70 if rotate else 30)

    def x_of(index: int) -> float:
        return left + (right - left) * (index + 0.5) / max(count, 1)

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * plot_height

    tick_kind = "percent" if all_percent else "int"
    parts = [legend]
    for step in range(5):  # four grid lines and the baseline, each with its value
        value = low + (high - low) * step / 4
        y = y_of(value)
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
                     f'stroke="{GRID_COLOUR}" stroke-width="0.6"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f"{escape(format_value(value, tick_kind))}</text>")
    every = max(1, math.ceil(count / 8))
    for index, row in enumerate(table.rows):
        if index % every:
            continue
        x = x_of(index)
        label = escape(_short(row_label(table, row), 12))
        if rotate:
            parts.append(f'<text class="x-label" x="{x:.1f}" y="{bottom + 14:.1f}" '
                         f'text-anchor="end" transform="rotate(-40 {x:.1f} {bottom + 14:.1f})">'
                         f"{label}</text>")
        else:
            parts.append(f'<text class="x-label" x="{x:.1f}" y="{bottom + 18:.1f}" '
                         f'text-anchor="middle">{label}</text>')
    label_points = count <= 8
    for s_index, key in enumerate(series):
        colour = PALETTE[s_index % len(PALETTE)]
        dash = DASHES[s_index % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        points = [(x_of(i), y_of(numeric(row.get(key)))) for i, row in enumerate(table.rows)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline class="series" points="{path}" fill="none" '
                         f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
        for (x, y), row in zip(points, table.rows, strict=True):
            parts.append(_marker(MARKERS[s_index % len(MARKERS)], x, y, colour))
            if label_points:
                parts.append(
                    f'<text class="value" x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">'
                    f"{escape(format_value(row.get(key), columns[key].kind))}</text>")
    parts.append(f'<line class="axis" x1="{left}" y1="{bottom:.1f}" x2="{right}" '
                 f'y2="{bottom:.1f}" stroke="{TEXT_COLOUR}" stroke-width="1"/>')
    return _wrap(table, uid, "line", _("Gráfico de líneas"), height, "".join(parts), series)


CHARTS = {"bar": bar_chart, "stacked": stacked_chart, "line": line_chart}


def chart_svg(table: Table, *, id_prefix: str = "chart-") -> SafeString | None:
    """The table's chart as inline SVG, or None when it has no chart or no rows."""
    draw = CHARTS.get(table.chart)
    if draw is None or not table.rows or not table.columns:
        return None
    return draw(table, id_prefix=id_prefix)
