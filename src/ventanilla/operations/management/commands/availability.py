"""``ventanilla availability [--month YYYY-MM] [--json]``: the monthly availability report
(the same figures as the console page /consola/disponibilidad/)."""

from __future__ import annotations

import json
import re

from django.core.management.base import BaseCommand, CommandError
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ventanilla.operations.selectors import (
    availability_as_dict,
    availability_month,
    cause_labels,
    format_duration,
)

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str) -> tuple[int, int] | None:
    match = MONTH.match(value or "")
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 2000 <= year <= 9998):
        return None
    return year, month


def _yes(flag: bool | None) -> str:
    if flag is None:
        return _("sin datos")
    return _("cumple") if flag else _("NO cumple")


class Command(BaseCommand):
    help = ("Availability of a month against the target (99 %), its outages, and the year's "
            "outage count and longest outage against their limits.")

    def add_arguments(self, parser):
        parser.add_argument("--month", default=None, metavar="YYYY-MM",
                            help="Month (Chile time); default the current one.")
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args, month: str | None, **options):
        today = timezone.localdate()
        parsed = parse_month(month) if month else (today.year, today.month)
        if parsed is None:
            raise CommandError(_("--month debe tener la forma AAAA-MM, por ejemplo 2026-10."))
        report = availability_month(year=parsed[0], month=parsed[1])
        if options["json"]:
            self.stdout.write(_dumps(availability_as_dict(report)))
            return
        self.stdout.write(self._text(report))

    @staticmethod
    def _text(report) -> str:
        def when(moment):
            return formats.date_format(timezone.localtime(moment), "d-m-Y H:i")

        lines = [
            _("Disponibilidad de %(month)02d-%(year)s (hora de Chile)%(progress)s") % {
                "month": report.month, "year": report.year,
                "progress": _(", en curso hasta %(now)s") % {"now": when(report.measured_until)}
                if report.in_progress else ""},
            _("  Disponibilidad: %(percent)s %% (meta %(target)s %%): %(verdict)s") % {
                "percent": report.percent if report.percent is not None else "—",
                "target": report.target_percent, "verdict": _yes(report.meets_target)},
            _("  Sobre el tiempo observado: %(percent)s %%") % {
                "percent": report.observed_percent
                if report.observed_percent is not None else "—"},
            _("  Transcurrido %(elapsed)s; mantención programada %(maintenance)s; disponible "
              "%(up)s; caído %(down)s; sin sondeos %(unknown)s (tramo más largo %(gap)s)") % {
                "elapsed": format_duration(report.elapsed),
                "maintenance": format_duration(report.maintenance),
                "up": format_duration(report.up), "down": format_duration(report.down),
                "unknown": format_duration(report.unknown),
                "gap": format_duration(report.longest_unknown)},
            _("Cortes del mes: %(count)s") % {"count": len(report.outages)},
        ]
        for outage in report.outages:
            note = (_(" (comenzó el mes anterior)") if outage.began_before_month else
                    _(" (continúa el mes siguiente)") if outage.continues_after_month else "")
            end = _("en curso") if outage.ongoing else when(outage.end)
            lines.append(f"  {when(outage.start)} – {end}  {format_duration(outage.duration)}  "
                         f"{cause_labels(outage.causes)}{note}")
        lines.append(
            _("Año %(year)s: %(count)s cortes (límite %(max)s): %(verdict)s; el más largo "
              "%(longest)s (límite %(limit)s): %(verdict_longest)s") % {
                "year": report.year, "count": report.year_outage_count,
                "max": report.max_outages_per_year, "verdict": _yes(report.meets_outage_count),
                "longest": format_duration(report.longest_outage),
                "limit": format_duration(report.max_outage),
                "verdict_longest": _yes(report.meets_longest_outage)})
        return "\n".join(lines)


def _dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
