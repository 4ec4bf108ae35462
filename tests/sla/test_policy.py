"""Which policy applies, and the fallback for institutions without policies."""

from datetime import timedelta

from tests.factories import TicketTypeFactory, TopicFactory, open_ticket
from tests.sla.conftest import BD, H, local, make_policy
from ventanilla.sla.services import sla_policy_for
from ventanilla.tickets.models import Urgency


def test_precedence_type_topic_urgency(catalog):
    topic = catalog["topic"]
    by_type = make_policy(catalog, name="tipo", final=(10, BD))
    by_urgency = make_policy(catalog, name="tipo+urgencia", urgency=Urgency.HIGH, final=(5, BD))
    by_topic = make_policy(catalog, name="tipo+tema", topic=topic, final=(7, BD))
    by_all = make_policy(catalog, name="tipo+tema+urgencia", topic=topic,
                         urgency=Urgency.HIGH, final=(2, BD))

    high = open_ticket(catalog, urgency=Urgency.HIGH)
    assert high.sla_policy == by_all
    by_all.is_active = False
    by_all.save()
    assert sla_policy_for(high) == by_topic
    by_topic.delete()
    assert sla_policy_for(high) == by_urgency
    low = open_ticket(catalog, urgency=Urgency.LOW)
    assert low.sla_policy == by_type  # the urgency policy is for high only


def test_program_policy_covers_its_products_and_the_nearest_topic_wins(catalog):
    program = catalog["topic"]
    product = TopicFactory(institution=catalog["institution"], name="Colación",
                           parent=program, default_area=catalog["area"])
    on_program = make_policy(catalog, name="programa", topic=program, final=(5, BD))
    assert open_ticket(catalog, topic=product).sla_policy == on_program
    on_product = make_policy(catalog, name="producto", topic=product, final=(3, BD))
    assert open_ticket(catalog, topic=product).sla_policy == on_product
    # A topic policy beats an urgency one, even for the parent program.
    make_policy(catalog, name="urgencia", urgency=Urgency.MEDIUM, final=(1, BD))
    assert open_ticket(catalog, topic=program).sla_policy == on_program


def test_policy_of_another_type_or_topic_does_not_apply(catalog):
    other_type = TicketTypeFactory(institution=catalog["institution"], code="consulta")
    other_topic = TopicFactory(institution=catalog["institution"])
    make_policy(catalog, name="otro motivo", ticket_type=other_type, final=(1, BD))
    make_policy(catalog, name="otro tema", topic=other_topic, final=(1, BD))
    ticket = open_ticket(catalog)
    assert ticket.sla_policy is None


def test_without_policy_the_type_base_hours_apply(catalog):
    received = local(2026, 6, 26, 17, 0)
    ticket = open_ticket(catalog, received_at=received)
    assert ticket.sla_policy is None
    assert ticket.ack_due_at is None
    assert ticket.due_at == received + timedelta(hours=72)
    assert ticket.plan_due_at == received + timedelta(hours=72)
    short = TicketTypeFactory(institution=catalog["institution"], code="urgente",
                              target_hours=24)
    ticket = open_ticket(catalog, ticket_type=short, received_at=received)
    assert ticket.due_at == ticket.plan_due_at == received + timedelta(hours=24)
    # The acknowledgement went out on entry, so the clock points at the plan.
    assert ticket.next_due_at == ticket.plan_due_at
    assert ticket.at_risk_at == received + timedelta(hours=18)


def test_policy_targets_are_stored_per_stage(catalog):
    make_policy(catalog, ack=(0, H), plan=(72, H), final=(10, BD))
    received = local(2026, 6, 26, 17, 0)
    ticket = open_ticket(catalog, received_at=received)
    assert ticket.ack_due_at == received
    assert ticket.plan_due_at == received + timedelta(hours=72)
    # 10 business days after Friday 26 June, Monday 29 being a holiday: Monday 13 July 18:00.
    assert ticket.due_at == local(2026, 7, 13, 18, 0)
