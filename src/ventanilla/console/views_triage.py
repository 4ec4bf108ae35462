"""The triage queue and the triage / assignment actions of the ticket page.

Thin views: parse the input, call ``routing.services``, render or redirect. The services
check the permissions themselves; the views only choose the right page for a refusal.
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from ventanilla.accounts.models import User
from ventanilla.console.context import (
    StaffContext,
    forbidden_response,
    staff_context_for_institution,
)
from ventanilla.console.forms import MAX_TEXT, add_service_errors
from ventanilla.console.selectors import area_list
from ventanilla.console.views import (
    MAX_PAGE,
    _action_denied,
    _not_found,
    _page_number,
    _ticket_or_none,
    staff_required,
)
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.routing.selectors import can_triage, routing_rule_name, triage_queue
from ventanilla.routing.services import (
    assignee_choices,
    ticket_assign,
    ticket_take,
    triage_confirm,
    triage_confirm_bulk,
    triage_correct,
)
from ventanilla.tickets.models import Ticket, TriageStatus
from ventanilla.tickets.selectors import ticket_page

MAX_BULK = 200


class TriageCorrectForm(AccessibleFormMixin, forms.Form):
    """Send a pending ticket to another area (and confirm it) with a reason."""

    area = forms.ChoiceField(
        label=gettext_lazy("Área correcta"),
        error_messages={
            "required": gettext_lazy("Elija el área."),
            "invalid_choice": gettext_lazy("Esa área no está disponible en esta institución."),
        },
    )
    reason = forms.CharField(
        label=gettext_lazy("Motivo de la corrección"), max_length=MAX_TEXT,
        error_messages={"required": gettext_lazy("Indique por qué corrige el área.")},
        widget=forms.TextInput(),
    )

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.areas = {str(area.pk): area for area in areas}
        self.fields["area"].choices = [("", _("Elija…"))] + [
            (key, area.name) for key, area in self.areas.items()]

    def chosen_area(self):
        return self.areas[self.cleaned_data["area"]]


class AssignForm(AccessibleFormMixin, forms.Form):
    prefix = "assign"
    assignee = forms.ChoiceField(
        label=gettext_lazy("Asignar a"),
        error_messages={
            "required": gettext_lazy("Elija a una persona."),
            "invalid_choice": gettext_lazy("Esa persona no es integrante activa del área."),
        },
    )

    NOBODY = "none"

    def __init__(self, *args, members, **kwargs):
        super().__init__(*args, **kwargs)
        self.members = {str(user.pk): user for user in members}
        self.fields["assignee"].choices = [
            ("", _("Elija…")), (self.NOBODY, _("Sin responsable")),
        ] + [(key, str(user)) for key, user in self.members.items()]

    def chosen(self) -> User | None:
        return self.members.get(self.cleaned_data["assignee"])


def correct_form_for(ticket: Ticket, areas, data=None) -> TriageCorrectForm:
    form = TriageCorrectForm(data, areas=areas, prefix=f"c{ticket.pk}")
    if data is None:
        form.initial["area"] = str(ticket.area_id) if ticket.area_id else ""
    return form


# --- the queue -----------------------------------------------------------------------------------

def _triage_denied(request, staff: StaffContext) -> HttpResponse:
    return forbidden_response(
        request, staff, title=_("Su rol no permite validar derivaciones"),
        explanation=_("La cola de triaje es para el administrador del canal, los supervisores "
                      "y los administradores del sistema."),
    )


def triage_role_required(view):
    @staff_required
    @wraps(view)
    def wrapper(request, staff: StaffContext, *args, **kwargs):
        if not can_triage(staff.active):
            return _triage_denied(request, staff)
        return view(request, staff, *args, **kwargs)

    return wrapper


def _render_queue(request, staff: StaffContext, *, error_form=None, error_ticket_id=None,
                  status: int = 200) -> HttpResponse:
    membership = staff.active
    page = _page_number(request.GET.get("page") or request.POST.get("page", "1"))
    tickets, has_next = ticket_page(triage_queue(membership=membership), page=page)
    areas = list(area_list(institution=membership.institution))
    rows = []
    for ticket in tickets:
        form = error_form if ticket.pk == error_ticket_id else correct_form_for(ticket, areas)
        rows.append({"ticket": ticket, "rule": routing_rule_name(ticket), "form": form})
    return render(request, "console/triage/queue.html", {
        "staff": staff, "rows": rows, "page": page, "error_form": error_form,
        "has_previous": page > 1, "has_next": has_next and page < MAX_PAGE,
        "previous_page": page - 1, "next_page": page + 1,
    }, status=status)


@require_safe
@triage_role_required
def queue(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    return _render_queue(request, staff)


def _back(request, default: str, **kwargs):
    """Back to the queue (keeping its page) or to the ticket page."""
    if request.POST.get("next") == "ticket" and kwargs.get("folio"):
        return redirect("console:ticket", folio=kwargs["folio"])
    page = _page_number(request.POST.get("page", "1"))
    response = redirect(default)
    if page > 1:
        response["Location"] += f"?page={page}"
    return response


@require_POST
@triage_role_required
def confirm(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    was_pending = ticket.triage_status == TriageStatus.PENDING
    try:
        ticket = triage_confirm(ticket=ticket, actor=request.user)
    except PermissionDenied:
        return _action_denied(request, staff_context_for_institution(staff, ticket.institution_id))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request, "console:triage", folio=ticket.folio)
    if was_pending:
        messages.success(request, _("%(folio)s validado en %(area)s.") % {
            "folio": ticket.folio, "area": ticket.area.name})
    else:
        messages.info(request, _("%(folio)s ya estaba validado.") % {"folio": ticket.folio})
    return _back(request, "console:triage", folio=ticket.folio)


@require_POST
@triage_role_required
def correct(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    areas = list(area_list(institution=ticket.institution))
    form = correct_form_for(ticket, areas, data=request.POST)
    if form.is_valid():
        try:
            ticket = triage_correct(ticket=ticket, actor=request.user, area=form.chosen_area(),
                                    reason=form.cleaned_data["reason"])
        except PermissionDenied:
            return _action_denied(request, staff_context_for_institution(
                staff, ticket.institution_id))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("%(folio)s derivado a %(area)s y validado.") % {
                "folio": ticket.folio, "area": ticket.area.name})
            return _back(request, "console:triage", folio=ticket.folio)
    if request.POST.get("next") == "ticket":
        messages.error(request, " ".join(
            str(error) for errors in form.errors.values() for error in errors))
        return redirect("console:ticket", folio=ticket.folio)
    return _render_queue(request, staff, error_form=form, error_ticket_id=ticket.pk)


@require_POST
@triage_role_required
def bulk_confirm(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    ids = [int(raw) for raw in request.POST.getlist("ticket") if raw.isdigit()][:MAX_BULK]
    if not ids:
        messages.error(request, _("Marque al menos un requerimiento."))
        return _back(request, "console:triage")
    tickets = list(triage_queue(membership=staff.active).filter(pk__in=ids))
    count = triage_confirm_bulk(tickets=tickets, actor=request.user)
    messages.success(request, _("Requerimientos validados: %(count)d.") % {"count": count})
    return _back(request, "console:triage")


# --- take / assign (ticket page) -----------------------------------------------------------------

@require_POST
@staff_required
def take(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    try:
        ticket_take(ticket=ticket, actor=request.user)
    except PermissionDenied:
        return _action_denied(request, staff_context_for_institution(staff, ticket.institution_id))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Ahora usted es responsable de %(folio)s.") % {
            "folio": ticket.folio})
    return redirect("console:ticket", folio=ticket.folio)


@require_POST
@staff_required
def assign(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    form = AssignForm(request.POST, members=assignee_choices(ticket=ticket))
    if not form.is_valid():
        messages.error(request, " ".join(
            str(error) for errors in form.errors.values() for error in errors))
        return redirect("console:ticket", folio=ticket.folio)
    assignee = form.chosen()
    try:
        ticket_assign(ticket=ticket, actor=request.user, assignee=assignee)
    except PermissionDenied:
        return _action_denied(request, staff_context_for_institution(staff, ticket.institution_id))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if assignee is None:
            messages.success(request, _("%(folio)s quedó sin responsable.") % {
                "folio": ticket.folio})
        else:
            messages.success(request, _("%(folio)s asignado a %(name)s.") % {
                "folio": ticket.folio, "name": assignee})
    return redirect("console:ticket", folio=ticket.folio)
