"""Routing on entry, triage and assignment inside an area.

``routing_decide`` runs inside the intake transaction; the triage and assignment services
are use cases of their own (one transaction each, permission-checked, timeline event and
audit row written with the change).

This module must not import ``ventanilla.tickets.services`` at import time: the intake
service imports it (``routing_decide``), so the ticket services are imported lazily.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import CharField, Count, Q, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.accounts.models import Role, User
from ventanilla.catalog.cache import institution_config
from ventanilla.catalog.models import Area, AssignmentPolicy
from ventanilla.core.services import audit_record
from ventanilla.routing.models import RoutingRule
from ventanilla.tickets import permissions
from ventanilla.tickets.models import (
    OPEN_STATUSES,
    EventKind,
    Ticket,
    TicketEvent,
    TriageStatus,
)


@dataclass(frozen=True)
class RoutingDecision:
    area: object | None  # catalog.Area
    priority: str = ""
    rule: object | None = None  # routing.RoutingRule


# --- routing on entry ----------------------------------------------------------------------------

_KEYWORD_SEPARATORS = re.compile(r"[,\n\r]+")


def text_fold(text: str) -> str:
    """Lower case without accents (``"Celíaca"`` → ``"celiaca"``, ``"Ñuble"`` → ``"nuble"``),
    whitespace collapsed: the form in which keywords and ticket text are compared."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def keyword_list(raw: str) -> list[str]:
    """The rule's keywords (comma or newline separated), folded, without empties."""
    return [kw for kw in (text_fold(part) for part in _KEYWORD_SEPARATORS.split(raw or "")) if kw]


def keyword_pattern(keywords: list[str]) -> re.Pattern | None:
    """One regex that finds any of the (folded) keywords as a whole word or phrase: "pan"
    matches "pan" and "sin pan." but not "panorama" or "empanada"."""
    if not keywords:
        return None
    alternatives = "|".join(
        r"\s+".join(re.escape(word) for word in keyword.split()) for keyword in keywords
    )
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


@dataclass
class _Facts:
    """What the rules look at, taken from a draft (the same derivations as the intake)."""

    institution_id: int
    ticket_type_id: int | None
    topic_ids: set[int]  # the topic and its ancestors: a rule on a program covers products
    channel_id: int | None
    region_id: str | int | None
    comuna_id: str | int | None
    organization_id: int | None
    urgency: str
    text: str


def _topic_lineage(topic) -> set[int]:
    ids: set[int] = set()
    node = topic
    while node is not None and node.pk not in ids:
        ids.add(node.pk)
        node = node.parent if node.parent_id else None
    return ids


def _facts(draft) -> _Facts:
    organization = draft.organization
    region = draft.region or (draft.comuna.region if draft.comuna else None)
    if region is None and organization is not None:
        region = organization.region
    comuna = draft.comuna
    if (comuna is None and organization is not None and region is not None
            and organization.comuna.region_id == region.pk):
        comuna = organization.comuna
    return _Facts(
        institution_id=draft.institution.pk,
        ticket_type_id=draft.ticket_type.pk if draft.ticket_type else None,
        topic_ids=_topic_lineage(draft.topic) if draft.topic else set(),
        channel_id=draft.channel.pk if draft.channel else None,
        region_id=region.pk if region else None,
        comuna_id=comuna.pk if comuna else None,
        organization_id=organization.pk if organization else None,
        urgency=draft.urgency,
        text=text_fold(f"{draft.subject}\n{draft.detail}"),
    )


# The rule's many-to-many conditions, by attribute of ``_CompiledRule``.
CONDITIONS = ("ticket_types", "topics", "channels", "regions", "comunas", "organizations")


