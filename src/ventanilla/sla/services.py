"""Deadline bookkeeping on tickets: the policy and calendar that apply, each stage's
deadline, pause and resume, and the sweep that raises alerts (escalation).

The functions that take a ticket run inside the caller's transaction (the intake service or
a lifecycle service, which hold the ticket's row lock) and save only the fields they change.
``sla_sweep`` is a use case of its own: one short transaction per chunk of alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.accounts.models import Membership, Role
from ventanilla.catalog.cache import institution_config
from ventanilla.catalog.models import Institution
from ventanilla.notifications.services import outbox_enqueue_email
from ventanilla.sla.calendar import (
    CALENDAR_HOURS,
    BusinessCalendar,
    Unit,
    deadline,
    elapsed,
)
from ventanilla.sla.models import (
    AlertThreshold,
    CalendarException,
    CalendarSettings,
    SlaAlert,
    SlaPolicy,
    SweepMark,
)
from ventanilla.tickets.models import (
    OPEN_STATUSES,
    EventKind,
    ResponseStage,
    Ticket,
    TicketEvent,
)

logger = logging.getLogger(__name__)

# The three stages with a deadline, in the order they are answered.
STAGES = (ResponseStage.ACK, ResponseStage.PLAN, ResponseStage.FINAL)
DUE_FIELD = {
    ResponseStage.ACK: "ack_due_at",
    ResponseStage.PLAN: "plan_due_at",
    ResponseStage.FINAL: "due_at",
}
ANSWERED_FIELD = {
    ResponseStage.ACK: "acknowledged_at",
    ResponseStage.PLAN: "plan_answered_at",
    ResponseStage.FINAL: "final_answered_at",
}
DEFAULT_AT_RISK_RATIO = Decimal("0.75")
# Without a policy: the plan ("next steps") is due within 72 hours, or with the final answer
# when the type's own term is shorter.
FALLBACK_PLAN_HOURS = 72
SWEEP_BATCH = 500  # tickets per institution and threshold per run
SWEEP_CHUNK = 200  # tickets per alert transaction
# Re-read what changed shortly before the last sweep: a transaction that moved a deadline
# may commit after that sweep looked.
SWEEP_OVERLAP = timedelta(minutes=10)


# --- calendar and policy -------------------------------------------------------------------------

# Calendars already read inside a ``sla_calendar_memo`` block, by institution id.
_calendar_memo: ContextVar[dict | None] = ContextVar("sla_calendar_memo", default=None)


@contextmanager
def sla_calendar_memo() -> Iterator[None]:
    """Inside the block each institution's calendar is read once: the intake needs it for
    the deadlines and again when the acknowledgement moves the clock, within one
    transaction, where an admin's change could not be seen anyway."""
    token = _calendar_memo.set({})
    try:
        yield
    finally:
        _calendar_memo.reset(token)


def sla_calendar_for(institution: Institution | int) -> BusinessCalendar:
    """The institution's business calendar: its settings (defaults when it has none) plus its
    declared exceptions. Given a loaded ``Institution``, cached per process and
    configuration version (``catalog.cache``: an edit applies from the next request on);
    given an id, read from the database (two small queries; once per ``sla_calendar_memo``
    block). The official holiday table is cached per year in ``sla.calendar``."""
    institution_id = getattr(institution, "pk", institution)
    memo = _calendar_memo.get()
    if memo is not None and institution_id in memo:
        return memo[institution_id]
    if isinstance(institution, Institution):
        calendar = institution_config(institution).get(
            "calendar", lambda: _calendar_read(institution_id))
    else:
        calendar = _calendar_read(institution_id)
    if memo is not None:
        memo[institution_id] = calendar
    return calendar


def _calendar_read(institution_id: int) -> BusinessCalendar:
    settings_row = (CalendarSettings.objects.filter(institution_id=institution_id)
                    .select_related("holiday_region").first())
    extra_working, extra_non_working = set(), set()
    for day, is_working in CalendarException.objects.filter(
            institution_id=institution_id).values_list("day", "is_working"):
        (extra_working if is_working else extra_non_working).add(day)
    options = {"extra_working": extra_working, "extra_non_working": extra_non_working}
    if settings_row is not None:
        options.update(
            workdays=parse_workdays(settings_row.workdays),
            work_start=settings_row.work_start, work_end=settings_row.work_end,
            holiday_subdiv=(settings_row.holiday_region.holidays_subdiv
                            if settings_row.holiday_region else None),
        )
    return BusinessCalendar(**options)


