"""Dashboard pages (``/consola/tableros/``), table exports and periodic reports.

Supervisors, system administrators and auditors of the active institution see them; the
figures are aggregates only (``reports.tables``), so the auditor sees the same page. Views
parse input, call a selector or service and render.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from ventanilla.console.context import StaffContext, forbidden_response, staff_context
from ventanilla.core.downloads import download_response
from ventanilla.reports.charts import HIGHLIGHT_MARK, chart_svg
from ventanilla.reports.display import filter_lines, format_value
from ventanilla.reports.exports import export_filename, table_csv, tables_xlsx
from ventanilla.reports.figures import FIGURES_BY_KEY, dashboard_sections, figure_table
from ventanilla.reports.forms import (
    DashboardFilterForm,
    ReportRequestForm,
    publishing_periods,
    quick_periods,
)
from ventanilla.reports.models import ReportStatus
from ventanilla.reports.report_selectors import report_run_get, report_run_list
from ventanilla.reports.report_services import (
    can_request_reports,
    can_see_dashboards,
    report_request,
)
from ventanilla.reports.tables import Table

NUMERIC_KINDS = ("int", "percent", "decimal")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _access(request) -> tuple[StaffContext, HttpResponse | None]:
    """The staff context, or the Spanish 403 page for anyone who may not see dashboards."""
    staff = staff_context(request)
    if not staff.has_access:
        return staff, forbidden_response(
            request, None, title=_("Su cuenta no tiene acceso a la consola"),
            explanation=_("La consola es para funcionarios con un rol activo en una "
                          "institución."))
    if not can_see_dashboards(request.user, staff.active.institution_id):
        return staff, forbidden_response(
            request, staff, title=_("Su rol no permite ver los tableros"),
            explanation=_("Los tableros son para supervisores, administradores del sistema y "
                          "auditores de la institución."))
    return staff, None


def _filter_form(request, institution) -> DashboardFilterForm:
    today = timezone.localdate()
    form = DashboardFilterForm(None, institution=institution, today=today)
    data = request.GET.copy()
    data.setdefault("desde", form.default_from.isoformat())
    data.setdefault("hasta", form.default_to.isoformat())
    return DashboardFilterForm(data, institution=institution, today=today)


@dataclass
class Cell:
    text: str
    numeric: bool
    marked: bool = False  # carries the highlight marker and its words when the row is


@dataclass
class DisplayRow:
    cells: list[Cell]
    highlighted: bool


@dataclass
class FigureDisplay:
    table: Table
    svg: str | None
    rows: list[DisplayRow]
    highlight_label: str
    csv_url: str
    xlsx_url: str


def _marked_column(figure, table: Table) -> str:
    """The column whose cell says why a highlighted row stands out (e.g. the topic)."""
    keys = [column.key for column in table.columns]
    for key in (figure.highlight_column, table.chart_label):
        if key and key in keys:
            return key
    return keys[0] if keys else ""


def _figure_display(figure, table: Table, query: str) -> FigureDisplay:
    marked = _marked_column(figure, table)
    rows = [
        DisplayRow(cells=[Cell(format_value(row.get(c.key), c.kind), c.kind in NUMERIC_KINDS,
                               marked=c.key == marked)
                          for c in table.columns],
                   highlighted=index in table.highlighted)
        for index, row in enumerate(table.rows)
    ]
    export = reverse("console:dashboards-export", args=[figure.key, "csv"])
    export_xlsx = reverse("console:dashboards-export", args=[figure.key, "xlsx"])
    return FigureDisplay(
        table=table, svg=chart_svg(table), rows=rows,
        highlight_label=str(figure.highlight_label or _("destacado")),
        csv_url=f"{export}?{query}", xlsx_url=f"{export_xlsx}?{query}")


@require_safe
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    staff, denied = _access(request)
    if denied:
        return denied
    institution = staff.active.institution
    form = _filter_form(request, institution)
    sections = []
    if form.is_valid():
        query = form.query_string()
        for section, built in dashboard_sections(form.filters()):
            sections.append((section, [_figure_display(figure, table, query)
                                       for figure, table in built]))
    quick = [(period.label, "?" + form.query_string(desde=period.date_from.isoformat(),
                                                    hasta=period.date_to.isoformat()))
             for period in quick_periods(form.today)]
    return render(request, "reports/dashboard.html", {
        "staff": staff, "form": form, "sections": sections, "quick_periods": quick,
        "filters": form.filters() if form.is_valid() else None,
        "highlight_mark": HIGHLIGHT_MARK,
        "may_request_reports": can_request_reports(request.user, institution.pk),
    })


@require_safe
@login_required
def export(request: HttpRequest, key: str, fmt: str) -> HttpResponse:
    staff, denied = _access(request)
    if denied:
        return denied
    figure = FIGURES_BY_KEY.get(key)
    if figure is None or fmt not in ("csv", "xlsx"):
        raise Http404
    form = _filter_form(request, staff.active.institution)
    if not form.is_valid():
        return render(request, "reports/export_error.html", {
            "staff": staff, "form": form,
            "dashboard_url": reverse("console:dashboards-home"),
        }, status=400)
    filters = form.filters()
    if not figure.applies(filters):
        return render(request, "reports/export_error.html", {
            "staff": staff, "form": None,
            "message": _("Esta tabla no está disponible para el período elegido."),
            "dashboard_url": reverse("console:dashboards-home"),
        }, status=400)
    table = figure_table(figure, filters)
    if fmt == "csv":
        content = table_csv(table)
    else:
        content = tables_xlsx([table], filter_lines=filter_lines(filters))
    filename = export_filename(figure.key, filters.date_from, filters.date_to, fmt)
    return download_response(content, filename=filename, content_type=CONTENT_TYPES[fmt])


def _date_param(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def reports(request: HttpRequest) -> HttpResponse:
    staff, denied = _access(request)
    if denied:
        return denied
    institution = staff.active.institution
    may_request = can_request_reports(request.user, institution.pk)
    today = timezone.localdate()
    if request.method == "POST":
        if not may_request:
            return forbidden_response(
                request, staff, title=_("Su rol no permite pedir reportes"),
                explanation=_("Los reportes los piden supervisores y administradores del "
                              "sistema; usted puede descargar los ya generados."))
        form = ReportRequestForm(request.POST, institution=institution, today=today)
        if form.is_valid():
            data = form.cleaned_data
            try:
                report_request(
                    user=request.user, institution=institution,
                    period_start=data["period_start"], period_end=data["period_end"],
                    title=data["title"], filters=form.filters_json(),
                    recipients=data["recipients"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Reporte pedido. Se genera en segundo plano; "
                                            "actualice esta página para ver su estado."))
                return redirect("console:dashboards-reports")
    else:
        start = _date_param(request.GET.get("desde"))
        end = _date_param(request.GET.get("hasta"))
        form = ReportRequestForm(initial={"period_start": start, "period_end": end},
                                 institution=institution, today=today)
    quick = [(period.label, "?" + f"desde={period.date_from.isoformat()}"
              f"&hasta={period.date_to.isoformat()}") for period in publishing_periods(today)]
    return render(request, "reports/report_list.html", {
        "staff": staff, "form": form if may_request else None,
        "runs": report_run_list(institution_id=institution.pk),
        "quick_periods": quick, "done": ReportStatus.DONE, "failed": ReportStatus.FAILED,
        "show_requester": not staff.is_auditor,
    })


@require_safe
@login_required
def report_download(request: HttpRequest, run_id: int, kind: str) -> HttpResponse:
    staff, denied = _access(request)
    if denied:
        return denied
    run = report_run_get(institution_id=staff.active.institution_id, run_id=run_id)
    if run is None or kind not in ("pdf", "xlsx") or run.status != ReportStatus.DONE:
        raise Http404
    field = run.pdf if kind == "pdf" else run.xlsx
    if not field:
        raise Http404
    try:
        handle = field.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    stem = slugify(run.title)[:60] or f"reporte-{run.pk}"
    response = FileResponse(handle, as_attachment=True, filename=f"{stem}.{kind}",
                            content_type=CONTENT_TYPES[kind])
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
