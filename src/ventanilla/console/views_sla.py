"""Console pages about deadlines: the compliance report (aggregate figures, no personal data)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from ventanilla.accounts.models import Role
from ventanilla.console.context import forbidden_response, staff_context
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.sla.selectors import GROUP_BY, sla_compliance

COMPLIANCE_ROLES = (Role.SUPERVISOR, Role.TRIAGE, Role.SYSADMIN)
MAX_PERIOD_DAYS = 3 * 366


def _current_month(today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first, last


class CompliancePeriodForm(AccessibleFormMixin, forms.Form):
    start = forms.DateField(label=gettext_lazy("Desde"),
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            help_text=gettext_lazy("Requerimientos recibidos desde este día."))
    end = forms.DateField(label=gettext_lazy("Hasta"),
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                          help_text=gettext_lazy("Incluye los recibidos este día."))
    group_by = forms.ChoiceField(label=gettext_lazy("Agrupar por"),
                                 choices=list(GROUP_BY.items()))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("La fecha final no puede ser anterior a la inicial."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("end", _("Elija un período de hasta tres años."))
        return data


@require_safe
@login_required
def compliance(request: HttpRequest) -> HttpResponse:
    staff = staff_context(request)
    if not staff.has_access:
        return forbidden_response(
            request, None, title=_("Su cuenta no tiene acceso a la consola"),
            explanation=_("La consola es para funcionarios con un rol activo en una "
                          "institución."))
    membership = staff.active
    if membership.role not in COMPLIANCE_ROLES:
        return forbidden_response(
            request, staff, title=_("Su rol no permite ver el cumplimiento de plazos"),
            explanation=_("El informe de cumplimiento es para supervisores, administradores "
                          "del canal y administradores del sistema."))
    first, last = _current_month(timezone.localdate())
    data = request.GET if request.GET else None
    form = CompliancePeriodForm(data, initial={"start": first, "end": last,
                                               "group_by": "stage"})
    report = None
    if data is None:
        start, end, group_by = first, last, "stage"
    elif form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        group_by = form.cleaned_data["group_by"]
    else:
        start = end = group_by = None
    if start is not None:
        tz = timezone.get_current_timezone()
        report = sla_compliance(
            institution=membership.institution,
            start=datetime.combine(start, time.min, tzinfo=tz),
            end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
            group_by=group_by,
        )
    return render(request, "console/sla/compliance.html", {
        "staff": staff, "form": form, "report": report, "period_start": start,
        "period_end": end, "group_by": group_by,
        "group_label": GROUP_BY.get(group_by or "", ""),
    })