def parse_workdays(raw: str) -> frozenset[int]:
    """``"0,1,2,3,4"`` → {0, 1, 2, 3, 4}. Raises ValueError on anything else."""
    days = frozenset(int(part) for part in raw.replace(" ", "").split(",") if part)
    if not days or not days <= set(range(7)):
        raise ValueError("workdays must be weekday numbers 0 to 6")
    return days


def _topic_chain(topic) -> list[int]:
    """The ticket's topic and its ancestors (a program covers its products), nearest first."""
    chain, seen = [], set()
    while topic is not None and topic.pk not in seen:
        chain.append(topic.pk)
        seen.add(topic.pk)
        topic = topic.parent
    return chain


def _loaded_institution(ticket: Ticket) -> Institution | None:
    """The ticket's institution if already loaded (no query), else None."""
    if Ticket.institution.is_cached(ticket):
        return ticket.institution
    return None


def sla_policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The most specific active policy for the ticket, or None.

    Precedence: type+topic+urgency > type+topic > type+urgency > type. A policy on a program
    topic covers its products; between two topic policies the nearer topic wins. The urgency
    matched is the ticket's ``priority`` (the citizen's urgency unless a routing rule set
    another one on entry). Ties go to the oldest policy, so the choice is stable.
    """
    chain = _topic_chain(ticket.topic)
    institution = _loaded_institution(ticket)
    if institution is not None:
        # Every active policy of the institution, cached (``catalog.cache``), filtered here
        # exactly as the query below filters them.
        policies = institution_config(institution).get("sla-policies", lambda: list(
            SlaPolicy.objects.filter(institution_id=institution.pk, is_active=True)))
        candidates = [
            policy for policy in policies
            if policy.ticket_type_id == ticket.ticket_type_id
            and (policy.topic_id is None or policy.topic_id in chain)
            and policy.urgency in ("", ticket.priority)]
    else:
        candidates = SlaPolicy.objects.filter(
            institution_id=ticket.institution_id, ticket_type_id=ticket.ticket_type_id,
            is_active=True,
        ).filter(Q(topic__isnull=True) | Q(topic_id__in=chain)).filter(
            Q(urgency="") | Q(urgency=ticket.priority)
        )

    def rank(policy: SlaPolicy):
        has_topic = policy.topic_id is not None
        distance = chain.index(policy.topic_id) if has_topic else len(chain)
        return (not has_topic, policy.urgency == "", distance, policy.pk)

    ranked = sorted(candidates, key=rank)
    return ranked[0] if ranked else None


@dataclass(frozen=True)
class Target:
    amount: Decimal
    unit: str


@dataclass(frozen=True)
class Targets:
    """Targets per stage (None: the stage has no deadline) and the at-risk ratio."""

    ack: Target | None
    plan: Target | None
    final: Target | None
    at_risk_ratio: Decimal = DEFAULT_AT_RISK_RATIO

    def for_stage(self, stage: str) -> Target | None:
        return getattr(self, str(stage))

    def unit(self, stage: str) -> str:
        target = self.for_stage(stage)
        return target.unit if target else CALENDAR_HOURS


def targets_of(policy: SlaPolicy | None, ticket_type) -> Targets:
    """The policy's targets, or the fallback from the type's base term (calendar hours)."""
    if policy is None:
        final = Decimal(ticket_type.target_hours)
        return Targets(
            ack=None, plan=Target(min(Decimal(FALLBACK_PLAN_HOURS), final), CALENDAR_HOURS),
            final=Target(final, CALENDAR_HOURS),
        )

    def target(stage: str) -> Target | None:
        amount = getattr(policy, f"{stage}_amount")
        return None if amount is None else Target(Decimal(amount), getattr(policy, f"{stage}_unit"))

    return Targets(ack=target("ack"), plan=target("plan"), final=target("final"),
                   at_risk_ratio=Decimal(policy.at_risk_ratio))


def _ticket_targets(ticket: Ticket) -> Targets:
    policy = ticket.sla_policy if ticket.sla_policy_id else None
    return targets_of(policy, ticket.ticket_type)


# --- time arithmetic per unit --------------------------------------------------------------------

def _advance(start: datetime, seconds: float, unit: str, calendar: BusinessCalendar) -> datetime:
    """``start`` moved forward by ``seconds`` of the time that counts for ``unit``."""
    if seconds <= 0:
        return start
    if Unit(unit) is Unit.CALENDAR_HOURS:
        return start + timedelta(seconds=seconds)
    return calendar.add_business_hours(start, seconds / 3600)


def _at_risk_moment(ticket: Ticket, due: datetime, unit: str, ratio: Decimal,
                    calendar: BusinessCalendar) -> datetime:
    """When ``ratio`` of the term from received_at to ``due`` (in ``unit``) is used."""
    total = elapsed(ticket.received_at, due, unit, calendar)
    if total <= 0:
        return due
    return min(due, _advance(ticket.received_at, total * float(ratio), unit, calendar))


def pending_stage(ticket: Ticket) -> str | None:
    """The first stage with a deadline that has not been answered yet (None: nothing due)."""
    for stage in STAGES:
        if getattr(ticket, DUE_FIELD[stage]) and not getattr(ticket, ANSWERED_FIELD[stage]):
            return stage
    return None


def _point_clock(ticket: Ticket, targets: Targets, calendar: BusinessCalendar | None) -> None:
    """Set next_due_at and at_risk_at for the pending stage (both None when nothing is due)."""
    stage = pending_stage(ticket)
    if stage is None:
        ticket.next_due_at = ticket.at_risk_at = None
        return
    due = getattr(ticket, DUE_FIELD[stage])
    calendar = calendar or sla_calendar_for(ticket.institution_id)
    ticket.next_due_at = due
    ticket.at_risk_at = _at_risk_moment(ticket, due, targets.unit(stage),
                                        targets.at_risk_ratio, calendar)


# --- use cases on one ticket ---------------------------------------------------------------------

def sla_apply_on_open(*, ticket: Ticket, save: bool = True) -> None:
    """Choose the policy and store every stage's deadline on a new ticket, measured from
    received_at; point the clock at the first stage (the acknowledgement when it has a
    target). Without a policy: final = the type's base hours, plan = min(72 h, final).
    ``save=False`` only sets the fields: the intake computes them before inserting the row
    (one INSERT instead of an INSERT and an UPDATE)."""
    policy = sla_policy_for(ticket)
    targets = targets_of(policy, ticket.ticket_type)
    calendar = sla_calendar_for(_loaded_institution(ticket) or ticket.institution_id)
    ticket.sla_policy = policy
    for stage in STAGES:
        target = targets.for_stage(stage)
        due = (deadline(ticket.received_at, target.amount, target.unit, calendar)
               if target else None)
        setattr(ticket, DUE_FIELD[stage], due)
    _point_clock(ticket, targets, calendar)
    if not save:
        return
    # ``updated_at`` too: the dashboard rollups rebuild the days of changed tickets.
    ticket.save(update_fields=[
        "sla_policy", "ack_due_at", "plan_due_at", "due_at", "next_due_at", "at_risk_at",
        "updated_at",
    ])


def sla_stage_reached(*, ticket: Ticket, stage: str, at: datetime, save: bool = True) -> None:
    """Record that ``stage`` was answered at ``at`` and move the clock to the next stage.

    A later answer also satisfies earlier stages still open (the final answer given within
    72 hours is the plan too). The time already recorded for a stage is never overwritten.
    ``done`` (or a stage past the final one) stops the clock. ``save=False`` only sets the
    fields (the intake, on a ticket not inserted yet).
    """
    stage = str(stage)
    fields: list[str] = []
    reached = STAGES if stage == ResponseStage.DONE else STAGES[: STAGES.index(stage) + 1]
    for each in reached:
        name = ANSWERED_FIELD[each]
        if getattr(ticket, name) is None:
            setattr(ticket, name, at)
            fields.append(name)
    before = (ticket.next_due_at, ticket.at_risk_at)
    _point_clock(ticket, _ticket_targets(ticket), None)
    if (ticket.next_due_at, ticket.at_risk_at) != before:
        fields += ["next_due_at", "at_risk_at"]
    if fields and save:
        ticket.save(update_fields=[*fields, "updated_at"])


def sla_pause(*, ticket: Ticket, at: datetime) -> None:
    """Stop the clock while the ticket waits on the citizen (no-op if already paused)."""
    if ticket.paused_at is not None:
        return
    ticket.paused_at = at
    ticket.save(update_fields=["paused_at", "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket, kind=EventKind.SLA_PAUSED, created_at=at, is_public=False,
        body=_("El plazo queda en pausa mientras se espera a la persona."),
    )


def sla_resume(*, ticket: Ticket, at: datetime) -> None:
    """Restart the clock: every deadline of a stage not yet answered, and the at-risk
    moment, move by the paused time measured in that stage's unit (absolute seconds for
    calendar hours, working time for business units). No-op when not paused."""
    paused_at = ticket.paused_at
    if paused_at is None:
        return
    targets = _ticket_targets(ticket)
    calendar = sla_calendar_for(ticket.institution_id)
    fields = ["paused_at"]
    moved = {}
    for stage in STAGES:
        due = getattr(ticket, DUE_FIELD[stage])
        if due is None or getattr(ticket, ANSWERED_FIELD[stage]) is not None:
            continue
        unit = targets.unit(stage)
        new_due = _advance(due, elapsed(paused_at, at, unit, calendar), unit, calendar)
        setattr(ticket, DUE_FIELD[stage], new_due)
        fields.append(DUE_FIELD[stage])
        moved[str(stage)] = new_due.isoformat()
    current = pending_stage(ticket)
    if current is not None:
        unit = targets.unit(current)
        ticket.next_due_at = getattr(ticket, DUE_FIELD[current])
        if ticket.at_risk_at is not None:
            ticket.at_risk_at = min(ticket.next_due_at, _advance(
                ticket.at_risk_at, elapsed(paused_at, at, unit, calendar), unit, calendar))
        fields += ["next_due_at", "at_risk_at"]
    ticket.paused_at = None
    ticket.save(update_fields=[*fields, "updated_at"])
    TicketEvent.objects.create(
        ticket=ticket, kind=EventKind.SLA_RESUMED, created_at=at, is_public=False,
        body=_("El plazo se reanuda; los plazos pendientes se corren por el tiempo en pausa."),
        data={"paused_at": paused_at.isoformat(), "due": moved},
    )


# --- the sweep (escalation) ----------------------------------------------------------------------

def _supervisor_recipients(institution_id: int) -> list[tuple[str, str]]:
    """(dedupe suffix, address) of each active supervisor of the institution."""
    supervisors = (Membership.objects.filter(
        institution_id=institution_id, role=Role.SUPERVISOR, is_active=True,
        user__is_active=True).select_related("user").order_by("user_id"))
    return [(f"user-{membership.user_id}", membership.user.email)
            for membership in supervisors if membership.user.email]


def _alert_recipients(ticket: Ticket,
                      supervisors: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """(dedupe suffix, address): the area's mailbox and each active supervisor, once each."""
    recipients: list[tuple[str, str]] = []
    if ticket.area_id and ticket.area.email:
        recipients.append((f"area-{ticket.area_id}", ticket.area.email))
    if supervisors is None:
        supervisors = _supervisor_recipients(ticket.institution_id)
    seen = {address.lower() for _key, address in recipients}
    for key, address in supervisors:
        if address.lower() not in seen:
            seen.add(address.lower())
            recipients.append((key, address))
    return recipients


