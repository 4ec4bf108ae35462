"""Demo routing rules and assignment policies (called by the demo seeding; idempotent).

Works on whatever catalog the institution has: a rule whose area, type or topic is missing
is not created.
"""

from __future__ import annotations

from ventanilla.catalog.models import Area, AssignmentPolicy, TicketType, Topic
from ventanilla.core.models import Region
from ventanilla.routing.models import RoutingRule
from ventanilla.tickets.models import Urgency

AREA_OIRS = "Atención Ciudadana / OIRS"
AREA_PAE = "Programa de Alimentación Escolar"
AREA_CANASTAS = "Canastas y Logística"
AREA_BECAS = "Becas y Asistencialidad"
NUBLE = "16"  # CUT code of the Ñuble region

POLICIES = {
    AREA_PAE: AssignmentPolicy.ROUND_ROBIN,
    AREA_BECAS: AssignmentPolicy.LEAST_OPEN,
    AREA_CANASTAS: AssignmentPolicy.MANUAL,
    AREA_OIRS: AssignmentPolicy.MANUAL,
}


def seed_routing_demo(institution) -> list[RoutingRule]:
    """A few realistic rules for the institution (JUNAEB-like catalog) and each area's
    assignment policy. Returns the rules that exist afterwards for the institution."""
    areas = {area.name: area for area in Area.objects.filter(institution=institution)}
    for name, policy in POLICIES.items():
        if name in areas and areas[name].assignment_policy != policy:
            Area.objects.filter(pk=areas[name].pk).update(assignment_policy=policy)

    def rule(name: str, position: int, area_name: str, **conditions):
        area = areas.get(area_name)
        if area is None:
            return
        m2m = {key: conditions.pop(key) for key in list(conditions)
               if key in ("ticket_types", "topics", "regions")}
        if any(not values for values in m2m.values()):
            return  # a catalog entry the rule needs does not exist here
        created, is_new = RoutingRule.objects.get_or_create(
            institution=institution, name=name,
            defaults={"position": position, "area": area, **conditions},
        )
        if is_new:
            for key, values in m2m.items():
                getattr(created, key).set(values)

    transparency = list(TicketType.objects.filter(institution=institution, code="ley-20285"))
    canastas = list(Topic.objects.filter(institution=institution, name="Canastas Junaeb"))
    rule("Ley 20.285: solicitudes de información a la OIRS", 10, AREA_OIRS,
         ticket_types=transparency)
    rule("Celiaquía: dieta especial, prioridad alta", 20, AREA_PAE,
         keywords="celiaco, celiaca, celiaquia, sin gluten", priority=Urgency.HIGH)
    rule("Canastas en Ñuble", 30, AREA_CANASTAS, topics=canastas,
         regions=list(Region.objects.filter(code=NUBLE)))
    rule("Intoxicación o alimento en mal estado: urgente", 40, AREA_PAE,
         keywords="intoxicacion, intoxicados, mal estado, vomitos", priority=Urgency.HIGH)
    return list(RoutingRule.objects.filter(institution=institution).order_by("position", "id"))
