"""Writes of the surveys app: invitations on closure, answers (link, end of tracking, kiosk)
and kiosk pairing. Each is one function, in one transaction, checking its own rules."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.accounts.models import Role
from ventanilla.catalog.models import Workflow
from ventanilla.core.services import audit_record
from ventanilla.surveys import selectors
from ventanilla.surveys.models import Kiosk, Source, Survey, SurveyInvitation, SurveyResponse
from ventanilla.surveys.tokens import invitation_url
from ventanilla.tickets.permissions import membership_for

COMMENT_MAX_LENGTH = 1000
KIOSK_NAME_MAX_LENGTH = 80
# Abuse guard of a kiosk: nobody answers more than once every six seconds at a counter.
# Beyond this many answers per minute (per active kiosk of the office) answers are dropped
# silently: the page thanks as usual, so a child tapping the faces gets no game out of it.
KIOSK_ANSWERS_PER_MINUTE = 10
KIOSK_ROLES = (Role.OPERATOR, Role.SUPERVISOR, Role.SYSADMIN)


class InvitationUnavailable(Exception):
    """The invitation cannot be answered: ``reason`` is "used" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- invitations ----------------------------------------------------------------------------

def _reply_route(ticket) -> str:
    """How the closing message reaches the person ("" when it cannot: no address)."""
    route = ticket.reply_channel or "email"
    if route == "email":
        address = ticket.reply_address or ticket.contact_email
    else:
        address = ticket.reply_address
    return route if (address or "").strip() else ""


def _gets_survey(ticket) -> bool:
    # Type 1 tickets close at entry with a template: there was no attention to evaluate.
    # A duplicate merged into another ticket is evaluated through the surviving one.
    return (ticket.ticket_type.workflow != Workflow.INFORMATIVE
            and ticket.merged_into_id is None)


def _invitation_create(*, ticket, survey: Survey, sent_via: str) -> SurveyInvitation | None:
    """The ticket's one invitation; None if it already has one (also when a concurrent
    request created it first: the unique ticket column decides)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return SurveyInvitation.objects.create(
                survey=survey, ticket=ticket, sent_via=sent_via, created_at=now,
                expires_at=now + timedelta(days=survey.link_valid_days),
            )
    except IntegrityError:
        return None


def survey_invite_on_close(*, ticket) -> str:
    """Called inside the transaction that closes ``ticket`` (a final answer, a closure, a
    reply "and close"), before the closing message is enqueued: creates the ticket's
    invitation when its channel has an active survey and returns the signed link to put in
    that message ("" when there is no survey, or the ticket already had one)."""
    if not _gets_survey(ticket):
        return ""
    if SurveyInvitation.objects.filter(ticket_id=ticket.pk).exists():
        return ""  # a reopened and re-closed ticket is not asked twice
    survey = selectors.survey_for_channel(institution_id=ticket.institution_id,
                                          channel_id=ticket.channel_id)
    if survey is None:
        return ""
    invitation = _invitation_create(ticket=ticket, survey=survey, sent_via=_reply_route(ticket))
    return invitation_url(invitation.pk) if invitation else ""


def survey_invitation_for_tracking(*, ticket) -> SurveyInvitation | None:
    """The invitation to show at the end of web tracking of a closed ticket: its own if it is
    still open to an answer; with none, one is created now (``sent_via`` "") when the
    ticket's channel has a survey. None when there is nothing to ask."""
    from ventanilla.tickets.models import Status

    if ticket.status != Status.CLOSED or not _gets_survey(ticket):
        return None
    invitation = (SurveyInvitation.objects.select_related("survey")
                  .filter(ticket_id=ticket.pk).first())
    if invitation is None:
        survey = selectors.survey_for_channel(institution_id=ticket.institution_id,
                                              channel_id=ticket.channel_id)
        if survey is None:
            return None
        invitation = _invitation_create(ticket=ticket, survey=survey, sent_via="") or (
            SurveyInvitation.objects.select_related("survey").get(ticket_id=ticket.pk))
    if invitation.used_at is not None or invitation.expires_at <= timezone.now():
        return None
    return invitation


# --- answers --------------------------------------------------------------------------------

def _clean_answer(*, survey: Survey, score, comment: str, reason_ids: Iterable) -> tuple:
    errors = {}
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= survey.scale:
        errors["score"] = _("Elija una de las caritas.")
    comment = (comment or "").strip() if survey.comment_enabled else ""
    if len(comment) > COMMENT_MAX_LENGTH:
        errors["comment"] = _("El comentario puede tener hasta %(max)d caracteres.") % {
            "max": COMMENT_MAX_LENGTH}
    try:
        wanted = {int(value) for value in reason_ids or ()}
    except (TypeError, ValueError):
        wanted = {-1}
    reasons = list(selectors.survey_reasons_offered(survey=survey).filter(pk__in=wanted))
    if len(reasons) != len(wanted):
        errors["reasons"] = _("Elija motivos de la lista.")
    if errors:
        raise ValidationError(errors)
    return score, comment, reasons