def _stage_case():
    """SQL expression: the stage whose deadline next_due_at is (same rule as pending_stage)."""
    from django.db.models import Case, CharField, F, Value, When

    return Case(
        When(Q(ack_due_at__isnull=False, acknowledged_at__isnull=True,
               next_due_at=F("ack_due_at")), then=Value(ResponseStage.ACK.value)),
        When(Q(plan_due_at__isnull=False, plan_answered_at__isnull=True,
               next_due_at=F("plan_due_at")), then=Value(ResponseStage.PLAN.value)),
        default=Value(ResponseStage.FINAL.value), output_field=CharField(),
    )


def _candidates(threshold: str, now: datetime, institution_id: int, limit: int,
                since: datetime | None = None) -> list[int]:
    """Tickets that may need a ``threshold`` alert at ``now``. With ``since`` (the last
    complete sweep, minus an overlap), only those whose moment came after it or that changed
    since: a backlog of tickets breached and alerted long ago is not read again each run."""
    tickets = Ticket.objects.filter(institution_id=institution_id, status__in=OPEN_STATUSES,
                                    paused_at__isnull=True)
    if threshold == AlertThreshold.BREACHED:
        tickets = tickets.filter(next_due_at__lt=now).order_by("next_due_at", "pk")
        moment = "next_due_at"
    else:  # at risk but not yet breached (a breached ticket gets the breach alert only)
        tickets = tickets.filter(at_risk_at__lte=now, next_due_at__gte=now).order_by(
            "at_risk_at", "pk")
        moment = "at_risk_at"
    if since is not None:
        # A deadline that moved into the past (a stage answered late, a reopening) stamps
        # updated_at, so it is found here too.
        tickets = tickets.filter(Q(**{f"{moment}__gte": since}) | Q(updated_at__gte=since))
    tickets = tickets.annotate(sla_stage=_stage_case()).exclude(Exists(SlaAlert.objects.filter(
        ticket=OuterRef("pk"), stage=OuterRef("sla_stage"), threshold=threshold)))
    return list(tickets.values_list("pk", flat=True)[:limit])


