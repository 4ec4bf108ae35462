"""Paper forms: the public printable PDF and the console pages where staff upload the
photographed forms and transcribe them (thin views: parse, call a service, render)."""

from __future__ import annotations

import hashlib
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ventanilla.console.context import StaffContext, staff_context
from ventanilla.core.ratelimit import rate_limit
from ventanilla.core.services import audit_record
from ventanilla.paper import selectors
from ventanilla.paper.forms import PaperDiscardForm, PaperTranscriptionForm, PaperUploadForm
from ventanilla.paper.models import IntakeStatus, PaperIntake
from ventanilla.paper.pdf import paper_form_pdf
from ventanilla.paper.services import (
    PAPER_ROLES,
    paper_intake_create,
    paper_intake_discard,
    paper_intake_transcribe,
)
from ventanilla.tickets.serving import attachment_response

PDF_MAX_AGE = 3600  # a catalog change reaches printed forms within the hour


# --- public: the printable form -------------------------------------------------------------

@require_safe
@rate_limit("paper_form", methods=("GET", "HEAD"))
def paper_form(request, institution_slug: str) -> HttpResponse:
    institution = selectors.institution_for_paper_form(slug=institution_slug)
    if institution is None:
        return render(request, "paper/not_found.html", status=404)
    content = paper_form_pdf(selectors.paper_form_catalog(institution=institution))
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return not_modified
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="formulario-{institution.slug}.pdf"'
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    patch_cache_control(response, public=True, max_age=PDF_MAX_AGE)
    return response


# --- console: access ------------------------------------------------------------------------

def _forbidden(request, staff: StaffContext | None) -> HttpResponse:
    return render(request, "console/forbidden.html", {
        "staff": staff, "title": _("Su rol no permite ingresar formularios en papel"),
        "explanation": _("El ingreso de formularios en papel es para operadores, "
                         "administradores del canal, supervisores y administradores del "
                         "sistema de la institución."),
    }, status=403)


def _not_found(request, staff: StaffContext) -> HttpResponse:
    return render(request, "console/not_found.html", {"staff": staff}, status=404)


def _paper_institution_ids(staff: StaffContext) -> set[int]:
    return {m.institution_id for m in staff.memberships if m.role in PAPER_ROLES}


def paper_staff_required(view):
    """Logged in, with a paper-intake role in the active institution."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        staff = staff_context(request)
        if staff.active is None or staff.active.role not in PAPER_ROLES:
            return _forbidden(request, staff if staff.has_access else None)
        return view(request, staff, *args, **kwargs)

    return wrapper


def _intake_or_none(staff: StaffContext, intake_id: int) -> PaperIntake | None:
    """Intakes of the institutions where the user handles paper; others look missing."""
    return selectors.paper_intake_get(intake_id=intake_id,
                                      institution_ids=_paper_institution_ids(staff))


def _add_service_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


# --- console: pages -------------------------------------------------------------------------

@require_safe
@paper_staff_required
def intake_list(request, staff: StaffContext) -> HttpResponse:
    institution = staff.active.institution
    intakes = list(selectors.paper_intake_list_pending(institution=institution)
                   [:selectors.PENDING_LIST_LIMIT])
    return render(request, "paper/intake_list.html", {
        "staff": staff, "institution": institution, "intakes": intakes,
    })


@require_http_methods(["GET", "HEAD", "POST"])
@paper_staff_required
def intake_upload(request, staff: StaffContext) -> HttpResponse:
    institution = staff.active.institution
    if request.method == "POST":
        form = PaperUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                intake = paper_intake_create(
                    institution=institution, actor=request.user,
                    uploads=form.cleaned_data["pages"], note=form.cleaned_data["note"],
                )
            except PermissionDenied:
                return _forbidden(request, staff)
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(request, _("Formulario recibido. Ahora transcríbalo."))
                return redirect("console:paper-transcribe", intake_id=intake.pk)
    else:
        form = PaperUploadForm()
    return render(request, "paper/intake_upload.html", {
        "staff": staff, "institution": institution, "form": form,
    })


def _render_transcription(request, staff, intake, *, form=None, discard_form=None,
                          status=200) -> HttpResponse:
    return render(request, "paper/intake_transcribe.html", {
        "staff": staff, "intake": intake, "pages": selectors.paper_page_list(intake=intake),
        "form": form or PaperTranscriptionForm(institution=intake.institution),
        "discard_form": discard_form or PaperDiscardForm(),
    }, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@paper_staff_required
def intake_transcribe(request, staff: StaffContext, intake_id: int) -> HttpResponse:
    intake = _intake_or_none(staff, intake_id)
    if intake is None:
        return _not_found(request, staff)
    if intake.status == IntakeStatus.TRANSCRIBED:
        # A second submit (double click, back button) lands on the first result.
        return redirect("console:paper-done", intake_id=intake.pk)
    if intake.status == IntakeStatus.DISCARDED:
        return render(request, "paper/intake_discarded.html", {
            "staff": staff, "intake": intake,
        })
    if request.method != "POST":
        return _render_transcription(request, staff, intake)
    form = PaperTranscriptionForm(request.POST, institution=intake.institution)
    if form.is_valid():
        try:
            paper_intake_transcribe(intake=intake, actor=request.user,
                                    transcription=form.transcription())
        except PermissionDenied:
            return _forbidden(request, staff)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            return redirect("console:paper-done", intake_id=intake.pk)
    return _render_transcription(request, staff, intake, form=form)


@require_safe
@paper_staff_required
def intake_done(request, staff: StaffContext, intake_id: int) -> HttpResponse:
    intake = _intake_or_none(staff, intake_id)
    if intake is None or intake.ticket is None:
        return _not_found(request, staff)
    return render(request, "paper/intake_done.html", {
        "staff": staff, "intake": intake, "ticket": intake.ticket,
    })


@require_POST
@paper_staff_required
def intake_discard(request, staff: StaffContext, intake_id: int) -> HttpResponse:
    intake = _intake_or_none(staff, intake_id)
    if intake is None:
        return _not_found(request, staff)
    form = PaperDiscardForm(request.POST)
    if form.is_valid():
        try:
            paper_intake_discard(intake=intake, actor=request.user,
                                 reason=form.cleaned_data["reason"])
        except PermissionDenied:
            return _forbidden(request, staff)
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Formulario descartado."))
            return redirect("console:paper-list")
    if intake.status != IntakeStatus.PENDING:
        return redirect("console:paper-transcribe", intake_id=intake.pk)
    return _render_transcription(request, staff, intake, discard_form=form, status=400)


@require_safe
@paper_staff_required
def intake_page(request, staff: StaffContext, intake_id: int, page_id: int) -> HttpResponse:
    """A photographed page, shown inline next to the form; never through a public URL."""
    intake = _intake_or_none(staff, intake_id)
    page = selectors.paper_page_get(intake=intake, page_id=page_id) if intake else None
    if page is None:
        return _not_found(request, staff)
    try:
        handle = page.file.open("rb")
    except (FileNotFoundError, OSError):
        return _not_found(request, staff)
    audit_record(actor=request.user, action="paper.page_viewed", obj=intake,
                 institution=intake.institution, data={"page_id": page.pk})
    return attachment_response(handle, filename=page.original_name,
                               content_type=page.content_type, inline=True)
