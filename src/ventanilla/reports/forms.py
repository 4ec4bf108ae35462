"""The dashboard filters (GET) and the periodic report request (POST)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.catalog.models import Area, Channel
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.core.models import Region
from ventanilla.reports.tables import DashboardFilters

MAX_PERIOD_DAYS = 3 * 366
EARLIEST = date(2000, 1, 1)
MAX_RECIPIENTS = 20
DATE_WIDGET = {"type": "date"}


def one_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months, today included."""
    return one_year_before(today) + timedelta(days=1), today


@dataclass(frozen=True)
class QuickPeriod:
    label: str
    date_from: date
    date_to: date


def quick_periods(today: date) -> list[QuickPeriod]:
    start_12, _end = default_period(today)
    return [
        QuickPeriod(_("Últimos 30 días"), today - timedelta(days=29), today),
        QuickPeriod(_("Últimos 12 meses"), start_12, today),
        QuickPeriod(_("Este año"), date(today.year, 1, 1), today),
        QuickPeriod(_("Año anterior"), date(today.year - 1, 1, 1),
                    date(today.year - 1, 12, 31)),
    ]


def publishing_periods(today: date) -> list[QuickPeriod]:
    """The periods institutions publish on (March, August and December reports), most
    recent first, for this year and the previous one; only periods already begun."""
    periods = []
    for year in (today.year, today.year - 1):
        periods += [
            QuickPeriod(_("Reporte de diciembre %(year)s (agosto a noviembre)") % {"year": year},
                        date(year, 8, 1), date(year, 11, 30)),
            QuickPeriod(_("Reporte de agosto %(year)s (marzo a julio)") % {"year": year},
                        date(year, 3, 1), date(year, 7, 31)),
            QuickPeriod(_("Reporte de marzo %(year)s (enero y febrero)") % {"year": year},
                        date(year, 1, 1), date(year, 2, 28 if year % 4 else 29)),
        ]
    return [p for p in periods if p.date_from <= today]