def survey_answer(*, invitation: SurveyInvitation, score, comment: str = "",
                  reason_ids: Iterable = (), source: str = Source.LINK) -> SurveyResponse:
    """Answer an invitation (from the link or at the end of tracking). Works once: the
    invitation is claimed with a conditional UPDATE of ``used_at``, so of two concurrent
    posts exactly one creates a response and the other gets ``InvitationUnavailable``."""
    survey = invitation.survey
    score, comment, reasons = _clean_answer(survey=survey, score=score, comment=comment,
                                            reason_ids=reason_ids)
    now = timezone.now()
    with transaction.atomic():
        claimed = SurveyInvitation.objects.filter(
            pk=invitation.pk, used_at__isnull=True, expires_at__gt=now,
        ).update(used_at=now)
        if not claimed:
            used = SurveyInvitation.objects.filter(pk=invitation.pk,
                                                   used_at__isnull=False).exists()
            raise InvitationUnavailable("used" if used else "expired")
        ticket = invitation.ticket
        response = SurveyResponse.objects.create(
            institution_id=ticket.institution_id, survey=survey, invitation=invitation,
            ticket=ticket, source=source, channel_id=ticket.channel_id, office=None,
            area_id=ticket.area_id, topic_id=ticket.topic_id, region_id=ticket.region_id,
            scale=survey.scale, score=score, comment=comment, answered_at=now,
        )
        if reasons:
            response.reasons.set(reasons)
    invitation.used_at = now
    return response


# --- kiosks ---------------------------------------------------------------------------------

def kiosk_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _require_kiosk_role(actor, institution_id: int) -> None:
    membership = membership_for(actor, institution_id)
    if membership is None or membership.role not in KIOSK_ROLES:
        raise PermissionDenied(_("Su rol no permite administrar tótems de encuesta."))


def kiosk_pair(*, actor, office, name: str) -> tuple[Kiosk, str]:
    """Pair a device: returns the kiosk and the random secret to keep in the device's
    cookie. Only the secret's SHA-256 is stored, so a copy of the database opens no kiosk."""
    _require_kiosk_role(actor, office.institution_id)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Escriba un nombre para reconocer el dispositivo.")})
    if len(name) > KIOSK_NAME_MAX_LENGTH:
        raise ValidationError({"name": _("El nombre puede tener hasta %(max)d caracteres.") % {
            "max": KIOSK_NAME_MAX_LENGTH}})
    if not office.is_active:
        raise ValidationError({"office": _("La oficina no está activa.")})
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        kiosk = Kiosk.objects.create(
            institution_id=office.institution_id, office=office, name=name,
            secret_hash=kiosk_secret_hash(secret), paired_by=actor,
        )
        audit_record(actor=actor, action="survey.kiosk_paired", obj=kiosk,
                     institution=kiosk.institution, data={"office_id": office.pk})
    return kiosk, secret


def kiosk_deactivate(*, actor, kiosk: Kiosk) -> Kiosk:
    """Unpair: the device's cookie opens nothing any more (pairing again makes a new one)."""
    _require_kiosk_role(actor, kiosk.institution_id)
    with transaction.atomic():
        Kiosk.objects.filter(pk=kiosk.pk).update(is_active=False)
        kiosk.is_active = False
        audit_record(actor=actor, action="survey.kiosk_deactivated", obj=kiosk,
                     institution=kiosk.institution)
    return kiosk


def kiosk_seen(*, kiosk: Kiosk) -> None:
    Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=timezone.now())


def kiosk_answer(*, kiosk: Kiosk, score, reason_ids: Iterable = ()) -> SurveyResponse | None:
    """One answer at an office kiosk (channel in_person, the kiosk's office). Returns None
    when the kiosk is no longer active or is over its per-minute allowance (dropped on
    purpose, see ``KIOSK_ANSWERS_PER_MINUTE``)."""
    survey = selectors.survey_for_kiosk(kiosk=kiosk)
    if survey is None:
        raise ValidationError({"score": _("No hay una encuesta activa para este tótem.")})
    score, _comment, reasons = _clean_answer(survey=survey, score=score, comment="",
                                             reason_ids=reason_ids)
    now = timezone.now()
    with transaction.atomic():
        # The row lock serialises the answers of one kiosk, so the count below is exact.
        locked = Kiosk.objects.select_for_update().filter(pk=kiosk.pk, is_active=True).first()
        if locked is None:
            return None
        recent = SurveyResponse.objects.filter(
            kiosk_id=kiosk.pk, answered_at__gt=now - timedelta(minutes=1)).count()
        if recent >= KIOSK_ANSWERS_PER_MINUTE:
            return None
        office = kiosk.office
        response = SurveyResponse.objects.create(
            institution_id=kiosk.institution_id, survey=survey, source=Source.KIOSK,
            channel=selectors.in_person_channel(), office=office, region_id=office.region_id,
            kiosk=kiosk,
            scale=survey.scale, score=score, answered_at=now,
        )
        if reasons:
            response.reasons.set(reasons)
        Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=now)
    return response
