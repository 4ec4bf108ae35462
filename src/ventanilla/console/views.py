"""The staff console: thin views that parse input, call a selector or service, render."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from ventanilla.console.context import (
    StaffContext,
    forbidden_response,
    institution_choose,
    staff_context,
    staff_context_for_institution,
)
from ventanilla.console.forms import (
    AreaForm,
    InboxFilterForm,
    NoteForm,
    ReplyForm,
    StatusForm,
    add_service_errors,
)
from ventanilla.core.rut import rut_format
from ventanilla.core.services import audit_record
from ventanilla.tickets import permissions
from ventanilla.tickets.models import Attachment, EventKind, Status, Ticket, TicketEvent
from ventanilla.tickets.selectors import (
    attachment_get,
    citizen_ticket_history,
    ticket_detail_for_staff,
    ticket_inbox,
    ticket_page,
    ticket_timeline,
)
from ventanilla.tickets.services import (
    ticket_add_note,
    ticket_change_area,
    ticket_change_status,
)
from ventanilla.tickets.services import ticket_reply as ticket_reply_service
from ventanilla.tickets.serving import attachment_response

FOLIO_SHAPE = re.compile(r"[A-Za-z0-9-]{1,24}")
MAX_PAGE = 10_000  # deeper than this, filter instead (and no OFFSET overflows)


# --- access ------------------------------------------------------------------------------------

def _no_access(request, staff: StaffContext | None) -> HttpResponse:
    return forbidden_response(
        request, staff, title=_("Su cuenta no tiene acceso a la consola"),
        explanation=_("La consola es para funcionarios con un rol activo en una institución. "
                      "Si debería tenerlo, pida acceso al administrador de su institución."),
    )


def _auditor_denied(request, staff: StaffContext) -> HttpResponse:
    return forbidden_response(
        request, staff, title=_("Su rol no permite ver requerimientos"),
        explanation=_("El rol de auditor accede solo a información agregada, sin datos "
                      "personales. Los paneles de indicadores estarán disponibles en esta "
                      "consola próximamente."),
    )


def _action_denied(request, staff: StaffContext) -> HttpResponse:
    return forbidden_response(
        request, staff, title=_("Su rol no permite esta acción"),
        explanation=_("Puede ver este requerimiento, pero su rol en la institución no le "
                      "permite realizar esta acción."),
    )


def _not_found(request, staff: StaffContext) -> HttpResponse:
    return render(request, "console/not_found.html", {"staff": staff}, status=404)


def staff_required(view):
    """Login, at least one membership, and a role that sees cases (not the auditor)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        staff = staff_context(request)
        if not staff.has_access:
            return _no_access(request, None)
        if not any(m.role in permissions.CASE_ROLES for m in staff.memberships):
            return _auditor_denied(request, staff)
        return view(request, staff, *args, **kwargs)

    return wrapper


def _ticket_or_none(request, staff: StaffContext, folio: str) -> Ticket | None:
    """The ticket if this user may view it; None also when it exists elsewhere, so that
    another institution's or area's tickets are indistinguishable from missing ones."""
    if not FOLIO_SHAPE.fullmatch(folio):
        return None
    try:
        ticket = ticket_detail_for_staff(user=request.user, folio=folio)
    except (Ticket.DoesNotExist, PermissionDenied):
        return None
    membership = staff.membership_for_institution(ticket.institution_id)
    if membership is None or membership.role not in permissions.CASE_ROLES:
        return None  # e.g. an institution that has been deactivated
    return ticket


# --- institution switcher ------------------------------------------------------------------------

@login_required
@require_POST
def switch_institution(request: HttpRequest) -> HttpResponse:
    staff = staff_context(request)
    if not staff.has_access:
        return _no_access(request, None)
    raw = request.POST.get("institution", "")
    membership = institution_choose(request, institution_id=int(raw)) if raw.isdigit() else None
    if membership is None:
        messages.error(request, _("No tiene un rol activo en esa institución."))
    else:
        messages.success(request, _("Ahora trabaja en %(name)s.") % {
            "name": membership.institution.name})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = ""
    # A ticket page of the previous institution makes no sense after switching.
    if not target or "/r/" in target:
        return redirect("console:inbox")
    return redirect(target)


