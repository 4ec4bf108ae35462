"""Routing rules in the admin: an ordered, editable list, conditions limited to the rule's
institution, and a dry run ("probar") that shows which rule a request would match."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from ventanilla.catalog.models import (
    Area,
    Channel,
    Institution,
    Organization,
    TicketType,
    Topic,
)
from ventanilla.core.models import Comuna, Region
from ventanilla.routing.models import RoutingRule
from ventanilla.routing.services import routing_first_match, rules_for
from ventanilla.tickets.models import Urgency

# Conditions whose entries belong to one institution (checked against the rule's).
INSTITUTION_FIELDS = {
    "ticket_types": TicketType,
    "topics": Topic,
    "organizations": Organization,
}


class RoutingRuleForm(forms.ModelForm):
    urgencies = forms.MultipleChoiceField(
        label=_("urgencias"), choices=Urgency.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Ninguna marcada = todas."),
    )

    class Meta:
        model = RoutingRule
        fields = ["institution", "name", "position", "is_active", "ticket_types", "topics",
                  "channels", "regions", "comunas", "organizations", "urgencies", "keywords",
                  "area", "priority"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        institution_id = self._institution_id()
        if institution_id:
            # Offer only the rule's institution entries (the check in clean() is the guard).
            for name, model in (*INSTITUTION_FIELDS.items(), ("area", Area)):
                if name in self.fields:
                    self.fields[name].queryset = model.objects.filter(
                        institution_id=institution_id)

    def _institution_id(self):
        if self.is_bound:
            raw = self.data.get(self.add_prefix("institution"))
            return int(raw) if raw and str(raw).isdigit() else None
        if self.instance.pk:
            return self.instance.institution_id
        raw = self.initial.get("institution")
        return int(raw) if raw and str(raw).isdigit() else None

    def clean(self):
        cleaned = super().clean()
        institution = cleaned.get("institution")
        if institution is None:
            return cleaned
        errors = {}
        area = cleaned.get("area")
        if area is not None and area.institution_id != institution.pk:
            errors["area"] = _("El área debe ser de la institución de la regla.")
        for name in INSTITUTION_FIELDS:
            foreign = [str(entry) for entry in cleaned.get(name) or []
                       if entry.institution_id != institution.pk]
            if foreign:
                errors[name] = _("No son de la institución de la regla: %(entries)s.") % {
                    "entries": ", ".join(foreign)}
        comunas, regions = cleaned.get("comunas") or [], cleaned.get("regions") or []
        if comunas and regions:
            region_ids = {region.pk for region in regions}
            outside = [c.name for c in comunas if c.region_id not in region_ids]
            if outside:
                errors["comunas"] = _(
                    "Estas comunas no están en las regiones elegidas (la regla nunca "
                    "coincidiría): %(names)s.") % {"names": ", ".join(outside)}
        if errors:
            raise ValidationError(errors)
        return cleaned


class DryRunForm(forms.Form):
    """A pretend request: which rule would decide its area?"""

    institution = forms.ModelChoiceField(label=_("institución"),
                                         queryset=Institution.objects.all())
    ticket_type = forms.ModelChoiceField(label=_("motivo"), queryset=TicketType.objects.all())
    topic = forms.ModelChoiceField(label=_("tema"), queryset=Topic.objects.all())
    channel = forms.ModelChoiceField(label=_("canal"), queryset=Channel.objects.all())
    region = forms.ModelChoiceField(label=_("región"), queryset=Region.objects.all(),
                                    required=False)
    comuna = forms.ModelChoiceField(label=_("comuna"), queryset=Comuna.objects.all(),
                                    required=False)
    organization = forms.ModelChoiceField(label=_("establecimiento"),
                                          queryset=Organization.objects.all(), required=False)
    urgency = forms.ChoiceField(label=_("urgencia"), choices=Urgency.choices,
                                initial=Urgency.MEDIUM)
    subject = forms.CharField(label=_("asunto"), required=False)
    detail = forms.CharField(label=_("detalle"), required=False, widget=forms.Textarea)

    def clean(self):
        cleaned = super().clean()
        institution = cleaned.get("institution")
        for name in ("ticket_type", "topic", "organization"):
            entry = cleaned.get(name)
            if institution and entry is not None and entry.institution_id != institution.pk:
                self.add_error(name, _("No es de la institución elegida."))
        return cleaned


class _DryRunDraft:
    """Just the attributes ``routing_decide`` reads from a TicketDraft."""

    def __init__(self, data: dict):
        for key in ("institution", "ticket_type", "topic", "channel", "region", "comuna",
                    "organization", "urgency"):
            setattr(self, key, data.get(key))
        self.subject = data.get("subject") or ""
        self.detail = data.get("detail") or ""


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ["position", "name", "institution", "area", "priority", "is_active"]
    list_display_links = ["name"]
    list_editable = ["position", "is_active"]
    list_filter = ["institution", "is_active", "area"]
    search_fields = ["name", "keywords"]
    ordering = ["institution", "position", "id"]
    filter_horizontal = ["ticket_types", "topics", "channels", "regions", "comunas",
                         "organizations"]
    list_select_related = ["institution", "area"]
    fieldsets = [
        (None, {"fields": ["institution", "name", "position", "is_active"]}),
        (_("Condiciones (vacías = todas)"), {"fields": [
            "ticket_types", "topics", "channels", "regions", "comunas", "organizations",
            "urgencies", "keywords"]}),
        (_("Resultado"), {"fields": ["area", "priority"]}),
    ]

    def get_urls(self):
        return [
            path("probar/", self.admin_site.admin_view(self.dry_run_view),
                 name="routing_routingrule_dry_run"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}),
                         "dry_run_url": reverse("admin:routing_routingrule_dry_run")}
        return super().changelist_view(request, extra_context)

    def dry_run_view(self, request):
        form = DryRunForm(request.POST or None)
        decision = None
        tried = False
        if request.method == "POST" and form.is_valid():
            tried = True
            data = form.cleaned_data
            decision = routing_first_match(
                draft=_DryRunDraft(data), rules=rules_for(institution_id=data["institution"].pk))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "title": _("Probar reglas de derivación"),
            "form": form, "decision": decision, "tried": tried,
            "default_area": form.cleaned_data["topic"].default_area
            if tried and decision is None else None,
        }
        return TemplateResponse(request, "admin/routing/routingrule/dry_run.html", context)