class _CompiledRule:
    """A rule with its conditions as id sets, ready to be evaluated many times."""

    def __init__(self, rule: RoutingRule, conditions: dict[str, set] | None = None):
        self.rule = rule
        if conditions is None:
            conditions = {name: {o.pk for o in getattr(rule, name).all()} for name in CONDITIONS}
        self.ticket_types = conditions.get("ticket_types", set())
        self.topics = conditions.get("topics", set())
        self.channels = conditions.get("channels", set())
        self.regions = conditions.get("regions", set())
        self.comunas = conditions.get("comunas", set())
        self.organizations = conditions.get("organizations", set())
        self.urgencies = set(rule.urgencies or [])
        self.pattern = keyword_pattern(keyword_list(rule.keywords))

    def matches(self, facts: _Facts) -> bool:
        def holds(condition: set, value) -> bool:
            return not condition or value in condition

        return (
            holds(self.ticket_types, facts.ticket_type_id)
            and (not self.topics or bool(self.topics & facts.topic_ids))
            and holds(self.channels, facts.channel_id)
            and holds(self.regions, facts.region_id)
            and holds(self.comunas, facts.comuna_id)
            and holds(self.organizations, facts.organization_id)
            and holds(self.urgencies, facts.urgency)
            and (self.pattern is None or self.pattern.search(facts.text) is not None)
        )


def _condition_rows(institution_id: int):
    """(rule id, condition name, target id as text) of every many-to-many condition of the
    institution's rules, in one query (a UNION ALL of the six link tables) instead of one
    prefetch query per kind: routing runs on every intake."""
    parts = []
    for name in CONDITIONS:
        field = RoutingRule._meta.get_field(name)
        through = field.remote_field.through
        target_column = f"{field.m2m_reverse_field_name()}_id"
        parts.append(
            through.objects.filter(routingrule__institution_id=institution_id)
            .annotate(condition=Value(name, output_field=CharField()),
                      target=Cast(target_column, output_field=CharField()))
            .values_list("routingrule_id", "condition", "target"))
    return parts[0].union(*parts[1:], all=True)


def rules_for(*, institution_id: int) -> list[_CompiledRule]:
    """The institution's active rules whose area is usable, in (position, id) order. Two
    queries however many rules and conditions there are: the rules, then every condition."""
    rules = list(
        RoutingRule.objects.filter(
            institution_id=institution_id, is_active=True,
            area__institution_id=institution_id, area__is_active=True,
        )
        .select_related("area")
        .order_by("position", "id")
    )
    if not rules:
        return []
    conditions: dict[int, dict[str, set]] = {rule.pk: {} for rule in rules}
    # The targets come back as text: back to each model's primary key type (ids, CUT codes).
    to_pk = {name: RoutingRule._meta.get_field(name).related_model._meta.pk.to_python
             for name in CONDITIONS}
    for rule_id, name, target in _condition_rows(institution_id):
        if rule_id in conditions:
            conditions[rule_id].setdefault(name, set()).add(to_pk[name](target))
    return [_CompiledRule(rule, conditions[rule.pk]) for rule in rules]


def routing_first_match(*, draft, rules: list[_CompiledRule]) -> RoutingDecision | None:
    facts = _facts(draft)
    for compiled in rules:
        if compiled.matches(facts):
            rule = compiled.rule
            return RoutingDecision(area=rule.area, priority=rule.priority, rule=rule)
    return None


def routing_decide(*, draft) -> RoutingDecision | None:
    """The first active rule of the draft's institution whose conditions all hold, or None
    (then the topic's default area applies). The compiled rules are cached per process and
    institution configuration version (``catalog.cache``): an edited rule applies from the
    next request on."""
    institution = draft.institution
    rules = institution_config(institution).get(
        "routing-rules", lambda: rules_for(institution_id=institution.pk))
    return routing_first_match(draft=draft, rules=rules)


# --- helpers -------------------------------------------------------------------------------------

def _locked(ticket: Ticket) -> Ticket:
    # Lock only the ticket row (the area is a nullable join, which FOR UPDATE cannot lock).
    return Ticket.objects.select_for_update(of=("self",)).select_related("area").get(
        pk=ticket.pk)


