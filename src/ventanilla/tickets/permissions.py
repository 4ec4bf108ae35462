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

Triage ("triage": confirm or correct the area the rules chose) and assigning a ticket to a
member of its area ("assign"): triage, supervisor, sysadmin. Taking a ticket ("take"): those
and responders (in their areas). A responder does not see a Type 2 ticket while its triage
is pending: it is not yet the area's.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from ventanilla.accounts.models import Membership, Role
from ventanilla.tickets.models import TriageStatus

ACTIONS_BY_ROLE: dict[str, set[str]] = {
    Role.OPERATOR: {"view", "add_note"},
    Role.TRIAGE: {"view", "add_note", "reply", "change_status", "change_area",
                  "triage", "assign", "take"},
    Role.RESPONDER: {"view", "add_note", "reply", "change_status", "take"},
    Role.SUPERVISOR: {"view", "add_note", "reply", "change_status", "change_area",
                      "triage", "assign", "take"},
    Role.SYSADMIN: {"view", "add_note", "reply", "change_status", "change_area",
                    "triage", "assign", "take"},
    Role.AUDITOR: set(),
}
# Links between tickets (tickets/services/links.py): "link" merges and splits and links any
# two tickets; "link_related" only links related ones (responders: both in their areas).
for _role in (Role.TRIAGE, Role.SUPERVISOR, Role.SYSADMIN):
    ACTIONS_BY_ROLE[_role] |= {"link", "link_related"}
ACTIONS_BY_ROLE[Role.RESPONDER] |= {"link_related"}
# The three-stage answer (tickets/services/answers.py): responders of the ticket's area,
# triage, supervisors and sysadmins draft answers and record a root cause; supervisors and
# sysadmins approve answers on sensitive topics; triage, supervisors and sysadmins send
# them, responders only when their area sends its own answers (checked in ``can``).
for _role in (Role.TRIAGE, Role.RESPONDER, Role.SUPERVISOR, Role.SYSADMIN):
    ACTIONS_BY_ROLE[_role] |= {"answer_draft", "answer_send", "set_root_cause"}
for _role in (Role.SUPERVISOR, Role.SYSADMIN):
    ACTIONS_BY_ROLE[_role] |= {"answer_review"}

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
        if action == "answer_send" and not (ticket.area_id and ticket.area.sends_answers):
            return False
        # A Type 2 ticket is not the area's until the triage confirms it.
        return (ticket.area_id is not None and ticket.area_id in area_ids(membership)
                and ticket.triage_status != TriageStatus.PENDING)
    return True


def require(user, action: str, ticket) -> None:
    if not can(user, action, ticket):
        raise PermissionDenied(f"{action} not allowed on ticket {ticket.pk}")
