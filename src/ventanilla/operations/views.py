"""The availability page of the console (/consola/disponibilidad/): system administrators and
supervisors. Installation-wide figures, no personal data."""

from __future__ import annotations

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
from ventanilla.operations.management.commands.availability import parse_month
from ventanilla.operations.selectors import availability_month

AVAILABILITY_ROLES = (Role.SUPERVISOR, Role.SYSADMIN)


class MonthForm(AccessibleFormMixin, forms.Form):
    month = forms.CharField(
        label=gettext_lazy("Mes"), max_length=7,
        widget=forms.TextInput(attrs={"type": "month", "inputmode": "numeric",
                                      "placeholder": "2026-10"}),
        help_text=gettext_lazy("Año y mes, por ejemplo 2026-10 (hora de Chile)."))

    def clean_month(self) -> tuple[int, int]:
        parsed = parse_month(self.cleaned_data["month"].strip())
        if parsed is None:
            raise forms.ValidationError(
                _("Escriba el mes como AAAA-MM, por ejemplo 2026-10."), code="invalid")
        return parsed


@require_safe
@login_required
def availability(request: HttpRequest) -> HttpResponse:
    staff = staff_context(request)
    if not staff.has_access:
        return forbidden_response(
            request, None, title=_("Su cuenta no tiene acceso a la consola"),
            explanation=_("La consola es para funcionarios con un rol activo en una "
                          "institución."))
    if staff.active.role not in AVAILABILITY_ROLES:
        return forbidden_response(
            request, staff, title=_("Su rol no permite ver la disponibilidad"),
            explanation=_("El informe de disponibilidad es para supervisores y "
                          "administradores del sistema."))
    today = timezone.localdate()
    current = f"{today.year:04d}-{today.month:02d}"
    form = MonthForm(request.GET if "month" in request.GET else None,
                     initial={"month": current})
    report = None
    if not form.is_bound:
        report = availability_month(year=today.year, month=today.month)
    elif form.is_valid():
        year, month = form.cleaned_data["month"]
        report = availability_month(year=year, month=month)
    return render(request, "operations/availability.html", {
        "staff": staff, "form": form, "report": report,
    })