# --- inbox ---------------------------------------------------------------------------------------

def _page_number(raw: str) -> int:
    try:
        page = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(page, 1), MAX_PAGE)


@require_safe
@staff_required
def inbox(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    if not staff.sees_cases:
        return _auditor_denied(request, staff)
    membership = staff.active
    form = InboxFilterForm(request.GET, membership=membership)
    form.is_valid()  # invalid fields are reported and left out of the filters
    filters = form.to_filters()
    page = _page_number(request.GET.get("page", "1"))
    tickets, has_next = ticket_page(ticket_inbox(membership=membership, filters=filters), page=page)
    return render(request, "console/inbox.html", {
        "staff": staff, "form": form, "tickets": tickets, "page": page,
        "has_previous": page > 1, "has_next": has_next and page < MAX_PAGE,
        "previous_page": page - 1, "next_page": page + 1,
        "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
    })


# --- ticket page ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TimelineEntry:
    event: TicketEvent
    who: str
    from_label: str = ""
    to_label: str = ""

    @property
    def is_internal(self) -> bool:
        return not self.event.is_public


def _status_label(value: str) -> str:
    return str(Status(value).label) if value in Status.values else value


def _timeline_entry(event: TicketEvent) -> TimelineEntry:
    if event.actor_id:
        who = str(event.actor)
    elif event.kind in (EventKind.CREATED, EventKind.CITIZEN_MESSAGE):
        who = _("Ciudadano")
    else:
        who = _("Sistema")
    from_label = to_label = ""
    if event.kind == EventKind.AREA_CHANGED:
        from_label = event.data.get("from_area") or _("Sin área")
        to_label = event.data.get("to_area") or _("Sin área")
    elif event.from_status or event.to_status:
        from_label = _status_label(event.from_status)
        to_label = _status_label(event.to_status)
    return TimelineEntry(event=event, who=who, from_label=from_label, to_label=to_label)


def _render_ticket(request, staff: StaffContext, ticket: Ticket, *, forms: dict | None = None,
                   status: int = 200) -> HttpResponse:
    staff = staff_context_for_institution(staff, ticket.institution_id)
    user = request.user
    allowed = {action: permissions.can(user, action, ticket)
               for action in ("add_note", "reply", "change_status", "change_area")}
    forms = forms or {}
    context = {
        "staff": staff, "ticket": ticket, "allowed": allowed,
        "rut": rut_format(ticket.contact_rut or ticket.citizen.rut or ""),
        "timeline": [_timeline_entry(e) for e in ticket_timeline(ticket=ticket, public_only=False)],
        "attachments": list(ticket.attachments.all()),
        "history": citizen_ticket_history(membership=staff.active, ticket=ticket),
        "note_form": forms.get("note") or (NoteForm() if allowed["add_note"] else None),
        "reply_form": forms.get("reply") or (ReplyForm() if allowed["reply"] else None),
        "status_form": forms.get("status") or (
            StatusForm(ticket=ticket) if allowed["change_status"] else None),
        "area_form": forms.get("area") or (
            AreaForm(ticket=ticket) if allowed["change_area"] else None),
        "is_closed": ticket.status == Status.CLOSED,
    }
    # Imported here: these panels' modules build on this module's helpers.
    from ventanilla.console.views_answers import answers_panel_context
    from ventanilla.console.views_links import links_panel_context

    context.update(answers_panel_context(user=user, ticket=ticket))
    context.update(links_panel_context(user=user, ticket=ticket))
    # Staff access to personal data is accountable: every display is audited.
    audit_record(actor=user, action="ticket.viewed", obj=ticket, institution=ticket.institution)
    return render(request, "console/ticket.html", context, status=status)


@require_safe
@staff_required
def ticket_detail(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    return _render_ticket(request, staff, ticket)


def _ticket_action(form_key: str):
    """POST view around one service call: 404 if the ticket is not visible, 403 if the
    role may not act, the page again with errors on ValidationError, else redirect."""

    def decorator(handler):
        @require_POST
        @staff_required
        @wraps(handler)
        def view(request, staff: StaffContext, folio: str):
            ticket = _ticket_or_none(request, staff, folio)
            if ticket is None:
                return _not_found(request, staff)
            try:
                form, success_message = handler(request, ticket)
            except PermissionDenied:
                return _action_denied(request, staff_context_for_institution(
                    staff, ticket.institution_id))
            if form is not None:
                return _render_ticket(request, staff, ticket, forms={form_key: form})
            messages.success(request, success_message)
            return redirect("console:ticket", folio=ticket.folio)

        return view

    return decorator


@_ticket_action("note")
def ticket_note(request, ticket: Ticket):
    permissions.require(request.user, "add_note", ticket)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return form, None
    try:
        ticket_add_note(ticket=ticket, actor=request.user, body=form.cleaned_data["body"])
    except ValidationError as error:
        add_service_errors(form, error)
        return form, None
    return None, _("Nota interna agregada.")


@_ticket_action("reply")
def ticket_reply_view(request, ticket: Ticket):
    permissions.require(request.user, "reply", ticket)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return form, None
    try:
        ticket_reply_service(
            ticket=ticket, actor=request.user, body=form.cleaned_data["body"],
            then_status=form.cleaned_data["then_status"] or None,
            attachments=form.checked_uploads,
        )
    except ValidationError as error:
        add_service_errors(form, error, rename={"status": "then_status", "reason": "then_status"})
        return form, None
    if ticket.contact_email:
        return None, _("Respuesta enviada a %(email)s.") % {"email": ticket.contact_email}
    return None, _("Respuesta registrada. La persona no dejó correo: comuníquela por otro "
                   "canal.")


@_ticket_action("status")
def ticket_status(request, ticket: Ticket):
    permissions.require(request.user, "change_status", ticket)
    form = StatusForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return form, None
    try:
        changed = ticket_change_status(ticket=ticket, actor=request.user,
                                       to_status=form.cleaned_data["status"],
                                       reason=form.cleaned_data["reason"])
    except ValidationError as error:
        add_service_errors(form, error)
        return form, None
    return None, _("Estado cambiado a «%(status)s».") % {"status": changed.get_status_display()}


@_ticket_action("area")
def ticket_area(request, ticket: Ticket):
    permissions.require(request.user, "change_area", ticket)
    form = AreaForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return form, None
    area = form.chosen_area()
    if (area.pk if area else None) == ticket.area_id:
        return None, _("El requerimiento ya estaba en esa área; no hubo cambios.")
    try:
        ticket_change_area(ticket=ticket, actor=request.user, area=area,
                           reason=form.cleaned_data["reason"])
    except ValidationError as error:
        add_service_errors(form, error)
        return form, None
    if area is None:
        return None, _("El requerimiento quedó sin área.")
    return None, _("Requerimiento derivado a %(area)s.") % {"area": area.name}


ticket_reply = ticket_reply_view  # the name console/urls.py routes to


# --- attachments ---------------------------------------------------------------------------------

@require_safe
@staff_required
def ticket_attachment(request: HttpRequest, staff: StaffContext, folio: str,
                      attachment_id: int) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None:
        return _not_found(request, staff)
    try:
        attachment = attachment_get(ticket=ticket, attachment_id=attachment_id)
        handle = attachment.file.open("rb")
    except (Attachment.DoesNotExist, FileNotFoundError):
        return _not_found(request, staff)
    audit_record(actor=request.user, action="ticket.attachment_downloaded", obj=ticket,
                 institution=ticket.institution, data={"attachment_id": attachment.pk})
    return attachment_response(handle, filename=attachment.original_name,
                               content_type=attachment.content_type)
