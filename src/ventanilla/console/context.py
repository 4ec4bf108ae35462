"""Who is using the console and in which institution.

A staff member's powers come from their active ``Membership`` rows. With several, the
one chosen through the header selector (kept in the session) is the active one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpResponse
from django.shortcuts import render

from ventanilla.accounts.models import Membership, Role
from ventanilla.console.selectors import membership_list_for_console
from ventanilla.tickets import permissions

SESSION_KEY = "console_institution_id"


@dataclass(frozen=True)
class StaffContext:
    memberships: list[Membership]
    active: Membership | None

    @property
    def has_access(self) -> bool:
        return bool(self.memberships)

    @property
    def sees_cases(self) -> bool:
        """The active role may open tickets (the auditor sees aggregates only)."""
        return self.active is not None and self.active.role in permissions.CASE_ROLES

    @property
    def is_auditor(self) -> bool:
        return self.active is not None and self.active.role == Role.AUDITOR

    def membership_for_institution(self, institution_id: int) -> Membership | None:
        for membership in self.memberships:
            if membership.institution_id == institution_id:
                return membership
        return None


def staff_context(request) -> StaffContext:
    """The memberships of the logged-in user and the active one (cached on the request)."""
    cached = getattr(request, "_console_staff_context", None)
    if cached is not None:
        return cached
    memberships = membership_list_for_console(user=request.user)
    chosen = request.session.get(SESSION_KEY)
    active = next((m for m in memberships if m.institution_id == chosen), None)
    if active is None and memberships:
        active = memberships[0]
    context = StaffContext(memberships=memberships, active=active)
    request._console_staff_context = context
    return context


def staff_context_for_institution(context: StaffContext, institution_id: int) -> StaffContext:
    """The same staff member working inside a given institution (the ticket's own)."""
    membership = context.membership_for_institution(institution_id)
    return StaffContext(memberships=context.memberships, active=membership or context.active)


def institution_choose(request, *, institution_id: int) -> Membership | None:
    """Make one of the user's institutions the active one. None if it is not theirs."""
    context = staff_context(request)
    membership = context.membership_for_institution(institution_id)
    if membership is None:
        return None
    request.session[SESSION_KEY] = membership.institution_id
    request._console_staff_context = StaffContext(
        memberships=context.memberships, active=membership
    )
    return membership


def forbidden_response(request, staff: StaffContext | None, *, title: str,
                       explanation: str) -> HttpResponse:
    """The console's 403 page: what the person may not do here, and why."""
    return render(request, "console/forbidden.html", {
        "staff": staff, "title": title, "explanation": explanation,
    }, status=403)
