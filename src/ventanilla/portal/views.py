"""Citizen pages: institutions, the request form, acknowledgement, tracking and history.

Views only parse input, call a service or selector and render. Access to a ticket is
granted per session (after filing it or proving folio + e-mail) or through the account.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.catalog.cache import channel_by_code
from ventanilla.catalog.models import Channel, Institution
from ventanilla.citizens.services import ContactData
from ventanilla.core.ratelimit import (
    posted_folio,
    rate_limit,
    recent_submission,
    remember_submission,
    submission_fingerprint,
)
from ventanilla.core.rut import rut_format
from ventanilla.portal.access_links import tracking_link_ticket
from ventanilla.portal.forms import (
    CitizenMessageForm,
    PublicTicketRequestForm,
    TrackingForm,
)
from ventanilla.portal.selectors import (
    portal_citizen_for_user,
    portal_public_attachment,
    portal_ticket_get,
    portal_ticket_submitted,
)
from ventanilla.tickets.models import Status
from ventanilla.tickets.selectors import (
    ticket_for_tracking,
    ticket_list_for_citizen,
    ticket_timeline,
)
from ventanilla.tickets.services import (
    TicketDraft,
    interaction_record_tracking,
    ticket_add_citizen_message,
    ticket_open,
)
from ventanilla.tickets.services.lifecycle import reopens_on_citizen_message
from ventanilla.tickets.serving import attachment_response

SESSION_SUBMITTED = "portal_submitted"  # public ids of tickets filed by this session
SESSION_GRANTED = "portal_granted"  # ids of tickets this session may see
SESSION_LIST_LIMIT = 50
MY_REQUESTS_LIMIT = 200


def _remember(request, key: str, value) -> None:
    values = [item for item in request.session.get(key, []) if item != value]
    values.append(value)
    request.session[key] = values[-SESSION_LIST_LIMIT:]


def _granted_ids(request) -> list[int]:
    return list(request.session.get(SESSION_GRANTED, []))


def _web_channel(institution=None):
    if institution is None:
        return catalog_selectors.channel_get(code="web")
    channel = channel_by_code(institution, "web")  # cached with the configuration
    if channel is None:
        raise Channel.DoesNotExist("the web channel is missing")
    return channel


def _apply_service_errors(form, exc: ValidationError) -> None:
    """Put the service's errors next to the matching fields (others go to the summary)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


@require_http_methods(["GET", "HEAD"])
def home(request):
    return render(request, "portal/home.html", {
        "institutions": catalog_selectors.institution_list_active(),
    })


def _initial_for(request) -> dict:
    initial = {"idempotency_key": uuid.uuid4().hex}
    user = request.user
    if user.is_authenticated:
        initial.update(full_name=user.get_full_name(), email=user.email)
        citizen = portal_citizen_for_user(user=user)
        if citizen is not None:
            initial.update(rut=rut_format(citizen.rut or ""), phone=citizen.phone)
            if citizen.full_name and not initial["full_name"]:
                initial["full_name"] = citizen.full_name
    return initial


