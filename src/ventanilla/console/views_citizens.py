"""Console: a person's page (identities, one timeline across channels, possible duplicates,
merging two records and undoing a merge). Thin views: the reads are in
``citizens.selectors`` and below, the writes in ``citizens.services``.

Scope: the page shows the person inside ONE institution of the staff member — the active
one if the person has tickets there that the staff member may view, otherwise the first
other institution of theirs where that holds. A person without such tickets is a 404, the
same as a person who does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from ventanilla.accounts.models import Membership, Role
from ventanilla.accounts.reauth import require_recent_auth
from ventanilla.citizens.models import Citizen, CitizenMerge
from ventanilla.citizens.selectors import citizen_duplicate_candidates, citizen_merge_list
from ventanilla.citizens.services import (
    citizen_merge,
    citizen_merge_allowed,
    citizen_merge_undo,
)
from ventanilla.console.context import StaffContext, staff_context_for_institution
from ventanilla.console.views import _action_denied, _not_found, staff_required
from ventanilla.core.forms import AccessibleFormMixin
from ventanilla.core.services import audit_record
from ventanilla.tickets import permissions
from ventanilla.tickets.models import Interaction, InteractionKind, Ticket
from ventanilla.tickets.selectors_people import (
    citizen_facts_in_institution,
    citizen_identities_in_institution,
)

MERGE_ROLES = {Role.SUPERVISOR, Role.SYSADMIN}


# --- reads ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonEntry:
    """One line of the person's timeline: an interaction, or a ticket without one."""

    occurred_at: datetime
    label: str
    channel: object
    is_self_service: bool | None
    ticket: Ticket | None
    summary: str = ""  # what staff noted for a contact solved on the spot


def _scope(user, staff: StaffContext, citizen: Citizen) -> tuple[Membership, list[Ticket]] | None:
    """The membership the page is seen through and the person's tickets visible in it."""
    institution_ids = set(Ticket.objects.filter(citizen=citizen)
                          .values_list("institution_id", flat=True).distinct())
    ordered = sorted(staff.memberships, key=lambda m: (m != staff.active, m.institution_id))
    for membership in ordered:
        if (membership.role not in permissions.CASE_ROLES
                or membership.institution_id not in institution_ids):
            continue
        tickets = [t for t in (Ticket.objects.filter(citizen=citizen,
                                                     institution_id=membership.institution_id)
                               .select_related("channel", "area").order_by("-received_at"))
                   if permissions.can(user, "view", t)]
        if tickets:
            return membership, tickets
    return None


def person_timeline(*, membership: Membership, citizen: Citizen,
                    tickets: list[Ticket]) -> list[PersonEntry]:
    visible = {ticket.pk: ticket for ticket in tickets}
    restricted = membership.role == Role.RESPONDER
    entries, opened = [], set()
    rows = (Interaction.objects.filter(citizen=citizen, institution_id=membership.institution_id)
            .select_related("channel").order_by("-occurred_at", "-pk"))
    for row in rows:
        ticket = visible.get(row.ticket_id) if row.ticket_id else None
        if row.ticket_id and ticket is None:
            continue  # a ticket this staff member may not see
        if ticket is None and restricted:
            continue  # responders see their areas' cases only
        if ticket is not None and row.kind == InteractionKind.TICKET_OPENED:
            opened.add(ticket.pk)
        entries.append(PersonEntry(occurred_at=row.occurred_at, label=row.get_kind_display(),
                                   channel=row.channel, is_self_service=row.is_self_service,
                                   ticket=ticket, summary=(row.data or {}).get("summary", "")))
    for ticket in tickets:
        if ticket.pk not in opened:
            entries.append(PersonEntry(occurred_at=ticket.received_at,
                                       label=str(InteractionKind.TICKET_OPENED.label),
                                       channel=ticket.channel, is_self_service=None,
                                       ticket=ticket))
    entries.sort(key=lambda e: e.occurred_at, reverse=True)
    return entries


# --- forms ---------------------------------------------------------------------------------------

class MergeForm(AccessibleFormMixin, forms.Form):
    keep = forms.TypedChoiceField(
        label=gettext_lazy("Registro que se conserva"), coerce=int, widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Elija el registro que se conserva.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Motivo"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Por qué son la misma persona (queda en el registro de "
                               "auditoría)."),
        error_messages={"required": gettext_lazy("Indique el motivo de la fusión.")},
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("Confirmo que ambos registros son la misma persona"),
        error_messages={"required": gettext_lazy("Confirme la fusión marcando la casilla.")},
    )

    def __init__(self, *args, citizen: Citizen, other: Citizen, **kwargs):
        kwargs.setdefault("prefix", f"merge-{other.pk}")
        super().__init__(*args, **kwargs)
        self.citizen, self.other = citizen, other
        self.fields["keep"].choices = [
            (citizen.pk, _("Este registro (%(name)s)") % {"name": citizen}),
            (other.pk, _("El otro registro (%(name)s)") % {"name": other}),
        ]


