"""Demo deadlines: ``seed_sla_demo(institution)`` gives an institution sensible SLA policies
and its business calendar. Idempotent (update_or_create by name)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from ventanilla.catalog.models import Institution, TicketType, Topic, Workflow
from ventanilla.sla.models import CalendarSettings, SlaPolicy, Unit

H, BD = Unit.CALENDAR_HOURS, Unit.BUSINESS_DAYS

# type code → (policy name, ack, plan, final); each target (amount, unit) or None.
POLICIES = {
    "reclamo": ("Reclamos: acuse inmediato, 72 h, 10 días hábiles",
                (0, H), (72, H), (10, BD)),
    "consulta": ("Consultas: 72 h, 5 días hábiles", None, (72, H), (5, BD)),
    "ley-20285": ("Ley 20.285: 20 días hábiles", None, None, (20, BD)),
}
TYPE1_POLICY = "{name}: respuesta en 72 h"
SENSITIVE_POLICY = "Reclamos en temas sensibles: 48 h, 5 días hábiles"


def _targets(ack, plan, final) -> dict:
    values = {}
    for stage, target in (("ack", ack), ("plan", plan), ("final", final)):
        amount, unit = target if target else (None, H)
        values[f"{stage}_amount"] = None if amount is None else Decimal(amount)
        values[f"{stage}_unit"] = unit
    return values


def seed_sla_demo(institution: Institution) -> list[SlaPolicy]:
    """Calendar (Monday to Friday 9:00 to 18:00, national holidays) and one policy per type;
    complaints on a sensitive topic (or else the first program topic) get a
    shorter one. Returns the policies."""
    CalendarSettings.objects.update_or_create(
        institution=institution,
        defaults={"workdays": "0,1,2,3,4", "work_start": time(9), "work_end": time(18)},
    )
    policies = []
    for ticket_type in TicketType.objects.filter(institution=institution, is_active=True):
        if ticket_type.workflow == Workflow.INFORMATIVE:
            name, targets = TYPE1_POLICY.format(name=ticket_type.name), _targets(
                None, None, (72, H))
        elif ticket_type.code in POLICIES:
            name, *stages = POLICIES[ticket_type.code]
            targets = _targets(*stages)
        else:
            continue
        policy, _ = SlaPolicy.objects.update_or_create(
            institution=institution, name=name,
            defaults={"ticket_type": ticket_type, "topic": None, "urgency": "",
                      "is_active": True, **targets},
        )
        policies.append(policy)
        if ticket_type.code == "reclamo":
            topic = (Topic.objects.filter(institution=institution, is_sensitive=True).first()
                     or Topic.objects.filter(institution=institution, parent__isnull=True)
                     .order_by("position", "name").first())
            if topic is not None:
                sensitive, _ = SlaPolicy.objects.update_or_create(
                    institution=institution, name=SENSITIVE_POLICY,
                    defaults={"ticket_type": ticket_type, "topic": topic, "urgency": "",
                              "is_active": True, "at_risk_ratio": Decimal("0.5"),
                              **_targets((0, H), (48, H), (5, BD))},
                )
                policies.append(sensitive)
    return policies
