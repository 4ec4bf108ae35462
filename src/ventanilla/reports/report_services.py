"""Periodic reports: request one (``report_request``), generate it in the worker
(``report_generate``: PDF + XLSX of every dashboard figure for the period), and tell the
recipients by e-mail through the outbox.

A run moves pending → running → done | failed. Generation claims the row with a conditional
UPDATE (so two workers never build the same report), and any error ends in ``failed`` with
the error text: a report is never left "running" by a failure. A worker killed mid-way
leaves it running; after ``STALE_RUNNING`` another attempt may claim it again.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ventanilla.accounts.models import Role
from ventanilla.catalog.models import Area, Channel
from ventanilla.core.models import Region
from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_email
from ventanilla.reports.display import filter_lines
from ventanilla.reports.figures import dashboard_sections
from ventanilla.reports.forms import MAX_PERIOD_DAYS, parse_recipients
from ventanilla.reports.models import ReportRun, ReportStatus
from ventanilla.reports.report_pdf import ReportSection, report_pdf
from ventanilla.reports.report_xlsx import report_xlsx
from ventanilla.reports.tables import DashboardFilters
from ventanilla.tickets.permissions import membership_for

logger = logging.getLogger(__name__)

DASHBOARD_ROLES = frozenset({Role.SUPERVISOR, Role.SYSADMIN, Role.AUDITOR})
REPORT_REQUEST_ROLES = frozenset({Role.SUPERVISOR, Role.SYSADMIN})
STALE_RUNNING = timedelta(minutes=30)
ERROR_MAX_CHARS = 2000
EMAIL_TEMPLATE = "report_ready"


def can_see_dashboards(user, institution_id: int) -> bool:
    membership = membership_for(user, institution_id)
    return membership is not None and membership.role in DASHBOARD_ROLES


def can_request_reports(user, institution_id: int) -> bool:
    membership = membership_for(user, institution_id)
    return membership is not None and membership.role in REPORT_REQUEST_ROLES


def default_title(period_start: date, period_end: date) -> str:
    return _("Reporte de gestión %(start)s al %(end)s") % {
        "start": formats.date_format(period_start, "SHORT_DATE_FORMAT"),
        "end": formats.date_format(period_end, "SHORT_DATE_FORMAT")}


def report_request(*, user, institution, period_start: date, period_end: date,
                   title: str = "", filters: dict | None = None,
                   recipients: str | list[str] = "") -> ReportRun:
    """Record a report request and, once committed, queue its generation.

    Raises ``PermissionDenied`` unless the user is a supervisor or system administrator of
    the institution, and ``ValidationError`` (Spanish) for a bad period, filter or e-mail.
    """
    if not can_request_reports(user, institution.pk):
        raise PermissionDenied("report_request not allowed")
    if period_end < period_start:
        raise ValidationError(_("La fecha final no puede ser anterior a la inicial."))
    if (period_end - period_start).days > MAX_PERIOD_DAYS:
        raise ValidationError(_("Elija un período de hasta tres años."))
    if isinstance(recipients, str):
        recipients = parse_recipients(recipients)
    else:
        recipients = parse_recipients(",".join(recipients))
    filters = {key: (filters or {}).get(key) for key in ("region", "area", "channel")}
    # Resolving them checks they exist and that the area is the institution's own.
    _resolve_filters(institution, filters)
    with transaction.atomic():
        run = ReportRun.objects.create(
            institution=institution, title=(title or "").strip()[:200]
            or default_title(period_start, period_end),
            period_start=period_start, period_end=period_end, filters=filters,
            recipients=", ".join(recipients), requested_by=user,
        )
        audit_record(actor=user, action="report.requested", obj=run, institution=institution,
                     data={"period_start": period_start.isoformat(),
                           "period_end": period_end.isoformat(), "filters": filters,
                           "recipients": len(recipients)})
        run_id = run.pk
        transaction.on_commit(lambda: _enqueue_generation(run_id))
    return run


def _enqueue_generation(run_id: int) -> None:
    from ventanilla.reports.tasks import generate_report

    generate_report.enqueue(run_id)


def _resolve_filters(institution, filters: dict) -> dict:
    """The stored filter ids as objects; a missing one is an error, never a wider report."""
    resolved = {"region": None, "area": None, "channel": None}
    if filters.get("region"):
        resolved["region"] = Region.objects.filter(code=str(filters["region"])).first()
        if resolved["region"] is None:
            raise ValidationError(_("La región del filtro no existe."))
    if filters.get("area"):
        resolved["area"] = Area.objects.filter(pk=filters["area"],
                                               institution=institution).first()
        if resolved["area"] is None:
            raise ValidationError(_("El área del filtro no existe en esta institución."))
    if filters.get("channel"):
        resolved["channel"] = Channel.objects.filter(pk=filters["channel"]).first()
        if resolved["channel"] is None:
            raise ValidationError(_("El canal del filtro no existe."))
    return resolved


def report_filters(run: ReportRun) -> DashboardFilters:
    resolved = _resolve_filters(run.institution, run.filters or {})
    return DashboardFilters(institution=run.institution, date_from=run.period_start,
                            date_to=run.period_end, **resolved)


def report_build(run: ReportRun, *, compress: bool = True) -> tuple[bytes, bytes]:
    """The report's PDF and XLSX bytes (every dashboard figure for the run's period)."""
    filters = report_filters(run)
    generated_at = timezone.now()
    lines = [(_("Período"), _("%(start)s al %(end)s") % {
        "start": formats.date_format(run.period_start, "SHORT_DATE_FORMAT"),
        "end": formats.date_format(run.period_end, "SHORT_DATE_FORMAT")}),
        *filter_lines(filters, generated_at=generated_at)]
    sections = dashboard_sections(filters)
    pdf_sections = [
        ReportSection(title=str(section.title), intro=str(section.intro),
                      figures=[(table, str(figure.highlight_label)) for figure, table in built])
        for section, built in sections
    ]
    footer = _("%(institution)s · %(title)s · generado el %(when)s") % {
        "institution": run.institution.name, "title": run.title,
        "when": formats.date_format(timezone.localtime(generated_at), "SHORT_DATETIME_FORMAT")}
    pdf_bytes = report_pdf(title=run.title, institution_name=run.institution.name,
                           lines=lines, sections=pdf_sections, footer=footer,
                           compress=compress)
    tables = [table for _section, built in sections for _figure, table in built]
    xlsx_bytes = report_xlsx(title=run.title, lines=lines, tables=tables)
    return pdf_bytes, xlsx_bytes


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        text = "; ".join(exc.messages)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:ERROR_MAX_CHARS]


def report_generate(*, run_id: int) -> str:
    """Build and store the run's files; e-mail the recipients. Returns the outcome."""
    started = timezone.now()
    claimed = (ReportRun.objects.filter(pk=run_id)
               .filter(Q(status=ReportStatus.PENDING)
                       | Q(status=ReportStatus.RUNNING, started_at__lt=started - STALE_RUNNING))
               .update(status=ReportStatus.RUNNING, started_at=started, error=""))
    if not claimed:
        return "skipped"
    run = ReportRun.objects.select_related("institution").get(pk=run_id)
    try:
        pdf_bytes, xlsx_bytes = report_build(run)
        stem = f"reporte-{run.pk}-{run.period_start:%Y%m%d}-{run.period_end:%Y%m%d}"
        with transaction.atomic():
            run.pdf.save(f"{stem}.pdf", ContentFile(pdf_bytes), save=False)
            run.xlsx.save(f"{stem}.xlsx", ContentFile(xlsx_bytes), save=False)
            finished = (ReportRun.objects
                        .filter(pk=run.pk, status=ReportStatus.RUNNING, started_at=started)
                        .update(status=ReportStatus.DONE, finished_at=timezone.now(),
                                pdf=run.pdf.name, xlsx=run.xlsx.name))
            if finished:
                _notify_recipients(run)
    except Exception as exc:  # every failure ends the run as failed, with its reason
        logger.exception("report %s failed", run_id)
        (ReportRun.objects.filter(pk=run_id, status=ReportStatus.RUNNING, started_at=started)
         .update(status=ReportStatus.FAILED, finished_at=timezone.now(),
                 error=_error_text(exc)))
        return "failed"
    return "done" if finished else "skipped"


def _notify_recipients(run: ReportRun) -> None:
    """One e-mail per recipient (outbox, same transaction), with the download page's link."""
    download_url = settings.SITE_URL.rstrip("/") + reverse("console:dashboards-reports")
    for recipient in parse_recipients(run.recipients):
        outbox_enqueue_email(
            dedupe_key=f"report-ready:{run.pk}:{recipient.lower()}", recipient=recipient,
            template=EMAIL_TEMPLATE, institution=run.institution,
            context={"run": run, "institution": run.institution,
                     "download_url": download_url},
        )
