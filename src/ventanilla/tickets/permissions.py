"""Who may do what to which ticket. Checked inside services and selectors, so that no
view, template or future API can forget it.

Powers come from ``accounts.Membership`` rows (one role per institution):

=============  ====  =====  =====  ============  ===========
role           view  note   reply  change status change area
=============  ====  =====  =====  ============  ===========
operator       all   yes    no     no            no
triage         all   yes    yes    yes           yes
responder      area  yes    yes    yes           no
supervisor     all   yes    yes    yes           yes
sysadmin       all   yes    yes    yes           yes
auditor        none  no     no     no            no
=============  ====  =====  =====  ============  ===========
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from ventanilla.accounts.models import Membership, Role

ACTIONS_BY_ROLE: dict[str, set[str]] = {
    Role.OPERATOR: {"view", "add_note"},
    Role.TRIAGE: {"view", "add_note", "reply", "change_status", "change_area"},
    Role.RESPONDER: {"view", "add_note", "reply", "change_status"},
    Role.SUPERVISOR: {"view", "add_note", "reply", "change_status", "change_area"},
    Role.SYSADMIN: {"view", "add_note", "reply", "change_status", "change_area"},
    Role.AUDITOR: set(),
}

# Roles that see personal data in the console (the auditor sees aggregates only).
CASE_ROLES = {Role.OPERATOR, Role.TRIAGE, Role.RESPONDER, Role.SUPERVISOR, Role.SYSADMIN}


def membership_for(user, institution_id: int) -> Membership | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cache = getattr(user, "_membership_cache", None)
    if cache is None:
        cache = {m.institution_id: m for m in
                 Membership.objects.filter(user=user, is_active=True).prefetch_related("areas")}
        user._membership_cache = cache
    return cache.get(institution_id)


def area_ids(membership: Membership) -> set[int]:
    return {area.pk for area in membership.areas.all()}


def can(user, action: str, ticket) -> bool:
    membership = membership_for(user, ticket.institution_id)
    if membership is None or action not in ACTIONS_BY_ROLE.get(membership.role, set()):
        return False
    if membership.role == Role.RESPONDER:
        return ticket.area_id is not None and ticket.area_id in area_ids(membership)
    return True


def require(user, action: str, ticket) -> None:
    if not can(user, action, ticket):
        raise PermissionDenied(f"{action} not allowed on ticket {ticket.pk}")
