"""The dashboard's figures, in page order: which selector builds each, under which section.

The same list drives the page, the exports (``/exportar/<key>.csv``) and the periodic
report, so a figure exported or printed is exactly the one on the page. The keys are the
exports' file names and the page anchors; they are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ventanilla.reports import selectors as figures
from ventanilla.reports.tables import DashboardFilters, Table
from ventanilla.surveys.selectors import satisfaction_by


@dataclass(frozen=True)
class Section:
    key: str
    title: str | Promise
    intro: str | Promise = ""


@dataclass(frozen=True)
class Figure:
    key: str
    section: str
    build: Callable[[DashboardFilters], Table]
    # What a highlighted row means, said in words beside the marker.
    highlight_label: str | Promise = ""
    highlight_column: str = ""  # the cell that carries the marker (default: the label)
    applies: Callable[[DashboardFilters], bool] = lambda filters: True


SECTIONS = [
    Section("volumen", _("Volumen")),
    Section("productos", _("Productos más pedidos por canal")),
    Section("canales", _("Mezcla de canales y autoatención")),
    Section("plazos", _("Cumplimiento de plazos"),
            _("Meta: 98 % de los requerimientos respondidos dentro del plazo; primera "
              "respuesta dentro de 72 horas.")),
    Section("pendientes", _("Pendientes y antigüedad")),
    Section("satisfaccion", _("Satisfacción")),
]


def _volume(dimension: str) -> Callable[[DashboardFilters], Table]:
    return lambda filters: figures.volume_by(filters, dimension)


def _satisfaction(dimension: str) -> Callable[[DashboardFilters], Table]:
    return lambda filters: satisfaction_by(filters, dimension)


FIGURES = [
    Figure("volumen-periodo", "volumen", _volume("period")),
    Figure("volumen-canal", "volumen", _volume("channel")),
    Figure("volumen-motivo", "volumen", _volume("ticket_type")),
    Figure("volumen-tema", "volumen", _volume("topic")),
    Figure("volumen-region", "volumen", _volume("region")),
    Figure("volumen-comuna", "volumen", _volume("comuna")),
    Figure("productos-por-canal", "productos",
           lambda filters: figures.top_topics_by_channel(filters, n=5),
           highlight_label=_("pedido en varios canales"), highlight_column="topic"),
    Figure("mezcla-canales", "canales", lambda filters: figures.channel_mix(filters)),
    Figure("autoatencion", "canales", lambda filters: figures.self_service_share(filters)),
    Figure("cumplimiento-etapas", "plazos",
           lambda filters: figures.compliance_by_stage(filters)),
    Figure("pendientes-antiguedad", "pendientes",
           lambda filters: figures.backlog_ageing(filters)),
    Figure("satisfaccion-canal", "satisfaccion", _satisfaction("channel")),
    Figure("satisfaccion-oficina", "satisfaccion", _satisfaction("office")),
    Figure("satisfaccion-area", "satisfaccion", _satisfaction("area")),
    Figure("satisfaccion-tema", "satisfaccion", _satisfaction("topic")),
    Figure("satisfaccion-periodo", "satisfaccion", _satisfaction("period")),
]
FIGURES_BY_KEY = {figure.key: figure for figure in FIGURES}


def figure_table(figure: Figure, filters: DashboardFilters) -> Table:
    """The figure's table under its stable key (the export name and page anchor)."""
    table = figure.build(filters)
    table.key = figure.key
    return table


def figures_for(filters: DashboardFilters) -> list[Figure]:
    return [figure for figure in FIGURES if figure.applies(filters)]


def dashboard_sections(filters: DashboardFilters) -> list[tuple[Section, list[tuple[Figure,
                                                                                   Table]]]]:
    """Every section with its figures' tables for these filters, in page order."""
    applicable = figures_for(filters)
    result = []
    # On PostgreSQL the volume figures of one rendering share one GROUPING SETS scan.
    with figures.shared_scan():
        for section in SECTIONS:
            built = [(figure, figure_table(figure, filters))
                     for figure in applicable if figure.section == section.key]
            if built:
                result.append((section, built))
    return result
