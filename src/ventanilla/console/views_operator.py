"""Operator console: the phone line and the office counter.

A keyboard-first page for staff with a person on the line: look them up by RUT, phone or
e-mail, see their whole history in the active institution first, then register a ticket on
their behalf, add what they say to an open one, or record a contact solved on the spot.
Forms are saved as drafts while the operator types (``static/console/operator.js``, with a
copy in the browser's storage); without JavaScript, a form with errors is saved as a draft.

Thin views: lookups in ``citizens.selectors``/``console.selectors_operator``, writes in
``tickets.services.assisted`` and ``console.services``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ventanilla.citizens.models import Citizen
from ventanilla.citizens.selectors import LookupTerms, citizen_lookup, citizen_lookup_terms
from ventanilla.citizens.services import ContactData
from ventanilla.console.context import StaffContext, forbidden_response
from ventanilla.console.forms import add_service_errors
from ventanilla.console.forms_operator import (
    AddToTicketForm,
    AttendedForm,
    LookupForm,
    OperatorTicketForm,
)
from ventanilla.console.models import DRAFT_FIELDS, DRAFT_MAX_BYTES, DraftKind
from ventanilla.console.selectors_operator import (
    operator_draft_get,
    operator_open_tickets,
    operator_person_known,
    operator_person_tickets,
)
from ventanilla.console.services import (
    DraftTooLarge,
    draft_scope,
    operator_draft_discard,
    operator_draft_save,
)
from ventanilla.console.views import _not_found, _ticket_or_none, staff_required
from ventanilla.console.views_citizens import person_timeline
from ventanilla.core.rut import rut_format
from ventanilla.core.services import audit_record
from ventanilla.tickets.selectors_people import (
    PersonFacts,
    citizen_facts_in_institution,
    citizen_identities_in_institution,
)
from ventanilla.tickets.services import TicketDraft
from ventanilla.tickets.services.assisted import (
    ASSISTED_CHANNELS,
    ASSISTED_ROLES,
    interaction_record_attended,
    ticket_add_assisted_message,
    ticket_open_assisted,
)

SESSION_CHANNEL = "operator_channel"
# Browser-storage keys of drafts submitted in this session: the next page tells the script
# to forget its local copy (a form post cannot reach the storage itself).
SESSION_CLEARED = "operator_cleared_drafts"
# People this session found through the lookup (they may have no history here yet).
SESSION_FOUND = "operator_found_people"
FOUND_LIMIT = 100


# --- access and small helpers --------------------------------------------------------------------

def operator_required(view):
    """A role that takes calls and serves the counter in the ACTIVE institution."""

    @staff_required
    @wraps(view)
    def wrapper(request, staff: StaffContext, *args, **kwargs):
        if staff.active is None or staff.active.role not in ASSISTED_ROLES:
            return forbidden_response(
                request, staff, title=_("Su rol no atiende público"),
                explanation=_("La consola de operador es para quienes atienden el teléfono "
                              "o la oficina (operador, administrador del canal, supervisor). "
                              "Si atiende en otra institución, cámbiela en el encabezado."),
            )
        return view(request, staff, *args, **kwargs)

    return wrapper


def _person(request, staff: StaffContext, citizen_id) -> Citizen | None:
    """The person (a merged record leads to the one it was merged into), if this operator
    may reach them: found by a lookup in this session, or known to the institution (a
    ticket or a contact here). Otherwise None, so that person ids cannot be browsed."""
    citizen = Citizen.objects.filter(pk=citizen_id).first() if citizen_id else None
    seen = 0
    while citizen is not None and citizen.merged_into_id and seen < 10:
        citizen, seen = citizen.merged_into, seen + 1
    if citizen is None:
        return None
    found = request.session.get(SESSION_FOUND, [])
    if citizen.pk in found or citizen_id in found:
        return citizen
    if operator_person_known(citizen=citizen, institution=staff.active.institution):
        return citizen
    return None


def _remember_found(request, citizens) -> None:
    found = [pk for pk in request.session.get(SESSION_FOUND, [])
             if pk not in {c.pk for c in citizens}]
    request.session[SESSION_FOUND] = (found + [c.pk for c in citizens])[-FOUND_LIMIT:]


def _session_channel(request) -> str:
    value = request.session.get(SESSION_CHANNEL, "phone")
    return value if value in ASSISTED_CHANNELS else "phone"


def _remember_channel(request, channel) -> None:
    request.session[SESSION_CHANNEL] = channel.code


def storage_key(user, institution, kind: str, citizen) -> str:
    return f"ventanilla:operator:{user.pk}:{institution.pk}:{kind}:{draft_scope(citizen)}"


def _draft_submitted(request, staff, kind: str, citizen) -> None:
    institution = staff.active.institution
    operator_draft_discard(user=request.user, institution=institution, kind=kind,
                           citizen=citizen)
    keys = request.session.get(SESSION_CLEARED, [])
    keys.append(storage_key(request.user, institution, kind, citizen))
    request.session[SESSION_CLEARED] = keys[-20:]


def _draft_save_posted(request, staff, kind: str, citizen) -> None:
    """Without JavaScript, a form with errors is still kept as a draft."""
    fields = {name: request.POST.get(name, "") for name in DRAFT_FIELDS[kind]
              if name in request.POST}
    # Too large or malformed: the errors shown on the page are what matters then.
    with contextlib.suppress(ValidationError):
        operator_draft_save(user=request.user, institution=staff.active.institution,
                            kind=kind, citizen=citizen, fields=fields)


def _person_context(staff: StaffContext, citizen) -> dict:
    """What the pages show of the person: only what reached the active institution (the
    record is global; what the person told another institution is not shown here)."""
    if citizen is None:
        return {}
    facts = citizen_facts_in_institution(citizen=citizen, institution=staff.active.institution)
    return {"facts": facts,
            "person_label": facts.full_name or _("Persona sin historial en esta institución")}


def _render(request, staff: StaffContext, template: str, context: dict,
            status: int = 200) -> HttpResponse:
    context = {**_person_context(staff, context.get("citizen")), **context}
    context = {"staff": staff, "channel_code": _session_channel(request),
               "clear_draft_keys": " ".join(request.session.pop(SESSION_CLEARED, [])),
               **context}
    return render(request, f"console/operator/{template}", context, status=status)


def _form_context(request, staff, *, kind: str, citizen, form, draft) -> dict:
    """What the draft script needs, and the restored draft's notice."""
    institution = staff.active.institution
    return {
        "form": form, "citizen": citizen, "draft_kind": kind,
        "draft": draft if not form.is_bound else None,
        "draft_saved_ms": int(draft.updated_at.timestamp() * 1000) if draft else 0,
        "draft_storage_key": storage_key(request.user, institution, kind, citizen),
    }


