"""Console pages of the surveys app (mounted at /consola/encuestas/ inside the ``console``
namespace): the results, the comments (supervisors and system administrators) and the
office kiosks (pair this device, deactivate)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ventanilla.accounts.models import Role
from ventanilla.console.context import staff_context
from ventanilla.core.services import audit_record
from ventanilla.reports.tables import DashboardFilters
from ventanilla.surveys import selectors
from ventanilla.surveys.forms import KioskPairForm, ResultsFilterForm
from ventanilla.surveys.models import Kiosk
from ventanilla.surveys.services import KIOSK_ROLES, kiosk_deactivate, kiosk_pair
from ventanilla.surveys.views_kiosk import set_kiosk_cookie

RESULTS_ROLES = (Role.SUPERVISOR, Role.SYSADMIN, Role.AUDITOR)


def _forbidden(request, staff, explanation: str):
    return render(request, "console/forbidden.html", {
        "staff": staff, "title": _("Su rol no permite ver esta página"),
        "explanation": str(explanation),
    }, status=403)


def _roles_required(roles, explanation):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            staff = staff_context(request)
            if staff.active is None or staff.active.role not in roles:
                return _forbidden(request, staff if staff.has_access else None, explanation)
            return view(request, staff, *args, **kwargs)
        return wrapper
    return decorator


_results_required = _roles_required(RESULTS_ROLES, gettext_lazy(
    "Los resultados de las encuestas son para supervisores, auditores y administradores "
    "del sistema."))
_comments_required = _roles_required(selectors.COMMENT_ROLES, gettext_lazy(
    "Los comentarios de las personas son para supervisores y administradores del sistema."))
_kiosks_required = _roles_required(KIOSK_ROLES, gettext_lazy(
    "Los tótems de encuesta los administran operadores, supervisores y administradores del "
    "sistema."))


def _filters(request, institution) -> tuple[ResultsFilterForm, DashboardFilters | None]:
    start, end = ResultsFilterForm.default_period()
    data = request.GET if "date_from" in request.GET else None
    form = ResultsFilterForm(data, institution=institution,
                             initial={"date_from": start, "date_to": end})
    if data is None:
        return form, DashboardFilters(institution=institution, date_from=start, date_to=end)
    if not form.is_valid():
        return form, None
    cleaned = form.cleaned_data
    return form, DashboardFilters(
        institution=institution, date_from=cleaned["date_from"], date_to=cleaned["date_to"],
        region=cleaned["region"], area=cleaned["area"], channel=cleaned["channel"])


@require_safe
@_results_required
def results(request, staff):
    institution = staff.active.institution
    form, filters = _filters(request, institution)
    tables = ([selectors.satisfaction_by(filters, dimension)
               for dimension in selectors.DIMENSIONS] if filters else [])
    return render(request, "surveys/console/results.html", {
        "staff": staff, "form": form, "tables": tables,
        "may_read_comments": staff.active.role in selectors.COMMENT_ROLES,
    })


@require_safe
@_comments_required
def comments(request, staff):
    institution = staff.active.institution
    form, filters = _filters(request, institution)
    page = None
    if filters is not None:
        try:
            number = int(request.GET.get("page", "1"))
        except ValueError:
            number = 1
        page = selectors.survey_comments(filters, viewer=request.user, page=number)
        # Comments are free text about a person's case: reading them is an access to
        # personal data, reviewable like the others.
        audit_record(actor=request.user, action="survey.comments_viewed", obj=institution,
                     institution=institution)
    return render(request, "surveys/console/comments.html", {
        "staff": staff, "form": form, "page": page,
    })


@require_http_methods(["GET", "HEAD", "POST"])
@_kiosks_required
def kiosks(request, staff):
    institution = staff.active.institution
    form = KioskPairForm(request.POST or None, institution=institution)
    if request.method == "POST" and form.is_valid():
        try:
            _kiosk, secret = kiosk_pair(actor=request.user, office=form.cleaned_data["office"],
                                       name=form.cleaned_data["name"])
        except ValidationError as exc:
            for name, errors in getattr(exc, "error_dict", {None: exc.error_list}).items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
        except PermissionDenied as exc:
            return _forbidden(request, staff, str(exc))
        else:
            response = redirect("kiosk-home")
            set_kiosk_cookie(response, secret)
            return response
    return render(request, "surveys/console/kiosks.html", {
        "staff": staff, "form": form,
        "kiosks": selectors.kiosk_list(institution_id=institution.pk),
    }, status=400 if form.errors else 200)


@require_POST
@_kiosks_required
def kiosk_deactivate_view(request, staff, kiosk_id: int):
    kiosk = get_object_or_404(Kiosk, pk=kiosk_id, institution_id=staff.active.institution_id)
    kiosk_deactivate(actor=request.user, kiosk=kiosk)
    messages.success(request, _("El tótem «%(name)s» quedó desactivado.") % {"name": kiosk.name})
    return redirect("console:surveys-kiosks")