def _sweep_since(institution_id: int, now: datetime) -> datetime | None:
    """Where this sweep may start looking, or None for a full look: the first sweep, and any
    sweep at a moment before the last one (a clock set back, or a replay)."""
    swept_until = (SweepMark.objects.filter(institution_id=institution_id)
                   .values_list("swept_until", flat=True).first())
    if swept_until is None or swept_until > now:
        return None
    return swept_until - SWEEP_OVERLAP


def _alert_stage(ticket: Ticket, threshold: str, now: datetime) -> str | None:
    """The stage ``ticket`` (read under its row lock) needs a ``threshold`` alert for at
    ``now``, or None: answered meanwhile, paused, closed, or not (or no longer only) at risk."""
    if ticket.status not in OPEN_STATUSES or ticket.paused_at:
        return None
    stage = pending_stage(ticket)
    if stage is None or ticket.next_due_at is None:
        return None
    breached = ticket.next_due_at < now
    if threshold == AlertThreshold.BREACHED:
        return stage if breached else None
    if breached or ticket.at_risk_at is None or ticket.at_risk_at > now:
        return None
    return stage


def _alert_event(ticket: Ticket, stage: str, threshold: str, now: datetime) -> TicketEvent:
    return TicketEvent(
        ticket=ticket, kind=EventKind.SLA_ALERT, created_at=now, is_public=False,
        body=_("%(threshold)s: %(stage)s, plazo %(due)s.") % {
            "threshold": AlertThreshold(threshold).label, "stage": ResponseStage(stage).label,
            "due": timezone.localtime(ticket.next_due_at).strftime("%d-%m-%Y %H:%M")},
        data={"stage": stage, "threshold": threshold, "due": ticket.next_due_at.isoformat()},
    )


