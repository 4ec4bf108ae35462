from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ventanilla.core.admin import ReadOnlyAdmin
from ventanilla.sla.models import (
    CalendarException,
    CalendarSettings,
    SlaAlert,
    SlaPolicy,
    Unit,
)
from ventanilla.sla.services import parse_workdays

STAGE_FIELDS = ("ack", "plan", "final")


class CalendarSettingsForm(forms.ModelForm):
    class Meta:
        model = CalendarSettings
        fields = ["institution", "workdays", "work_start", "work_end", "holiday_region"]

    def clean_workdays(self):
        raw = self.cleaned_data["workdays"]
        try:
            days = parse_workdays(raw)
        except ValueError:
            raise ValidationError(
                _("Escriba números de día entre 0 (lunes) y 6 (domingo), separados por coma."),
            ) from None
        return ",".join(str(day) for day in sorted(days))

    def clean(self):
        data = super().clean()
        start, end = data.get("work_start"), data.get("work_end")
        if start and end and end <= start:
            self.add_error("work_end", _("La jornada debe terminar después de comenzar."))
        return data


@admin.register(CalendarSettings)
class CalendarSettingsAdmin(admin.ModelAdmin):
    form = CalendarSettingsForm
    list_display = ["institution", "workdays", "work_start", "work_end", "holiday_region"]


@admin.register(CalendarException)
class CalendarExceptionAdmin(admin.ModelAdmin):
    list_display = ["day", "institution", "is_working", "description"]
    list_filter = ["institution", "is_working"]
    date_hierarchy = "day"


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "institution", "name", "is_active", "ticket_type", "topic", "urgency",
            "ack_amount", "ack_unit", "plan_amount", "plan_unit", "final_amount", "final_unit",
            "at_risk_ratio",
        ]

    def clean(self):
        data = super().clean()
        amounts = {stage: data.get(f"{stage}_amount") for stage in STAGE_FIELDS}
        if all(amount is None for amount in amounts.values()):
            raise ValidationError(_("Indique el plazo de al menos una etapa."))
        for stage, amount in amounts.items():
            if (amount is not None and data.get(f"{stage}_unit") == Unit.BUSINESS_DAYS
                    and amount != amount.to_integral_value()):
                self.add_error(f"{stage}_amount",
                               _("Los días hábiles se cuentan enteros: indique un número entero."))
        institution = data.get("institution")
        for name in ("ticket_type", "topic"):
            entry = data.get(name)
            if institution and entry is not None and entry.institution_id != institution.pk:
                self.add_error(name, _("Elija una opción de la misma institución."))
        return data


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "name", "institution", "ticket_type", "topic", "urgency", "ack_amount", "ack_unit",
        "plan_amount", "plan_unit", "final_amount", "final_unit", "at_risk_ratio", "is_active",
    ]
    list_filter = ["institution", "is_active", "ticket_type"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["institution", "name", "is_active"]}),
        (_("A qué requerimientos se aplica"), {
            "fields": ["ticket_type", "topic", "urgency"],
            "description": _("Se aplica la política más específica: motivo + tema + urgencia, "
                             "motivo + tema, motivo + urgencia, y por último solo el motivo."),
        }),
        (_("Plazos por etapa (vacío: la etapa no tiene plazo)"), {
            "fields": [("ack_amount", "ack_unit"), ("plan_amount", "plan_unit"),
                       ("final_amount", "final_unit"), "at_risk_ratio"],
        }),
    ]


@admin.register(SlaAlert)
class SlaAlertAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "stage", "threshold", "created_at"]
    list_filter = ["threshold", "stage"]
    search_fields = ["ticket__folio"]
    readonly_fields = ["ticket", "stage", "threshold", "created_at"]

