"""The contract between the figures (``reports.selectors``, ``surveys.selectors``) and what
shows or exports them (dashboard pages, SVG charts, CSV, XLSX, the periodic PDF).

A figure is a ``Table``: labelled columns and rows of plain values. Every chart is drawn
from its table and the table is always shown beside it, so nothing is only in a picture.
Tables hold aggregates only: no names, e-mails, RUTs or free text of a person (the auditor
sees every table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils.functional import Promise


@dataclass(frozen=True)
class DashboardFilters:
    institution: object  # catalog.Institution
    date_from: date
    date_to: date  # inclusive
    region: object | None = None  # core.Region
    area: object | None = None  # catalog.Area
    channel: object | None = None  # catalog.Channel


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    # text, int, percent (a number 0-100 with one decimal, or None), decimal, date, bool
    kind: str = "text"


@dataclass
class Table:
    key: str  # stable identifier: the export file name and the page anchor
    title: str | Promise
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    # How to draw it: "bar" (one bar per row), "stacked" (bars split by series),
    # "line" (a series over rows in order), or "" (table only).
    chart: str = "bar"
    chart_label: str = ""  # the column key naming each row on the chart
    chart_series: list[str] = field(default_factory=list)  # numeric column keys drawn
    note: str | Promise = ""  # how the figure is computed, shown under it
    # Rows to highlight (e.g. topics asked for on several channels): row indexes.
    highlighted: list[int] = field(default_factory=list)