def _queue_alert_mail(raised: list[tuple[Ticket, str, SlaAlert]], threshold: str,
                      supervisors: list[tuple[str, str]]) -> int:
    """E-mail the alerts of one transaction: each recipient gets one message, about its one
    ticket (the editable ``sla_alert`` template) or listing all of them (a digest), so a
    morning when 300 tickets of an area cross their deadline is one e-mail, not 300.
    Returns the number of messages queued."""
    by_recipient: dict[tuple[str, str], list[tuple[Ticket, str, SlaAlert]]] = {}
    for ticket, stage, alert in raised:
        for recipient in _alert_recipients(ticket, supervisors):
            by_recipient.setdefault(recipient, []).append((ticket, stage, alert))
    threshold_label = AlertThreshold(threshold).label
    queued = 0
    for (key, address), items in by_recipient.items():
        if len(items) == 1:
            ticket, stage, _alert = items[0]
            message = outbox_enqueue_email(
                dedupe_key=f"sla-{ticket.pk}-{stage}-{threshold}-{key}", recipient=address,
                template="sla_alert", institution=ticket.institution, ticket=ticket,
                context={"ticket": ticket, "stage_label": ResponseStage(stage).label,
                         "threshold": threshold, "threshold_label": threshold_label,
                         "due": ticket.next_due_at},
            )
        else:
            items.sort(key=lambda item: (item[0].next_due_at, item[0].pk))
            institution = items[0][0].institution
            message = outbox_enqueue_email(
                # The alerts are new in this transaction, so their ids name this digest.
                dedupe_key=f"sla-digest-{threshold}-{key}-{min(a.pk for _t, _s, a in items)}",
                recipient=address, template="sla_alert_digest", institution=institution,
                context={"institution": institution, "threshold": threshold,
                         "threshold_label": threshold_label, "count": len(items),
                         "alerts": [{"ticket": ticket, "stage_label": ResponseStage(stage).label,
                                     "due": ticket.next_due_at}
                                    for ticket, stage, _alert in items]},
            )
        queued += message is not None
    return queued


