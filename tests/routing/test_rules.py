"""Routing rules: precedence, every kind of condition, and the intake applying them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AreaFactory, OrganizationFactory, TopicFactory, channel, open_ticket
from ventanilla.catalog.models import Workflow
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import Comuna, Region
from ventanilla.routing.services import (
    keyword_list,
    routing_decide,
    text_fold,
)
from ventanilla.tickets.models import EventKind, TriageStatus
from ventanilla.tickets.services import TicketDraft

pytestmark = pytest.mark.django_db


def draft(catalog, **overrides) -> TicketDraft:
    org = catalog["organization"]
    fields = {
        "institution": catalog["institution"], "channel": catalog["web"],
        "ticket_type": catalog["complaint"], "topic": catalog["topic"],
        "subject": "Colación no llegó", "detail": "El lunes no llegó la colación.",
        "contact": ContactData(full_name="Juana Soto", email="juana@example.cl"),
        "organization": org, "region": org.region, "comuna": org.comuna,
    }
    fields.update(overrides)
    return TicketDraft(**fields)


def decided_rule(catalog, **overrides):
    decision = routing_decide(draft=draft(catalog, **overrides))
    return decision.rule if decision else None


@pytest.fixture
def becas(catalog):
    return AreaFactory(institution=catalog["institution"], name="Becas")


# --- precedence --------------------------------------------------------------------------------

def test_no_rule_means_no_decision(catalog):
    assert routing_decide(draft=draft(catalog)) is None


def test_empty_conditions_match_everything(catalog, make_rule, becas):
    rule = make_rule(area=becas, priority="high")
    decision = routing_decide(draft=draft(catalog))
    assert decision.rule == rule and decision.area == becas and decision.priority == "high"


def test_first_match_in_position_order_wins(catalog, make_rule, becas):
    later = make_rule(area=catalog["area"], position=20, name="Después")
    first = make_rule(area=becas, position=10, name="Antes")
    assert decided_rule(catalog) == first
    first.position = 30
    first.save()
    assert decided_rule(catalog) == later


def test_same_position_is_decided_by_id(catalog, make_rule, becas):
    older = make_rule(area=becas, position=5)
    make_rule(area=catalog["area"], position=5)
    assert decided_rule(catalog) == older


def test_a_rule_that_does_not_match_gives_way_to_the_next(catalog, make_rule, becas):
    make_rule(area=becas, position=1, keywords="beca")
    fallback = make_rule(area=catalog["area"], position=2)
    assert decided_rule(catalog) == fallback
    assert decided_rule(catalog, subject="Mi beca no llegó").area == becas


def test_inactive_rules_are_skipped(catalog, make_rule, becas):
    make_rule(area=becas, position=1, is_active=False)
    active = make_rule(area=catalog["area"], position=2)
    assert decided_rule(catalog) == active


def test_rule_with_inactive_area_is_skipped(catalog, make_rule, becas):
    becas.is_active = False
    becas.save()
    make_rule(area=becas, position=1)
    assert decided_rule(catalog) is None


def test_other_institutions_rules_never_apply(catalog, other_catalog, make_rule):
    make_rule(institution=other_catalog["institution"], area=other_catalog["area"])
    assert decided_rule(catalog) is None
    # …not even a rule of this institution pointing at another institution's area
    make_rule(area=other_catalog["area"])
    assert decided_rule(catalog) is None


# --- conditions --------------------------------------------------------------------------------

def test_ticket_type_condition(catalog, make_rule):
    make_rule(ticket_types=[catalog["suggestion"]])
    assert decided_rule(catalog) is None
    assert decided_rule(catalog, ticket_type=catalog["suggestion"]) is not None


def test_topic_on_a_program_matches_its_products(catalog, make_rule):
    institution = catalog["institution"]
    program = catalog["topic"]
    product = TopicFactory(institution=institution, parent=program, name="PAE Celiaco")
    sibling_program = TopicFactory(institution=institution, name="Becas")
    on_program = make_rule(topics=[program])
    assert decided_rule(catalog, topic=product) == on_program
    assert decided_rule(catalog, topic=program) == on_program
    assert decided_rule(catalog, topic=sibling_program) is None


def test_topic_on_a_product_does_not_match_the_program(catalog, make_rule):
    product = TopicFactory(institution=catalog["institution"], parent=catalog["topic"])
    make_rule(topics=[product])
    assert decided_rule(catalog) is None
    assert decided_rule(catalog, topic=product) is not None


def test_channel_condition(catalog, make_rule):
    make_rule(channels=[channel("phone")])
    assert decided_rule(catalog) is None
    assert decided_rule(catalog, channel=channel("phone")) is not None


def test_region_and_comuna_conditions(catalog, make_rule):
    nuble = Region.objects.get(code="16")
    chillan = Comuna.objects.filter(region=nuble).order_by("code").first()
    by_region = make_rule(regions=[nuble], position=1)
    assert decided_rule(catalog) is None  # the organization is in Santiago
    assert decided_rule(catalog, organization=None, region=nuble, comuna=None) == by_region
    by_region.delete()
    by_comuna = make_rule(comunas=[chillan])
    assert decided_rule(catalog, organization=None, region=nuble, comuna=None) is None
    assert decided_rule(catalog, organization=None, region=nuble, comuna=chillan) == by_comuna


def test_region_comes_from_the_comuna_or_the_organization(catalog, make_rule):
    santiago = Region.objects.get(code="13")
    rule = make_rule(regions=[santiago])
    assert decided_rule(catalog, region=None, comuna=None) == rule  # organization's region
    assert decided_rule(catalog, region=None, organization=None,
                        comuna=Comuna.objects.get(code="13101")) == rule


def test_organization_condition(catalog, make_rule):
    other = OrganizationFactory(institution=catalog["institution"])
    make_rule(organizations=[other])
    assert decided_rule(catalog) is None
    assert decided_rule(catalog, organization=other) is not None


def test_urgency_condition(catalog, make_rule):
    make_rule(urgencies=["high"])
    assert decided_rule(catalog, urgency="medium") is None
    assert decided_rule(catalog, urgency="high") is not None


def test_all_conditions_must_hold(catalog, make_rule):
    make_rule(urgencies=["high"], channels=[channel("web")], keywords="colación")
    assert decided_rule(catalog, urgency="high") is not None
    assert decided_rule(catalog, urgency="high", channel=channel("phone")) is None
    assert decided_rule(catalog, urgency="high", subject="Otra cosa", detail="Nada") is None


@pytest.mark.parametrize(("keywords", "text", "matches"), [
    ("celiaco", "Mi hijo es CELÍACO y no recibe su dieta", True),
    ("celíaca", "dieta para celiaca", True),
    ("Ñuble", "canastas en nuble", True),
    ("pan", "No llegó el pan.", True),
    ("pan", "Un panorama desolador", False),
    ("pan", "La empanada estaba fría", False),
    ("sin gluten", "Pedimos menú SIN   GLUTEN", True),
    ("sin gluten", "sin el gluten", False),
    ("beca, pan", "Sobre mi beca", True),
    ("beca\ncanasta", "la canasta llegó rota", True),
    ("  ,  ", "cualquier texto", True),  # no real keyword: the condition is empty
    ("a.b", "axb", False),  # keywords are literal text, not patterns
    ("20.285", "Solicitud por ley 20.285", True),
])
def test_keywords(catalog, make_rule, keywords, text, matches):
    make_rule(keywords=keywords)
    assert (decided_rule(catalog, subject="Asunto", detail=text) is not None) is matches


def test_keywords_are_searched_in_subject_too(catalog, make_rule):
    make_rule(keywords="furgón")
    assert decided_rule(catalog, subject="Furgon escolar", detail="detalle") is not None


def test_text_helpers():
    assert text_fold("  Árbol  ÑANDÚ\tPingüino ") == "arbol nandu pinguino"
    assert keyword_list("Celíaco, ,celiaca\n\nsin  gluten") == ["celiaco", "celiaca",
                                                                 "sin gluten"]


def test_query_count_does_not_grow_with_the_rules(catalog, make_rule, becas):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            routing_decide(draft=draft(catalog, subject="nada", detail="nada"))
        return len(captured)

    make_rule(keywords="beca", topics=[catalog["topic"]], channels=[channel("web")])
    few = queries()
    for n in range(10):
        make_rule(keywords=f"palabra{n}", topics=[catalog["topic"]], regions=[
            Region.objects.get(code="16")], position=n)
    assert queries() == few


# --- intake applies the rules ------------------------------------------------------------------

def test_intake_applies_area_priority_and_records_the_rule(catalog, make_rule, becas):
    make_rule(area=becas, priority="high", keywords="beca", name="Becas por palabra")
    ticket = open_ticket(catalog, subject="Consulta por mi beca", urgency="low")
    assert ticket.area == becas and ticket.priority == "high" and ticket.urgency == "low"
    created = ticket.events.get(kind=EventKind.CREATED)
    assert created.data["routing_rule"] == "Becas por palabra"
    assert created.data["area_id"] == becas.pk
    assert ticket.triage_status == TriageStatus.PENDING


def test_intake_without_matching_rule_uses_the_topic_default(catalog, make_rule, becas):
    make_rule(area=becas, keywords="beca")
    ticket = open_ticket(catalog, urgency="high")
    assert ticket.area == catalog["area"] and ticket.priority == "high"
    assert ticket.events.get(kind=EventKind.CREATED).data["routing_rule"] is None


def test_rule_without_priority_keeps_the_urgency(catalog, make_rule, becas):
    make_rule(area=becas)
    ticket = open_ticket(catalog, urgency="low")
    assert ticket.area == becas and ticket.priority == "low"


def test_type1_is_not_in_triage(catalog, make_rule, becas):
    assert catalog["suggestion"].workflow == Workflow.INFORMATIVE
    make_rule(area=becas)
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])
    assert ticket.area == becas
    assert ticket.triage_status == TriageStatus.NOT_REQUIRED
