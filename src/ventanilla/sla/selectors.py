"""Reads about deadlines: a ticket's SLA state, inbox filters, the ticket panel and the
compliance figures. No personal data leaves ``sla_compliance``: only counts per catalog entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ventanilla.catalog.models import Institution
from ventanilla.tickets.models import OPEN_STATUSES, ResponseStage, Status, Ticket

STAGES = (ResponseStage.ACK, ResponseStage.PLAN, ResponseStage.FINAL)
DUE_FIELD = {ResponseStage.ACK: "ack_due_at", ResponseStage.PLAN: "plan_due_at",
             ResponseStage.FINAL: "due_at"}
ANSWERED_FIELD = {ResponseStage.ACK: "acknowledged_at", ResponseStage.PLAN: "plan_answered_at",
                  ResponseStage.FINAL: "final_answered_at"}

# The contracted standard: 98 % of answers within their deadline.
COMPLIANCE_TARGET = Decimal("0.98")

OK, AT_RISK, BREACHED, PAUSED, DONE = "ok", "at_risk", "breached", "paused", "done"
STATE_LABELS = {
    OK: gettext_lazy("En plazo"),
    AT_RISK: gettext_lazy("En riesgo"),
    BREACHED: gettext_lazy("Vencido"),
    PAUSED: gettext_lazy("En pausa"),
    DONE: gettext_lazy("Sin plazo pendiente"),
}
FILTER_STATES = (AT_RISK, BREACHED, PAUSED, OK)


# --- state of one ticket and inbox filters -------------------------------------------------------

def sla_state(ticket: Ticket, now: datetime | None = None) -> str:
    """"ok" | "at_risk" | "breached" | "paused" | "done" (closed, or no deadline pending)."""
    now = now or timezone.now()
    if ticket.status not in OPEN_STATUSES:
        return DONE
    if ticket.paused_at is not None:
        return PAUSED
    if ticket.next_due_at is None:
        return DONE
    if ticket.next_due_at < now:
        return BREACHED
    if ticket.at_risk_at is not None and ticket.at_risk_at <= now:
        return AT_RISK
    return OK


def sla_filter(queryset: QuerySet[Ticket], state: str,
               now: datetime | None = None) -> QuerySet[Ticket]:
    """Narrow ``queryset`` to tickets in ``state`` (same rules as ``sla_state``), with
    conditions on status, next_due_at, at_risk_at and paused_at that the ticket indexes
    serve as range scans. An unknown state leaves the queryset as it is."""
    now = now or timezone.now()
    open_running = Q(status__in=OPEN_STATUSES, paused_at__isnull=True)
    if state == BREACHED:
        return queryset.filter(open_running, next_due_at__lt=now)
    if state == AT_RISK:
        return queryset.filter(open_running, at_risk_at__lte=now, next_due_at__gte=now)
    if state == PAUSED:
        return queryset.filter(status__in=OPEN_STATUSES, paused_at__isnull=False)
    if state == OK:
        return queryset.filter(open_running, next_due_at__gte=now).filter(
            Q(at_risk_at__isnull=True) | Q(at_risk_at__gt=now))
    if state == DONE:
        return queryset.filter(~Q(status__in=OPEN_STATUSES) | Q(
            paused_at__isnull=True, next_due_at__isnull=True))
    return queryset


@dataclass(frozen=True)
class StageLine:
    stage: str
    label: str
    due: datetime | None
    answered_at: datetime | None
    is_current: bool

    @property
    def on_time(self) -> bool | None:
        """True/False once answered (None without deadline or answer)."""
        if self.due is None or self.answered_at is None:
            return None
        return self.answered_at <= self.due


@dataclass(frozen=True)
class SlaPanel:
    state: str
    state_label: str
    policy_name: str
    lines: list[StageLine]
    paused_at: datetime | None
    at_risk_at: datetime | None


def sla_panel(ticket: Ticket, now: datetime | None = None) -> SlaPanel:
    """What the ticket page shows about deadlines (no queries beyond the policy's name)."""
    state = sla_state(ticket, now)
    current = next((s for s in STAGES if getattr(ticket, DUE_FIELD[s])
                    and not getattr(ticket, ANSWERED_FIELD[s])), None)
    lines = [
        StageLine(stage=str(s), label=str(ResponseStage(s).label),
                  due=getattr(ticket, DUE_FIELD[s]), answered_at=getattr(ticket, ANSWERED_FIELD[s]),
                  is_current=(s == current and ticket.status != Status.CLOSED))
        for s in STAGES
    ]
    policy_name = (ticket.sla_policy.name if ticket.sla_policy_id
                   else _("Plazo base del motivo (%(hours)s horas corridas)")
                   % {"hours": ticket.ticket_type.target_hours})
    return SlaPanel(state=state, state_label=str(STATE_LABELS[state]), policy_name=policy_name,
                    lines=lines, paused_at=ticket.paused_at,
                    at_risk_at=ticket.at_risk_at if current else None)


# --- compliance ----------------------------------------------------------------------------------

GROUP_BY = {
    "stage": gettext_lazy("Etapa"),
    "ticket_type": gettext_lazy("Motivo"),
    "area": gettext_lazy("Área"),
    "topic": gettext_lazy("Tema"),
}
_GROUP_FIELDS = {
    "stage": (),
    "ticket_type": ("ticket_type_id", "ticket_type__name"),
    "area": ("area_id", "area__name"),
    "topic": ("topic_id", "topic__name", "topic__parent__name"),
}


def answered_expression(stage: str):
    """When the stage was answered. Besides the stage's own field: a reply sent outside the
    three-answer flow (``first_answered_at``) counts as the plan, and closing counts as the
    final answer (and as the earlier ones) for tickets closed without one."""
    if stage == ResponseStage.ACK:
        return Coalesce("acknowledged_at", "first_answered_at", "final_answered_at", "closed_at")
    if stage == ResponseStage.PLAN:
        return Coalesce("plan_answered_at", "first_answered_at", "final_answered_at",
                        "closed_at")
    return Coalesce("final_answered_at", "closed_at")


@dataclass
class ComplianceCell:
    with_deadline: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0  # not answered and the deadline has passed (counts as not on time)

    @property
    def pending(self) -> int:
        """Not answered, deadline not passed yet (or paused): not counted in the share."""
        return self.with_deadline - self.on_time - self.late - self.overdue

    @property
    def decided(self) -> int:
        return self.on_time + self.late + self.overdue

    @property
    def share(self) -> Decimal | None:
        if not self.decided:
            return None
        return Decimal(self.on_time) / Decimal(self.decided)

    @property
    def percent(self) -> str:
        share = self.share
        return "—" if share is None else f"{share * 100:.1f}".replace(".", ",") + " %"

    @property
    def meets_target(self) -> bool | None:
        share = self.share
        return None if share is None else share >= COMPLIANCE_TARGET

    def add(self, other: ComplianceCell) -> None:
        self.with_deadline += other.with_deadline
        self.on_time += other.on_time
        self.late += other.late
        self.overdue += other.overdue


@dataclass
class ComplianceRow:
    key: object
    label: str
    stage: str
    stage_label: str
    cell: ComplianceCell


@dataclass
class ComplianceReport:
    start: datetime
    end: datetime
    group_by: str
    rows: list[ComplianceRow] = field(default_factory=list)
    by_stage: dict[str, ComplianceCell] = field(default_factory=dict)
    overall: ComplianceCell = field(default_factory=ComplianceCell)
    target: Decimal = COMPLIANCE_TARGET

    @property
    def target_percent(self) -> str:
        return f"{self.target * 100:.0f} %"


def sla_compliance(*, institution: Institution, start: datetime, end: datetime,
                   group_by: str = "stage", now: datetime | None = None) -> ComplianceReport:
    """For tickets received in [start, end): per group and stage, how many had that stage's
    deadline, were answered on time, late, or are still unanswered past the deadline; the
    share on time = on time / (on time + late + overdue). One aggregate query."""
    if group_by not in GROUP_BY:
        raise ValueError(f"unknown group_by {group_by!r}")
    now = now or timezone.now()
    tickets = Ticket.objects.filter(institution=institution, received_at__gte=start,
                                    received_at__lt=end)
    aggregates = {}
    for stage in STAGES:
        due, answered = DUE_FIELD[stage], f"sla_{stage}_answered"
        tickets = tickets.alias(**{answered: answered_expression(stage)})
        aggregates.update({
            f"{stage}_total": Count("pk", filter=Q(**{f"{due}__isnull": False})),
            f"{stage}_on_time": Count("pk", filter=Q(**{f"{due}__isnull": False,
                                                        f"{answered}__lte": F(due)})),
            f"{stage}_late": Count("pk", filter=Q(**{f"{due}__isnull": False,
                                                     f"{answered}__gt": F(due)})),
            f"{stage}_overdue": Count("pk", filter=Q(**{
                f"{due}__isnull": False, f"{answered}__isnull": True, f"{due}__lt": now,
                "paused_at__isnull": True})),
        })
    fields = _GROUP_FIELDS[group_by]
    if fields:
        groups = list(tickets.values(*fields).annotate(**aggregates).order_by())
    else:
        groups = [tickets.aggregate(**aggregates)]

    report = ComplianceReport(start=start, end=end, group_by=group_by,
                              by_stage={str(s): ComplianceCell() for s in STAGES})
    rows = []
    for group in groups:
        key, label = _group_label(group_by, group)
        for stage in STAGES:
            cell = ComplianceCell(
                with_deadline=group[f"{stage}_total"] or 0, on_time=group[f"{stage}_on_time"] or 0,
                late=group[f"{stage}_late"] or 0, overdue=group[f"{stage}_overdue"] or 0,
            )
            if not cell.with_deadline:
                continue
            stage_label = str(ResponseStage(stage).label)
            rows.append(ComplianceRow(key=key, label=label if group_by != "stage"
                                      else stage_label, stage=str(stage),
                                      stage_label=stage_label, cell=cell))
            report.by_stage[str(stage)].add(cell)
            report.overall.add(cell)
    order = {str(s): i for i, s in enumerate(STAGES)}
    rows.sort(key=lambda row: (row.label.casefold(), order[row.stage]))
    report.rows = rows
    return report


def _group_label(group_by: str, group: dict) -> tuple[object, str]:
    if group_by == "ticket_type":
        return group["ticket_type_id"], group["ticket_type__name"]
    if group_by == "area":
        return group["area_id"], group["area__name"] or _("Sin área")
    if group_by == "topic":
        parent = group["topic__parent__name"]
        name = group["topic__name"]
        return group["topic_id"], f"{parent} › {name}" if parent else name
    return None, ""