class _DimensionFields(forms.Form):
    """Region, area and channel, each optional; areas are the institution's own only."""

    region = forms.ModelChoiceField(
        label=gettext_lazy("Región"), queryset=Region.objects.all(), required=False,
        to_field_name="code", empty_label=gettext_lazy("Todas las regiones"))
    area = forms.ModelChoiceField(
        label=gettext_lazy("Área"), queryset=Area.objects.none(), required=False,
        empty_label=gettext_lazy("Todas las áreas"))
    channel = forms.ModelChoiceField(
        label=gettext_lazy("Canal"), queryset=Channel.objects.filter(is_active=True),
        required=False, empty_label=gettext_lazy("Todos los canales"))

    def __init__(self, *args, institution, **kwargs):
        super().__init__(*args, **kwargs)
        self.institution = institution
        self.fields["area"].queryset = Area.objects.filter(institution=institution,
                                                           is_active=True)
        error = {"invalid_choice": _("Elija una opción de la lista.")}
        for name in ("region", "area", "channel"):
            self.fields[name].error_messages.update(error)

    def _check_period(self, start_field: str, end_field: str) -> None:
        start = self.cleaned_data.get(start_field)
        end = self.cleaned_data.get(end_field)
        for name, value in ((start_field, start), (end_field, end)):
            if value is not None and value < EARLIEST:
                self.add_error(name, _("Elija una fecha desde el año 2000."))
                return
        if start and end:
            if end < start:
                self.add_error(end_field,
                               _("La fecha final no puede ser anterior a la inicial."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error(end_field, _("Elija un período de hasta tres años."))


class DashboardFilterForm(AccessibleFormMixin, _DimensionFields):
    """GET parameters ``desde``, ``hasta``, ``region``, ``area``, ``canal``."""

    desde = forms.DateField(
        label=gettext_lazy("Desde"), required=False,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        help_text=gettext_lazy("Requerimientos recibidos desde este día."))
    hasta = forms.DateField(
        label=gettext_lazy("Hasta"), required=False,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        help_text=gettext_lazy("Incluye este día."))
    field_order = ["desde", "hasta", "region", "area", "channel"]

    def __init__(self, data=None, *, institution, today: date):
        self.today = today
        self.default_from, self.default_to = default_period(today)
        super().__init__(data, institution=institution, initial={
            "desde": self.default_from, "hasta": self.default_to})
        error = {"invalid": _("Escriba una fecha válida (día, mes y año).")}
        self.fields["desde"].error_messages.update(error)
        self.fields["hasta"].error_messages.update(error)
        # "canal" in the address bar, like the other Spanish parameter names.
        self.fields["canal"] = self.fields.pop("channel")

    def clean(self):
        data = super().clean()
        if "desde" in data and data.get("desde") is None and not self.errors.get("desde"):
            data["desde"] = self.default_from
        if "hasta" in data and data.get("hasta") is None and not self.errors.get("hasta"):
            data["hasta"] = self.default_to
        self._check_period("desde", "hasta")
        return data

    def filters(self) -> DashboardFilters:
        data = self.cleaned_data
        return DashboardFilters(
            institution=self.institution, date_from=data["desde"], date_to=data["hasta"],
            region=data.get("region"), area=data.get("area"), channel=data.get("canal"))

    def query_params(self, **overrides) -> dict[str, str]:
        """The current filters as GET parameters (for export links and quick periods)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        params = {
            "desde": (data.get("desde") or self.default_from).isoformat(),
            "hasta": (data.get("hasta") or self.default_to).isoformat(),
        }
        if data.get("region"):
            params["region"] = data["region"].code
        if data.get("area"):
            params["area"] = str(data["area"].pk)
        if data.get("canal"):
            params["canal"] = str(data["canal"].pk)
        params.update({key: value for key, value in overrides.items() if value is not None})
        return params

    def query_string(self, **overrides) -> str:
        return urlencode(self.query_params(**overrides))


def parse_recipients(text: str) -> list[str]:
    """Comma- (or semicolon-, or line-) separated e-mails; raises ValidationError in Spanish."""
    recipients: list[str] = []
    for item in re.split(r"[,;\s]+", text or ""):
        item = item.strip()
        if not item:
            continue
        try:
            validate_email(item)
        except ValidationError:
            raise ValidationError(
                _("«%(value)s» no es un correo válido.") % {"value": item[:80]},
                code="invalid") from None
        if item.lower() not in {r.lower() for r in recipients}:
            recipients.append(item)
    if len(recipients) > MAX_RECIPIENTS:
        raise ValidationError(_("Indique a lo más %(max)s correos.") % {"max": MAX_RECIPIENTS},
                              code="too_many")
    return recipients


class ReportRequestForm(AccessibleFormMixin, _DimensionFields):
    title = forms.CharField(
        label=gettext_lazy("Título"), max_length=200, required=False,
        help_text=gettext_lazy("Si lo deja vacío: «Reporte de gestión» y el período."))
    period_start = forms.DateField(
        label=gettext_lazy("Desde"), widget=forms.DateInput(attrs=DATE_WIDGET,
                                                            format="%Y-%m-%d"))
    period_end = forms.DateField(
        label=gettext_lazy("Hasta"), widget=forms.DateInput(attrs=DATE_WIDGET,
                                                           format="%Y-%m-%d"),
        help_text=gettext_lazy("Incluye este día."))
    recipients = forms.CharField(
        label=gettext_lazy("Enviar aviso a"), required=False, max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "email"}),
        help_text=gettext_lazy("Correos separados por comas (opcional). Reciben un enlace a "
                               "esta página cuando el reporte esté listo."))
    field_order = ["title", "period_start", "period_end", "region", "area", "channel",
                   "recipients"]

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        error = {"invalid": _("Escriba una fecha válida (día, mes y año)."),
                 "required": _("Indique la fecha.")}
        self.fields["period_start"].error_messages.update(error)
        self.fields["period_end"].error_messages.update(error)

    def clean_recipients(self) -> list[str]:
        return parse_recipients(self.cleaned_data.get("recipients", ""))

    def clean(self):
        data = super().clean()
        self._check_period("period_start", "period_end")
        start = data.get("period_start")
        if start and start > self.today and "period_start" not in self.errors:
            self.add_error("period_start", _("El período no puede empezar en el futuro."))
        return data

    def filters_json(self) -> dict:
        data = self.cleaned_data
        return {
            "region": data["region"].code if data.get("region") else None,
            "area": data["area"].pk if data.get("area") else None,
            "channel": data["channel"].pk if data.get("channel") else None,
        }