def _raise_alerts(ticket_ids: list[int], threshold: str, now: datetime,
                  supervisors: list[tuple[str, str]]) -> tuple[int, int]:
    """The alerts of a chunk of candidates in one transaction: lock the tickets (skipping
    those another transaction holds: an answer being sent, or another sweep), check each again
    under the lock, insert the alerts and timeline events in bulk and queue the e-mails.
    Returns (alerts raised, e-mails queued)."""
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("area", "ticket_type", "topic", "topic__parent", "institution")
            .filter(pk__in=ticket_ids).order_by("pk"))
        due = [(ticket, stage) for ticket in tickets
               if (stage := _alert_stage(ticket, threshold, now)) is not None]
        already = set(SlaAlert.objects.filter(
            ticket_id__in=[ticket.pk for ticket, _stage in due], threshold=threshold,
        ).values_list("ticket_id", "stage"))
        due = [(ticket, stage) for ticket, stage in due if (ticket.pk, stage) not in already]
        if not due:
            return 0, 0
        # The row locks make a concurrent insert of the same alert impossible on PostgreSQL;
        # the unique constraint still stands guard (SQLite has no row locks): a conflict
        # rolls this chunk back and the caller retries it ticket by ticket.
        alerts = SlaAlert.objects.bulk_create(
            [SlaAlert(ticket=ticket, stage=stage, threshold=threshold) for ticket, stage in due])
        TicketEvent.objects.bulk_create(
            [_alert_event(ticket, stage, threshold, now) for ticket, stage in due])
        raised = [(ticket, stage, alert) for (ticket, stage), alert in zip(due, alerts,
                                                                           strict=True)]
        return len(raised), _queue_alert_mail(raised, threshold, supervisors)


def _raise_alert_alone(ticket_id: int, threshold: str, now: datetime,
                       supervisors: list[tuple[str, str]]) -> tuple[int, int]:
    """One ticket's alert in its own transaction; a concurrent sweep that raised it first
    makes this a no-op through the unique constraint."""
    try:
        return _raise_alerts([ticket_id], threshold, now, supervisors)
    except IntegrityError:
        return 0, 0


def sla_sweep(*, now: datetime | None = None, institution: Institution | None = None,
              batch: int = SWEEP_BATCH, full: bool = False) -> dict:
    """Raise the alerts due at ``now``: at-risk and breached tickets whose current stage has
    no alert of that threshold yet. Alerts go in chunks of ``SWEEP_CHUNK`` tickets, each one
    transaction with the alerts, their timeline events and the e-mails to the area mailboxes
    and active supervisors through the outbox (one message per recipient and chunk).
    Running it again, or two sweeps at once, raises each (ticket, stage, threshold) alert
    once. At most ``batch`` tickets per institution and threshold per run; the rest wait for
    the next run (alerted tickets no longer match, so the backlog drains). After a run that
    left nothing behind, the next one only reads what crossed or changed since (``SweepMark``);
    ``full`` looks at every open ticket again."""
    now = now or timezone.now()
    # Per institution, so each candidate query is a range scan of the
    # (institution, status, next_due_at) index.
    institution_ids = ([institution.pk] if institution is not None
                       else list(Institution.objects.order_by("pk").values_list("pk", flat=True)))
    counts = {"at_risk": 0, "breached": 0, "emails": 0, "skipped": 0}
    for institution_id in institution_ids:
        supervisors = None
        since = None if full else _sweep_since(institution_id, now)
        drained = True
        for threshold in (AlertThreshold.BREACHED, AlertThreshold.AT_RISK):
            candidates = _candidates(threshold, now, institution_id, batch, since)
            drained = drained and len(candidates) < batch
            if candidates and supervisors is None:
                supervisors = _supervisor_recipients(institution_id)
            for start in range(0, len(candidates), SWEEP_CHUNK):
                chunk = candidates[start:start + SWEEP_CHUNK]
                try:
                    raised, emails = _raise_alerts(chunk, threshold, now, supervisors)
                except IntegrityError:
                    raised = emails = 0
                    for ticket_id in chunk:
                        one, mails = _raise_alert_alone(ticket_id, threshold, now, supervisors)
                        raised, emails = raised + one, emails + mails
                counts[str(threshold)] += raised
                counts["emails"] += emails
                counts["skipped"] += len(chunk) - raised
        if drained:  # what was left for the next run must stay inside its window
            SweepMark.objects.update_or_create(institution_id=institution_id,
                                               defaults={"swept_until": now})
    if counts["at_risk"] or counts["breached"]:
        logger.info("sla sweep: %s", counts)
    return counts
