"""Public survey pages: the link sent after closure (``/encuesta/<token>/``) and the answer
given at the end of web tracking. No login: the signed link, or the tracking session's
grant, is the permission. Thin views: parse, call a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ventanilla.core.ratelimit import rate_limit
from ventanilla.portal.selectors import portal_ticket_get
from ventanilla.portal.views import SESSION_GRANTED
from ventanilla.surveys import selectors
from ventanilla.surveys.forms import SurveyAnswerForm
from ventanilla.surveys.models import Source
from ventanilla.surveys.services import (
    InvitationUnavailable,
    survey_answer,
    survey_invitation_for_tracking,
)
from ventanilla.surveys.tokens import invitation_id_from_token


def _private(response):
    # The page belongs to one person's link: no shared cache keeps it, no search engine.
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response


def _closed_page(request, reason: str, *, institution=None):
    template, status = {
        "invalid": ("surveys/link_invalid.html", 404),
        "expired": ("surveys/link_expired.html", 410),
        "used": ("surveys/link_used.html", 200),
    }[reason]
    return _private(render(request, template, {"institution": institution}, status=status))


def _apply_errors(form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


def _answer(form, invitation, *, source: str):
    """Validate and answer; returns an error reason ("used"/"expired"), "" when answered,
    or None when the form has errors."""
    if not form.is_valid():
        return None
    try:
        survey_answer(invitation=invitation, score=form.cleaned_data["score"],
                      comment=form.cleaned_data.get("comment", ""),
                      reason_ids=form.cleaned_data.get("reasons", []), source=source)
    except InvitationUnavailable as exc:
        return exc.reason
    except ValidationError as exc:
        _apply_errors(form, exc)
        return None
    return ""


@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit("survey")
def survey_answer_view(request, token: str):
    invitation_id = invitation_id_from_token(token)
    invitation = (selectors.invitation_get(invitation_id=invitation_id)
                  if invitation_id is not None else None)
    if invitation is None:
        return _closed_page(request, "invalid")
    institution = invitation.ticket.institution
    if invitation.used_at is not None:
        return _closed_page(request, "used", institution=institution)
    if invitation.expires_at <= timezone.now():
        return _closed_page(request, "expired", institution=institution)
    form = SurveyAnswerForm(request.POST if request.method == "POST" else None,
                            survey=invitation.survey)
    if request.method == "POST":
        outcome = _answer(form, invitation, source=Source.LINK)
        if outcome == "":
            return redirect("survey-thanks")
        if outcome:
            return _closed_page(request, outcome, institution=institution)
    return _private(render(request, "surveys/answer.html", {
        "form": form, "survey": invitation.survey, "institution": institution,
        "ticket": invitation.ticket,
    }, status=400 if form.errors else 200))


@require_safe
def survey_thanks(request):
    return _private(render(request, "surveys/thanks.html"))


@require_POST
@rate_limit("survey")
def survey_tracking_answer(request, folio: str):
    """The form shown at the end of web tracking posts here; the same session grant as the
    tracking page (``portal.views.SESSION_GRANTED``, or the person's account) is needed."""
    ticket = portal_ticket_get(folio=folio, user=request.user,
                               granted_ids=list(request.session.get(SESSION_GRANTED, [])))
    if ticket is None:
        return redirect("portal:track")
    invitation = survey_invitation_for_tracking(ticket=ticket)
    if invitation is None:
        messages.info(request, _("Esta encuesta ya fue respondida o ya no está disponible."))
        return redirect("portal:track-detail", folio=ticket.folio)
    form = SurveyAnswerForm(request.POST, survey=invitation.survey)
    outcome = _answer(form, invitation, source=Source.TRACKING)
    if outcome is None:
        return _private(render(request, "surveys/tracking_answer.html", {
            "form": form, "survey": invitation.survey, "ticket": ticket,
            "institution": ticket.institution,
        }, status=400))
    if outcome == "":
        messages.success(request, _("¡Gracias por su opinión! Nos ayuda a mejorar la "
                                    "atención."))
    else:
        messages.info(request, _("Esta encuesta ya fue respondida o ya no está disponible."))
    return redirect("portal:track-detail", folio=ticket.folio)