def _responder_members(area: Area):
    """Active users with an active responder membership in the area's institution that
    includes the area, by id."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__institution_id=area.institution_id,
            memberships__is_active=True,
            memberships__role=Role.RESPONDER,
            memberships__areas=area,
        )
        .distinct()
        .order_by("id")
    )


def _record_assignment(ticket: Ticket, *, actor, assignee, previous, automatic: bool,
                       policy: str = "") -> None:
    data = {
        "assignee_id": assignee.pk if assignee else None,
        "assignee": str(assignee) if assignee else None,
        "previous_id": previous.pk if previous else None,
        "automatic": automatic,
    }
    if policy:
        data["policy"] = policy
    if assignee is None:
        body = _("Quedó sin responsable.")
    elif automatic:
        body = _("Asignado automáticamente a %(name)s.") % {"name": assignee}
    else:
        body = _("Asignado a %(name)s.") % {"name": assignee}
    TicketEvent.objects.create(
        ticket=ticket, kind=EventKind.ASSIGNED, actor=actor, is_public=False, body=body,
        data=data,
    )
    audit_record(actor=actor, action="ticket.assigned", obj=ticket,
                 institution=ticket.institution,
                 data={"from": data["previous_id"], "to": data["assignee_id"],
                       "automatic": automatic})


# --- assignment ----------------------------------------------------------------------------------

def assignment_auto(*, ticket: Ticket):
    """Assign the ticket inside its area according to the area's policy; returns the new
    assignee or None. Runs inside the caller's transaction (after triage confirmation, on
    entry for tickets that need no triage, after a derivation). A ticket that already has
    an assignee, is closed or has no area is left alone.

    The area row is locked first, so two concurrent assignments in one area queue: round
    robin never hands two tickets to the same person out of turn, and "least open" counts
    the other's assignment.
    """
    if ticket.area_id is None or ticket.assignee_id is not None or not ticket.is_open:
        return None
    with transaction.atomic():
        area = Area.objects.select_for_update().get(pk=ticket.area_id)
        if area.assignment_policy == AssignmentPolicy.MANUAL:
            return None
        members = _responder_members(area)
        if area.assignment_policy == AssignmentPolicy.ROUND_ROBIN:
            chosen = None
            if area.last_assignee_id is not None:
                chosen = members.filter(pk__gt=area.last_assignee_id).first()
            chosen = chosen or members.first()
            if chosen is None:
                return None
            Area.objects.filter(pk=area.pk).update(last_assignee=chosen)
        elif area.assignment_policy == AssignmentPolicy.LEAST_OPEN:
            chosen = (
                members.annotate(open_count=Count(
                    "assigned_tickets", distinct=True,
                    filter=Q(assigned_tickets__status__in=OPEN_STATUSES,
                             assigned_tickets__institution_id=area.institution_id),
                ))
                .order_by("open_count", "id")
                .first()
            )
            if chosen is None:
                return None
        else:
            return None
        Ticket.objects.filter(pk=ticket.pk).update(assignee=chosen, updated_at=timezone.now())
        ticket.assignee = chosen
        _record_assignment(ticket, actor=None, assignee=chosen, previous=None, automatic=True,
                           policy=area.assignment_policy)
    return chosen


def ticket_take(*, ticket: Ticket, actor) -> Ticket:
    """A staff member takes the ticket by hand (a responder only in their areas)."""
    with transaction.atomic():
        ticket = _locked(ticket)
        permissions.require(actor, "take", ticket)
        if not ticket.is_open:
            raise ValidationError({"assignee": _("El requerimiento está cerrado.")})
        if ticket.assignee_id == actor.pk:
            return ticket
        previous = ticket.assignee
        ticket.assignee = actor
        ticket.save(update_fields=["assignee", "updated_at"])
        _record_assignment(ticket, actor=actor, assignee=actor, previous=previous,
                           automatic=False)
    return ticket


def assignee_choices(*, ticket: Ticket) -> list:
    """Who the ticket may be assigned to: active responders of its area."""
    if ticket.area_id is None:
        return []
    return list(_responder_members(ticket.area))


def ticket_assign(*, ticket: Ticket, actor, assignee) -> Ticket:
    """The channel administrator or a supervisor assigns the ticket to a member of its
    area (None leaves it without a responsible person)."""
    with transaction.atomic():
        ticket = _locked(ticket)
        permissions.require(actor, "assign", ticket)
        if not ticket.is_open:
            raise ValidationError({"assignee": _("El requerimiento está cerrado.")})
        if assignee is not None:
            if ticket.area_id is None:
                raise ValidationError(
                    {"assignee": _("Derive el requerimiento a un área antes de asignarlo.")})
            if not _responder_members(ticket.area).filter(pk=assignee.pk).exists():
                raise ValidationError(
                    {"assignee": _("Esa persona no es integrante activa del área.")})
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        previous = ticket.assignee
        ticket.assignee = assignee
        ticket.save(update_fields=["assignee", "updated_at"])
        _record_assignment(ticket, actor=actor, assignee=assignee, previous=previous,
                           automatic=False)
    return ticket


# --- triage --------------------------------------------------------------------------------------

def _confirm_locked(ticket: Ticket, actor) -> bool:
    """Confirm a locked ticket; False if it was not pending (nothing done)."""
    permissions.require(actor, "triage", ticket)
    if ticket.triage_status != TriageStatus.PENDING:
        return False
    if ticket.area_id is None:
        raise ValidationError(
            {"area": _("Elija un área antes de validar el requerimiento.")})
    now = timezone.now()
    ticket.triage_status = TriageStatus.CONFIRMED
    ticket.triage_confirmed_at = now
    ticket.triage_confirmed_by = actor
    ticket.save(update_fields=["triage_status", "triage_confirmed_at", "triage_confirmed_by",
                               "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket, kind=EventKind.TRIAGE_CONFIRMED, actor=actor, is_public=False,
        created_at=now, data={"area_id": ticket.area_id, "area": ticket.area.name},
    )
    audit_record(actor=actor, action="ticket.triage_confirmed", obj=ticket,
                 institution=ticket.institution, data={"area": ticket.area_id})
    assignment_auto(ticket=ticket)
    return True


def triage_confirm(*, ticket: Ticket, actor) -> Ticket:
    """The channel administrator confirms the area the rules chose (PENDING → CONFIRMED);
    then the area's automatic assignment runs. Confirming again changes nothing."""
    with transaction.atomic():
        ticket = _locked(ticket)
        _confirm_locked(ticket, actor)
    return ticket