def _request_form_limited(request, institution):
    """Over the submission limit: the form again, with what was typed, and a 429."""
    limited = request.rate_limited
    kept = {name: value for name, value in request.POST.items()
            if name in PublicTicketRequestForm.base_fields
            and name not in ("sitio_web", "form_started", "attachments")}
    form = PublicTicketRequestForm(initial=kept, institution=institution)
    response = render(request, "portal/request_form.html", {
        "institution": institution, "form": form, "files_lost": bool(request.FILES),
        "rate_limited_minutes": max(1, -(-limited.retry_after // 60)),
    }, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit("request_form", block=False)
def request_new(request, institution_slug: str):
    institution = get_object_or_404(Institution, slug=institution_slug, is_active=True)
    if request.method == "POST":
        if request.rate_limited:
            return _request_form_limited(request, institution)
        form = PublicTicketRequestForm(request.POST, request.FILES, institution=institution)
        if form.is_valid():
            data = form.cleaned_data
            # The same content again from the same address (a reload, a second click on a
            # fresh form): the first folio, not a second ticket. Only the confirmation page
            # is opened to this session, not the ticket's tracking.
            fingerprint = submission_fingerprint(
                request, str(institution.pk), data["email"], data["subject"], data["detail"],
                *sorted(upload.sha256 for upload in data["attachments"]))
            first = recent_submission(fingerprint)
            if first and portal_ticket_submitted(public_id=first, submitted=[first]):
                _remember(request, SESSION_SUBMITTED, first)
                return redirect("portal:request-done", public_id=first)
            draft = TicketDraft(
                institution=institution, channel=_web_channel(institution),
                ticket_type=data["ticket_type"], topic=data["topic"],
                subject=data["subject"], detail=data["detail"],
                contact=ContactData(full_name=data["full_name"], email=data["email"],
                                    phone=data["phone"], rut=data["rut"]),
                urgency=data["urgency"], requester_type=data.get("requester_type"),
                organization=data["organization"], region=data["region"], comuna=data["comuna"],
                attachments=data["attachments"],
                citizen_user=request.user if request.user.is_authenticated else None,
                idempotency_key=data["idempotency_key"] or None,
            )
            try:
                ticket = ticket_open(draft=draft)
            except ValidationError as exc:
                _apply_service_errors(form, exc)
            else:
                remember_submission(fingerprint, str(ticket.public_id))
                _remember(request, SESSION_SUBMITTED, str(ticket.public_id))
                _remember(request, SESSION_GRANTED, ticket.pk)
                return redirect("portal:request-done", public_id=ticket.public_id)
    else:
        form = PublicTicketRequestForm(initial=_initial_for(request), institution=institution)
    return render(request, "portal/request_form.html", {
        "institution": institution, "form": form,
        "files_lost": form.is_bound and bool(request.FILES),
    })


@require_http_methods(["GET", "HEAD"])
def request_done(request, public_id):
    ticket = portal_ticket_submitted(
        public_id=public_id, submitted=request.session.get(SESSION_SUBMITTED, [])
    )
    if ticket is None:
        return redirect("portal:track")
    return render(request, "portal/request_done.html", {"ticket": ticket})


@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit("track")
@rate_limit("track_folio", target=posted_folio)
def track(request):
    not_found = False
    if request.method == "POST":
        form = TrackingForm(request.POST)
        if form.is_valid():
            ticket = ticket_for_tracking(
                folio=form.cleaned_data["folio"], email=form.cleaned_data["email"]
            )
            if ticket is not None:
                _remember(request, SESSION_GRANTED, ticket.pk)
                interaction_record_tracking(ticket=ticket, channel=_web_channel())
                return redirect("portal:track-detail", folio=ticket.folio)
            # One message whether the folio does not exist or the e-mail does not match.
            not_found = True
    else:
        form = TrackingForm(initial={"folio": request.GET.get("folio", "")[:40]})
    return render(request, "portal/track.html", {"form": form, "not_found": not_found})


@require_http_methods(["GET", "HEAD"])
@rate_limit("track_view", methods=("GET", "HEAD"))
def track_link(request, token: str):
    """A personal link sent by SMS or WhatsApp: opens the ticket like folio + e-mail do."""
    ticket = tracking_link_ticket(token)
    if ticket is None:
        messages.error(request, _("El enlace de seguimiento no es válido o expiró. Ingrese su "
                                  "folio y correo electrónico, o escríbanos por el mismo canal."))
        return redirect("portal:track")
    _remember(request, SESSION_GRANTED, ticket.pk)
    interaction_record_tracking(ticket=ticket, channel=_web_channel())
    return redirect("portal:track-detail", folio=ticket.folio)


@require_http_methods(["GET", "HEAD", "POST"])
@rate_limit("track_view", methods=("GET", "HEAD", "POST"))
def track_detail(request, folio: str):
    ticket = portal_ticket_get(folio=folio, granted_ids=_granted_ids(request), user=request.user)
    if ticket is None:
        return redirect("portal:track")
    if request.method == "POST":
        form = CitizenMessageForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                ticket_add_citizen_message(
                    ticket=ticket, body=form.cleaned_data["body"], channel=_web_channel(),
                    attachments=form.cleaned_data["attachments"],
                )
            except ValidationError as exc:
                _apply_service_errors(form, exc)
            else:
                messages.success(
                    request, _("Recibimos su mensaje. Quedó registrado en el historial.")
                )
                return redirect("portal:track-detail", folio=ticket.folio)
    else:
        form = CitizenMessageForm()
    events = ticket_timeline(ticket=ticket, public_only=True)
    for event in events:
        event.to_status_label = (
            Status(event.to_status).label if event.to_status in Status.values else ""
        )
    return render(request, "portal/track_detail.html", {
        "ticket": ticket, "form": form, "events": events,
        "is_closed": ticket.status == Status.CLOSED,
        "reopens_on_message": (ticket.status == Status.CLOSED
                               and reopens_on_citizen_message(ticket)),
        "files_lost": form.is_bound and bool(request.FILES),
    })



@require_http_methods(["GET", "HEAD"])
def track_attachment(request, folio: str, attachment_id: int):
    ticket = portal_ticket_get(folio=folio, granted_ids=_granted_ids(request), user=request.user)
    if ticket is None:
        return redirect("portal:track")
    attachment = portal_public_attachment(ticket=ticket, attachment_id=attachment_id)
    if attachment is None:
        raise Http404(_("El archivo no existe."))
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404(_("El archivo no está disponible.")) from None
    return attachment_response(handle, filename=attachment.original_name,
                               content_type=attachment.content_type)


@login_required
@require_http_methods(["GET", "HEAD"])
def my_requests(request):
    user = request.user
    return render(request, "portal/my_requests.html", {
        "tickets": list(ticket_list_for_citizen(user=user)[:MY_REQUESTS_LIMIT]),
        "email_unverified": user.email_verified_at is None,
    })