def _initial_with_draft(initial: dict, draft, kind: str) -> dict:
    if draft is not None:
        initial.update({name: value for name, value in draft.data.items()
                        if name in DRAFT_FIELDS[kind]})
    return initial


def _audit_view(request, staff, citizen) -> None:
    # Staff access to personal data is accountable (as on the person page).
    audit_record(actor=request.user, action="citizen.viewed", obj=citizen,
                 institution=staff.active.institution, data={"via": "operator"})


@dataclass(frozen=True)
class ShownMatch:
    """A lookup match as the operator sees it: the facts are the active institution's."""

    citizen: Citizen
    reasons: tuple[str, ...]
    tickets_here: int
    facts: PersonFacts


# --- lookup and history --------------------------------------------------------------------------

@require_safe
@operator_required
def operator_home(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    searched = "q" in request.GET
    form = LookupForm(request.GET if searched else None)
    matches, terms = [], None
    if searched and form.is_valid():
        terms = form.cleaned_data["q"]
        institution = staff.active.institution
        matches = [ShownMatch(citizen=match.citizen, reasons=match.reasons,
                              tickets_here=match.tickets_here,
                              facts=citizen_facts_in_institution(citizen=match.citizen,
                                                                 institution=institution))
                   for match in citizen_lookup(terms.text, institution)]
        _remember_found(request, [match.citizen for match in matches])
        # One match names its person, so a per-person review of the access log finds it.
        audit_record(actor=request.user, action="citizen.lookup", obj=institution,
                     institution=institution,
                     citizen_id=matches[0].citizen.pk if len(matches) == 1 else None,
                     data={"matches": [m.citizen.pk for m in matches]})
        if len(matches) == 1:
            return redirect(f"{reverse('console:operator-person', args=[matches[0].citizen.pk])}"
                            f"?q={_query_param(terms.text)}")
    return _render(request, staff, "home.html", {
        "form": form, "matches": matches, "terms": terms, "searched": searched,
    }, status=400 if searched and form.errors else 200)


def _query_param(text: str) -> str:
    return quote(text, safe="")


@require_safe
@operator_required
def operator_person(request: HttpRequest, staff: StaffContext, citizen_id: int) -> HttpResponse:
    citizen = _person(request, staff, citizen_id)
    if citizen is None:
        return _not_found(request, staff)
    if citizen.pk != citizen_id:
        return redirect("console:operator-person", citizen.pk)
    tickets = operator_person_tickets(user=request.user, citizen=citizen,
                                      institution=staff.active.institution)
    _audit_view(request, staff, citizen)
    return _render(request, staff, "person.html", {
        "citizen": citizen, "tickets": tickets,
        "open_tickets": operator_open_tickets(tickets),
        "timeline": person_timeline(membership=staff.active, citizen=citizen, tickets=tickets),
        "identities": citizen_identities_in_institution(
            citizen=citizen, institution=staff.active.institution),
        "lookup_form": LookupForm(initial={"q": request.GET.get("q", "")[:254]}),
    })


# --- new ticket on the person's behalf -----------------------------------------------------------

def _contact_initial(citizen: Citizen | None, terms: LookupTerms | None,
                     institution=None) -> dict:
    if citizen is not None:
        facts = citizen_facts_in_institution(citizen=citizen, institution=institution)
        return {"full_name": facts.full_name, "rut": facts.rut_display, "email": facts.email,
                "phone": facts.phone}
    if terms is None:
        return {}
    return {"rut": rut_format(terms.rut) if terms.rut else "", "email": terms.email,
            "phone": terms.text if terms.phone and not terms.rut else ""}


@require_http_methods(["GET", "HEAD", "POST"])
@operator_required
def operator_ticket_new(request: HttpRequest, staff: StaffContext,
                        citizen_id: int | None = None) -> HttpResponse:
    citizen = _person(request, staff, citizen_id) if citizen_id else None
    if citizen_id and citizen is None:
        return _not_found(request, staff)
    institution, kind = staff.active.institution, DraftKind.TICKET_NEW
    draft = None
    if request.method == "POST":
        form = OperatorTicketForm(request.POST, request.FILES, institution=institution)
        if form.is_valid():
            data = form.cleaned_data
            ticket_draft = TicketDraft(
                institution=institution, channel=data["channel"],
                ticket_type=data["ticket_type"], topic=data["topic"],
                subject=data["subject"], detail=data["detail"],
                contact=ContactData(full_name=data["full_name"], email=data["email"],
                                    phone=data["phone"], rut=data["rut"]),
                urgency=data["urgency"], requester_type=data.get("requester_type"),
                organization=data["organization"], region=data["region"],
                comuna=data["comuna"], attachments=data["attachments"],
                citizen=citizen, created_by=request.user,
                idempotency_key=data["idempotency_key"] or None,
            )
            try:
                ticket = ticket_open_assisted(draft=ticket_draft, actor=request.user)
            except PermissionDenied:
                return forbidden_response(
                    request, staff, title=_("Su rol no permite esta acción"),
                    explanation=_("No puede registrar requerimientos aquí."))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                _remember_channel(request, data["channel"])
                _draft_submitted(request, staff, kind, citizen)
                return redirect("console:operator-done", ticket.folio)
        _draft_save_posted(request, staff, kind, citizen)
    else:
        draft = operator_draft_get(user=request.user, institution=institution, kind=kind,
                                   citizen=citizen)
        terms = citizen_lookup_terms(request.GET.get("q", "")) if citizen is None else None
        initial = {"channel": _session_channel(request), "idempotency_key": uuid.uuid4().hex,
                   **_contact_initial(citizen, terms, institution)}
        form = OperatorTicketForm(initial=_initial_with_draft(initial, draft, kind),
                                  institution=institution)
    if citizen is not None:
        _audit_view(request, staff, citizen)
    return _render(request, staff, "ticket_new.html",
                   _form_context(request, staff, kind=kind, citizen=citizen, form=form,
                                 draft=draft),
                   status=400 if form.is_bound else 200)


@require_safe
@operator_required
def operator_done(request: HttpRequest, staff: StaffContext, folio: str) -> HttpResponse:
    ticket = _ticket_or_none(request, staff, folio)
    if ticket is None or ticket.institution_id != staff.active.institution_id:
        return _not_found(request, staff)
    return _render(request, staff, "done.html", {"ticket": ticket})


# --- add to an open ticket -----------------------------------------------------------------------

@require_http_methods(["GET", "HEAD", "POST"])
@operator_required
def operator_ticket_add(request: HttpRequest, staff: StaffContext,
                        citizen_id: int) -> HttpResponse:
    citizen = _person(request, staff, citizen_id)
    if citizen is None:
        return _not_found(request, staff)
    institution, kind = staff.active.institution, DraftKind.TICKET_ADD
    open_tickets = operator_open_tickets(operator_person_tickets(
        user=request.user, citizen=citizen, institution=institution))
    if not open_tickets:
        messages.info(request, _("La persona no tiene requerimientos abiertos en esta "
                                 "institución."))
        return redirect("console:operator-person", citizen.pk)
    draft = None
    if request.method == "POST":
        form = AddToTicketForm(request.POST, tickets=open_tickets)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket_add_assisted_message(ticket=data["ticket"], actor=request.user,
                                            channel=data["channel"], body=data["body"])
            except PermissionDenied:
                return forbidden_response(
                    request, staff, title=_("Su rol no permite esta acción"),
                    explanation=_("No puede agregar mensajes a este "
                                  "requerimiento."))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                _remember_channel(request, data["channel"])
                _draft_submitted(request, staff, kind, citizen)
                messages.success(request, _("Se agregó lo informado al requerimiento "
                                            "%(folio)s.") % {"folio": data["ticket"].folio})
                return redirect("console:operator-person", citizen.pk)
        _draft_save_posted(request, staff, kind, citizen)
    else:
        draft = operator_draft_get(user=request.user, institution=institution, kind=kind,
                                   citizen=citizen)
        initial = {"channel": _session_channel(request)}
        if len(open_tickets) == 1:
            initial["ticket"] = str(open_tickets[0].pk)
        form = AddToTicketForm(initial=_initial_with_draft(initial, draft, kind),
                               tickets=open_tickets)
    _audit_view(request, staff, citizen)
    return _render(request, staff, "ticket_add.html",
                   _form_context(request, staff, kind=kind, citizen=citizen, form=form,
                                 draft=draft),
                   status=400 if form.is_bound else 200)


# --- contact solved on the spot ------------------------------------------------------------------

@require_http_methods(["GET", "HEAD", "POST"])
@operator_required
def operator_attended(request: HttpRequest, staff: StaffContext,
                      citizen_id: int | None = None) -> HttpResponse:
    citizen = _person(request, staff, citizen_id) if citizen_id else None
    if citizen_id and citizen is None:
        return _not_found(request, staff)
    institution, kind = staff.active.institution, DraftKind.ATTENDED
    tickets = (operator_person_tickets(user=request.user, citizen=citizen,
                                       institution=institution) if citizen else [])
    draft = None
    if request.method == "POST":
        form = AttendedForm(request.POST, tickets=tickets)
        if form.is_valid():
            data = form.cleaned_data
            try:
                interaction_record_attended(
                    institution=institution, channel=data["channel"], actor=request.user,
                    summary=data["summary"], citizen=citizen, ticket=data.get("ticket"))
            except PermissionDenied:
                return forbidden_response(
                    request, staff, title=_("Su rol no permite esta acción"),
                    explanation=_("No puede registrar atenciones aquí."))
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                _remember_channel(request, data["channel"])
                _draft_submitted(request, staff, kind, citizen)
                messages.success(request, _("La atención quedó registrada."))
                if citizen is not None:
                    return redirect("console:operator-person", citizen.pk)
                return redirect("console:operator")
        _draft_save_posted(request, staff, kind, citizen)
    else:
        draft = operator_draft_get(user=request.user, institution=institution, kind=kind,
                                   citizen=citizen)
        form = AttendedForm(initial=_initial_with_draft({"channel": _session_channel(request)},
                                                        draft, kind), tickets=tickets)
    if citizen is not None:
        _audit_view(request, staff, citizen)
    return _render(request, staff, "attended.html",
                   _form_context(request, staff, kind=kind, citizen=citizen, form=form,
                                 draft=draft),
                   status=400 if form.is_bound else 200)


# --- drafts --------------------------------------------------------------------------------------

def _json_error(message: str, status: int, **extra) -> JsonResponse:
    return JsonResponse({"saved": False, "error": message, **extra}, status=status)


def _draft_target(request, staff, payload_kind, payload_citizen):
    """(kind, citizen, error response) from what the script or a form sent."""
    if payload_kind not in DraftKind.values:
        return None, None, _json_error("unknown kind", 400)
    if payload_citizen in (None, ""):
        return payload_kind, None, None
    if not str(payload_citizen).isdigit():
        return None, None, _json_error("invalid citizen", 400)
    citizen = _person(request, staff, int(payload_citizen))
    if citizen is None:
        return None, None, _json_error("unknown citizen", 404)
    return payload_kind, citizen, None


@require_POST
@operator_required
def operator_draft(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    """Save a draft sent by operator.js: JSON ``{"kind", "citizen", "fields": {name:
    value}}`` (at most 64 KB; only the form's known field names are kept)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > DRAFT_MAX_BYTES:
        return _json_error("draft too large", 413, limit=DRAFT_MAX_BYTES)
    try:
        body = request.body
    except RequestDataTooBig:
        return _json_error("draft too large", 413, limit=DRAFT_MAX_BYTES)
    if len(body) > DRAFT_MAX_BYTES:
        return _json_error("draft too large", 413, limit=DRAFT_MAX_BYTES)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _json_error("invalid JSON", 400)
    if not isinstance(payload, dict):
        return _json_error("expected an object", 400)
    kind, citizen, error = _draft_target(request, staff, payload.get("kind"),
                                           payload.get("citizen"))
    if error is not None:
        return error
    try:
        draft = operator_draft_save(user=request.user, institution=staff.active.institution,
                                    kind=kind, citizen=citizen,
                                    fields=payload.get("fields", {}))
    except DraftTooLarge:
        return _json_error("draft too large", 413, limit=DRAFT_MAX_BYTES)
    except ValidationError as exc:
        return _json_error("invalid draft", 400, fields=exc.message_dict
                           if hasattr(exc, "error_dict") else {"fields": exc.messages})
    saved_at = timezone.localtime(draft.updated_at)
    return JsonResponse({"saved": True, "saved_at": saved_at.isoformat(),
                         "saved_at_ms": int(draft.updated_at.timestamp() * 1000),
                         "saved_at_label": saved_at.strftime("%H:%M"),
                         "fields": sorted(draft.data)})


@require_POST
@operator_required
def operator_draft_discard_view(request: HttpRequest, staff: StaffContext) -> HttpResponse:
    """"Descartar borrador": a plain form post (works without JavaScript)."""
    kind, citizen, error = _draft_target(request, staff, request.POST.get("kind"),
                                           request.POST.get("citizen"))
    if error is not None:
        return error
    operator_draft_discard(user=request.user, institution=staff.active.institution,
                           kind=kind, citizen=citizen)
    messages.info(request, _("Se descartó el borrador."))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("console:operator")
    return redirect(target)
