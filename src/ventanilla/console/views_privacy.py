"""Console: personal data. The access log ("who saw whose data", with its CSV export), a
person's data exported at the counter, erasure ("supresión") and the erasure requests people
made from their account. Supervisors and system administrators of the active institution
only; everyone else gets 403, and another institution's events are never shown.

Reasons are asked where the action takes personal data out of the platform or destroys it
(data export, access-log export, erasure): there the staff member is not working a case,
and the reason is what a later review needs. Opening a ticket or a person's page is the
daily work of operators and areas: it is recorded without a reason (one INSERT).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from ventanilla.accounts.models import Membership, Role
from ventanilla.accounts.reauth import require_recent_auth
from ventanilla.citizens import privacy
from ventanilla.citizens.models import Citizen, ErasureRequest, ErasureStatus
from ventanilla.citizens.selectors import access_log, access_log_subjects, people_matching
from ventanilla.console.context import StaffContext, forbidden_response
from ventanilla.console.views import _not_found, staff_required
from ventanilla.core.downloads import download_response
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.core.models import AuditCategory
from ventanilla.core.rut import rut_normalize
from ventanilla.core.services import audit_record
from ventanilla.reports.exports import neutralise_formula
from ventanilla.tickets.models import Ticket
from ventanilla.tickets.selectors_people import citizen_facts_in_institution

PRIVACY_ROLES = {Role.SUPERVISOR, Role.SYSADMIN}
PAGE_SIZE = 50
MAX_PAGE = 2000

ACTION_LABELS = {
    "ticket.viewed": gettext_lazy("Vio un requerimiento"),
    "ticket.attachment_downloaded": gettext_lazy("Descargó un adjunto"),
    "citizen.viewed": gettext_lazy("Vio la ficha de una persona"),
    "citizen.lookup": gettext_lazy("Buscó a una persona"),
    "citizen.merged": gettext_lazy("Fusionó registros de una persona"),
    "citizen.merge_undone": gettext_lazy("Deshizo una fusión"),
    "paper.page_viewed": gettext_lazy("Vio un formulario en papel"),
    "api.ticket_read": gettext_lazy("Leyó un requerimiento por la API"),
    "api.ticket_list": gettext_lazy("Listó requerimientos por la API"),
    "privacy.person_exported": gettext_lazy("Exportó los datos de una persona"),
    "privacy.access_log_viewed": gettext_lazy("Revisó los accesos a una persona"),
    "privacy.access_log_exported": gettext_lazy("Exportó el registro de accesos"),
    "privacy.self_exported": gettext_lazy("La persona descargó sus datos"),
    "privacy.erasure_requested": gettext_lazy("La persona pidió la supresión"),
    "privacy.person_erased": gettext_lazy("Suprimió los datos de una persona"),
    "privacy.erasure_refused": gettext_lazy("Rechazó una supresión"),
    "privacy.retention_run": gettext_lazy("Anonimización por regla de conservación"),
}


def _privacy_staff(request, staff: StaffContext) -> Membership | HttpResponse:
    membership = staff.active
    if membership is None or membership.role not in PRIVACY_ROLES:
        return forbidden_response(
            request, staff, title=_("Su rol no permite revisar datos personales"),
            explanation=_("El registro de accesos, la exportación y la supresión de datos "
                          "personales son para supervisores y administradores del sistema."))
    return membership


def _person_in_institution(citizen_id: int, institution_id: int) -> Citizen | None:
    """The person only if they have data in this institution (else 404, like a missing one)."""
    citizen = Citizen.objects.filter(pk=citizen_id).first()
    if citizen is None:
        return None
    if not Ticket.objects.filter(citizen=citizen, institution_id=institution_id).exists():
        return None
    return citizen


# --- the access log ------------------------------------------------------------------------------

class AccessLogFilterForm(AccessibleFormMixin, forms.Form):
    categoria = forms.ChoiceField(
        label=gettext_lazy("Tipo de evento"), required=False,
        choices=[(AuditCategory.PERSONAL_DATA, AuditCategory.PERSONAL_DATA.label),
                 (AuditCategory.PRIVACY, AuditCategory.PRIVACY.label),
                 ("todos", gettext_lazy("Todos"))])
    funcionario = forms.EmailField(label=gettext_lazy("Funcionario (correo)"), required=False,
                                   max_length=254)
    persona = forms.CharField(label=gettext_lazy("Persona (RUT o correo)"), required=False,
                              max_length=254)
    persona_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    folio = forms.RegexField(label=gettext_lazy("Folio"), required=False,
                             regex=r"^[A-Za-z0-9-]{1,24}$", error_messages={
                                 "invalid": gettext_lazy("Escriba un folio como "
                                                         "ABC-2026-000123.")})
    accion = forms.ChoiceField(label=gettext_lazy("Acción"), required=False)
    desde = forms.DateField(label=gettext_lazy("Desde"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    hasta = forms.DateField(label=gettext_lazy("Hasta"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accion"].choices = [("", _("Todas"))] + [
            (key, str(label)) for key, label in ACTION_LABELS.items()]

    def clean(self):
        data = super().clean()
        if data.get("desde") and data.get("hasta") and data["desde"] > data["hasta"]:
            self.add_error("hasta", _("La fecha final es anterior a la inicial."))
        person = data.get("persona") or ""
        if person and "@" not in person:
            try:
                rut_normalize(person)
            except ValidationError as error:
                self.add_error("persona", error)
        return data

    def query(self, *, institution_id: int):
        data = self.cleaned_data
        category = data.get("categoria") or AuditCategory.PERSONAL_DATA
        citizen_ids = None
        if data.get("persona_id"):
            citizen_ids = [data["persona_id"]]
        if data.get("persona"):
            matched = people_matching(text=data["persona"])
            citizen_ids = matched if citizen_ids is None else [
                pk for pk in citizen_ids if pk in matched]
        return access_log(
            institution_id=institution_id,
            category="" if category == "todos" else category,
            actor_email=data.get("funcionario") or "", citizen_ids=citizen_ids,
            folio=data.get("folio") or "", action=data.get("accion") or "",
            date_from=_day_start(data.get("desde")),
            date_to=_day_start(data["hasta"] + timedelta(days=1)) if data.get("hasta") else None)


def _day_start(day) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


def _rows(events, institution) -> list[dict]:
    folios, people = access_log_subjects(events)
    labels: dict[int, str] = {}  # one look-up per person, not per row
    rows = []
    for event in events:
        folio = (folios.get(int(event.object_id))
                 if event.object_type == "tickets.ticket" and event.object_id.isdigit() else None)
        person = people.get(event.subject_citizen_id)
        rows.append({
            "event": event,
            "action": ACTION_LABELS.get(event.action, event.action),
            "actor": event.actor.email if event.actor_id else _("Sistema o integración"),
            "folio": folio,
            "person": person,
            "person_label": (labels.setdefault(person.pk, _person_label(person, institution))
                             if person is not None else ""),
        })
    return rows


def _person_label(person: Citizen, institution) -> str:
    """The person as this institution knows them (what its own tickets carry), never the
    name another institution recorded."""
    if person.anonymised_at:
        return _("Persona suprimida #%(id)s") % {"id": person.pk}
    facts = citizen_facts_in_institution(citizen=person, institution=institution)
    return (facts.full_name or facts.email or facts.rut_display
            or _("Persona #%(id)s") % {"id": person.pk})


@require_safe
@staff_required
def access_log_view(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    membership = _privacy_staff(request, staff)
    if isinstance(membership, HttpResponse):
        return membership
    form = AccessLogFilterForm(request.GET or None)
    rows, page, has_next = [], 1, False
    person = None
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        status = 200
        if not form.is_bound:
            form = AccessLogFilterForm({"categoria": AuditCategory.PERSONAL_DATA})
            form.is_valid()
        try:
            page = min(max(int(request.GET.get("page", "1")), 1), MAX_PAGE)
        except ValueError:
            page = 1
        start = (page - 1) * PAGE_SIZE
        events = list(form.query(institution_id=membership.institution_id)
                      [start:start + PAGE_SIZE + 1])
        has_next = len(events) > PAGE_SIZE
        rows = _rows(events[:PAGE_SIZE], membership.institution)
        person_id = form.cleaned_data.get("persona_id")
        if person_id:
            person = _person_in_institution(person_id, membership.institution_id)
            if person is not None:
                # Looking at who saw a person's data is itself a look at that person.
                audit_record(actor=request.user, action="privacy.access_log_viewed",
                             obj=person, institution=membership.institution_id)
    return render(request, "console/privacy/access_log.html", {
        "staff": staff, "form": form, "rows": rows, "person": person,
        "page": page, "has_previous": page > 1, "has_next": has_next,
        "previous_page": page - 1, "next_page": page + 1,
        "query": request.GET.urlencode(),
    }, status=status)


class ReasonForm(AccessibleFormMixin, forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motivo"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Queda en el registro de auditoría."),
        error_messages={"required": gettext_lazy("Indique el motivo.")})


CSV_COLUMNS = [gettext_lazy("Fecha"), gettext_lazy("Funcionario"), gettext_lazy("Acción"),
               gettext_lazy("Folio"), gettext_lazy("Persona"), gettext_lazy("Motivo"),
               gettext_lazy("Categoría")]
CSV_MAX_ROWS = 100_000


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
@require_recent_auth
def access_log_export(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    """GET: ask the reason; POST: the CSV of the filtered log (the filters travel in the
    query string), recorded with its reason."""
    membership = _privacy_staff(request, staff)
    if isinstance(membership, HttpResponse):
        return membership
    filters = AccessLogFilterForm(request.GET or {"categoria": AuditCategory.PERSONAL_DATA})
    if not filters.is_valid():
        return redirect(f"{reverse('console:access-log')}?{request.GET.urlencode()}")
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "console/privacy/access_log_export.html", {
            "staff": staff, "form": form, "query": request.GET.urlencode(),
        }, status=400 if form.is_bound else 200)
    events = list(filters.query(institution_id=membership.institution_id)[:CSV_MAX_ROWS])
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([str(c) for c in CSV_COLUMNS])
    for row in _rows(events, membership.institution):
        event = row["event"]
        writer.writerow([neutralise_formula(value) for value in (
            timezone.localtime(event.occurred_at).isoformat(), row["actor"],
            str(row["action"]), row["folio"] or "", row["person_label"], event.reason,
            event.get_category_display())])
    audit_record(actor=request.user, action="privacy.access_log_exported",
                 obj=membership.institution, institution=membership.institution_id,
                 reason=form.cleaned_data["reason"],
                 data={"filters": request.GET.urlencode()[:1000], "rows": len(events)})
    filename = f"accesos-{timezone.localdate().isoformat()}.csv"
    return download_response(buffer.getvalue().encode("utf-8"), filename=filename,
                             content_type="text/csv; charset=utf-8")


# --- a person's data: export and erasure ---------------------------------------------------

@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
@require_recent_auth
def person_export(request: HttpRequest, staff: StaffContext, citizen_id: int) -> HttpResponse:
    membership = _privacy_staff(request, staff)
    if isinstance(membership, HttpResponse):
        return membership
    citizen = _person_in_institution(citizen_id, membership.institution_id)
    if citizen is None:
        return _not_found(request, staff)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            content = privacy.staff_export(actor=request.user, citizen=citizen,
                                           institution=membership.institution,
                                           reason=form.cleaned_data["reason"])
        except PermissionDenied:
            return forbidden_response(
                request, staff, title=_("No puede exportar estos datos"),
                explanation=_("Solo supervisores y administradores del sistema."))
        filename = f"datos-persona-{citizen.pk}-{timezone.localdate().isoformat()}.zip"
        return download_response(content, filename=filename, content_type="application/zip")
    return render(request, "console/privacy/person_export.html", {
        "staff": staff, "citizen": citizen, "form": form,
    }, status=400 if form.is_bound else 200)


class ErasureForm(ReasonForm):
    confirm = forms.BooleanField(
        label=gettext_lazy("Entiendo que la supresión es irreversible"),
        error_messages={"required": gettext_lazy("Confirme marcando la casilla.")})


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
@require_recent_auth
def person_erase(request: HttpRequest, staff: StaffContext, citizen_id: int) -> HttpResponse:
    membership = _privacy_staff(request, staff)
    if isinstance(membership, HttpResponse):
        return membership
    citizen = _person_in_institution(citizen_id, membership.institution_id)
    if citizen is None:
        return _not_found(request, staff)
    pending = ErasureRequest.objects.filter(citizen=citizen, status=ErasureStatus.PENDING).first()
    allowed = privacy.erasure_allowed_for(actor=request.user, citizen=citizen)
    form = ErasureForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not allowed:
            return forbidden_response(
                request, staff, title=_("No puede suprimir a esta persona"),
                explanation=_("La persona tiene datos en instituciones donde usted "
                              "no es supervisor ni administrador del sistema."))
        try:
            outcome = privacy.citizen_erase(citizen=citizen, actor=request.user,
                                            reason=form.cleaned_data["reason"], request=pending)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if outcome.done:
                messages.success(request, _("Los datos de la persona fueron suprimidos."))
            else:
                messages.error(request, _("La supresión no procede por ahora; quedó registrada "
                                          "como rechazada con sus motivos."))
            return redirect(f"{reverse('console:access-log')}?persona_id={citizen.pk}"
                            f"&categoria=todos")
    return render(request, "console/privacy/person_erase.html", {
        "staff": staff, "citizen": citizen, "form": form, "pending": pending,
        "allowed": allowed, "anonymised": citizen.anonymised_at is not None,
        "obstacles": [] if citizen.anonymised_at else privacy.erasure_obstacles(citizen=citizen),
    }, status=400 if form.is_bound else 200)


@require_safe
@staff_required
def erasure_requests(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    membership = _privacy_staff(request, staff)
    if isinstance(membership, HttpResponse):
        return membership
    return render(request, "console/privacy/erasure_requests.html", {
        "staff": staff,
        "requests": list(privacy.erasure_requests_for(
            institution_id=membership.institution_id)[:200]),
    })