# --- views ---------------------------------------------------------------------------------------

def _citizen_or_none(citizen_id: int) -> Citizen | None:
    return Citizen.objects.filter(pk=citizen_id).first()


def _render_person(request, staff: StaffContext, citizen: Citizen, membership: Membership,
                   tickets: list[Ticket], *, bound_form: MergeForm | None = None,
                   status: int = 200) -> HttpResponse:
    user = request.user
    can_merge = membership.role in MERGE_ROLES
    candidates = []
    for candidate in citizen_duplicate_candidates(citizen=citizen):
        if can_merge and citizen_merge_allowed(actor=user, keep=citizen,
                                               other=candidate.citizen):
            form = (bound_form if bound_form is not None and bound_form.other.pk
                    == candidate.citizen.pk else MergeForm(citizen=citizen,
                                                          other=candidate.citizen))
            candidates.append({"candidate": candidate, "form": form})
    merges = citizen_merge_list(citizen=citizen)
    context = {
        "staff": staff_context_for_institution(staff, membership.institution_id),
        "citizen": citizen,
        # What this institution received, not what other institutions recorded.
        "identities": citizen_identities_in_institution(citizen=citizen,
                                                        institution=membership.institution),
        "facts": citizen_facts_in_institution(citizen=citizen,
                                              institution=membership.institution),
        "tickets": tickets,
        "timeline": person_timeline(membership=membership, citizen=citizen, tickets=tickets),
        "candidates": candidates,
        "merges": merges,
        "can_merge": can_merge,
        # Supervisors and system administrators review accesses, export and erase.
        "can_review_access": can_merge,
    }
    # Staff access to personal data is accountable: every display is audited.
    audit_record(actor=user, action="citizen.viewed", obj=citizen,
                 institution=membership.institution)
    return render(request, "console/citizens/page.html", context, status=status)


@require_safe
@staff_required
def citizen_detail(request: HttpRequest, staff: StaffContext, citizen_id: int) -> HttpResponse:
    citizen = _citizen_or_none(citizen_id)
    scope = _scope(request.user, staff, citizen) if citizen else None
    if scope is None:
        return _not_found(request, staff)
    return _render_person(request, staff, citizen, *scope)


@require_POST
@staff_required
@require_recent_auth
def citizen_merge_view(request: HttpRequest, staff: StaffContext, citizen_id: int,
                       other_id: int) -> HttpResponse:
    citizen = _citizen_or_none(citizen_id)
    scope = _scope(request.user, staff, citizen) if citizen else None
    other = _citizen_or_none(other_id)
    if scope is None or other is None:
        return _not_found(request, staff)
    membership, tickets = scope
    if membership.role not in MERGE_ROLES:
        return _action_denied(request, staff)
    form = MergeForm(request.POST, citizen=citizen, other=other)
    if form.is_valid():
        keep_id = form.cleaned_data["keep"]
        keep, absorbed = (citizen, other) if keep_id == citizen.pk else (other, citizen)
        try:
            citizen_merge(keep=keep, other=absorbed, actor=request.user,
                          reason=form.cleaned_data["reason"])
        except PermissionDenied:
            return _action_denied(request, staff)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Los registros se fusionaron. Puede deshacer la "
                                        "fusión desde esta página."))
            return redirect("console:citizen", keep.pk)
    return _render_person(request, staff, citizen, membership, tickets, bound_form=form,
                          status=400)


@require_POST
@staff_required
@require_recent_auth
def citizen_merge_undo_view(request: HttpRequest, staff: StaffContext, citizen_id: int,
                            merge_id: int) -> HttpResponse:
    citizen = _citizen_or_none(citizen_id)
    scope = _scope(request.user, staff, citizen) if citizen else None
    merge = CitizenMerge.objects.filter(pk=merge_id, keep_id=citizen_id).first()
    if scope is None or merge is None:
        return _not_found(request, staff)
    if scope[0].role not in MERGE_ROLES:
        return _action_denied(request, staff)
    try:
        citizen_merge_undo(merge=merge, actor=request.user)
    except PermissionDenied:
        return _action_denied(request, staff)
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("La fusión se deshizo: cada registro recuperó lo suyo."))
    return redirect("console:citizen", citizen.pk)