def triage_confirm_bulk(*, tickets, actor) -> int:
    """Confirm several tickets, each in its own transaction (one ticket's failure does not
    undo the others). Tickets no longer pending, or without an area, are skipped; a ticket
    the actor may not triage raises PermissionDenied. Returns how many were confirmed."""
    confirmed = 0
    for ticket in tickets:
        with transaction.atomic():
            locked = _locked(ticket)
            if not permissions.can(actor, "triage", locked):
                raise PermissionDenied(f"triage not allowed on ticket {locked.pk}")
            if locked.triage_status != TriageStatus.PENDING or locked.area_id is None:
                continue
            confirmed += _confirm_locked(locked, actor)
    return confirmed


def triage_correct(*, ticket: Ticket, actor, area: Area, reason: str) -> Ticket:
    """Derive the ticket to another area and confirm the triage in one step (the AREA_CHANGED
    event is written by ``ticket_change_area``). On a ticket already confirmed it is a plain
    derivation."""
    from ventanilla.tickets.services.lifecycle import ticket_change_area

    errors = {}
    if area is None:
        errors["area"] = _("Elija el área que corresponde.")
    if not (reason or "").strip():
        errors["reason"] = _("Indique por qué corrige el área.")
    with transaction.atomic():
        ticket = _locked(ticket)
        permissions.require(actor, "triage", ticket)
        if errors:
            raise ValidationError(errors)
        ticket_change_area(ticket=ticket, actor=actor, area=area, reason=reason)
        ticket = _locked(ticket)
        _confirm_locked(ticket, actor)
    return ticket

