"""The per-process configuration cache (``catalog.cache``): an edit made anywhere takes
effect on the next intake in every process, warm cache or not; uncommitted edits are never
cached.

These tests commit (``transaction=True``): inside the usual test transaction every intake
reads around the cache, which is the behaviour tested last. "Another process" is this one
with the copy it held before the edit put back: only the version on the institution row,
read by the next request, tells it that copy is stale.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.factories import AreaFactory, channel, make_catalog, open_ticket
from ventanilla.api.services import api_key_create
from ventanilla.catalog import cache
from ventanilla.catalog.models import Institution
from ventanilla.catalog.signals import institution_config_bump
from ventanilla.notifications.models import MessageTemplate, OutboundMessage
from ventanilla.routing.models import RoutingRule
from ventanilla.sla.models import SlaPolicy

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.config_cache_clear()
    yield
    cache.config_cache_clear()


def fresh(institution) -> Institution:
    """The institution as the next request loads it."""
    return Institution.objects.get(pk=institution.pk)


def intake(catalog, **overrides):
    return open_ticket(catalog, institution=fresh(catalog["institution"]), **overrides)


def held_by_another_process():
    """Snapshot of this process's cache; ``restore`` puts it back after an edit dropped it
    here, as if the edit had been made by another process."""
    snapshot = dict(cache._configs)
    return lambda: cache._configs.update(snapshot)


def rule_to(catalog, area, **fields):
    return RoutingRule.objects.create(institution=catalog["institution"], name="Colación",
                                      area=area, keywords="colación", position=1, **fields)


def test_warm_cache_reads_no_configuration():
    catalog = make_catalog()
    rule_to(catalog, AreaFactory(institution=catalog["institution"], name="Alimentación"))
    intake(catalog)  # warms the cache
    from django.db import connection

    with CaptureQueriesContext(connection) as queries:
        intake(catalog)
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    for table in ("routing_routingrule", "sla_slapolicy", "sla_calendarsettings",
                  "sla_calendarexception", "notifications_messagetemplate"):
        assert table not in sql, table


def test_edited_routing_rule_applies_on_next_intake_in_another_process():
    catalog = make_catalog()
    institution = catalog["institution"]
    food = AreaFactory(institution=institution, name="Alimentación")
    becas = AreaFactory(institution=institution, name="Becas")
    rule = rule_to(catalog, food)
    assert intake(catalog).area == food  # cache warm with the rule
    restore = held_by_another_process()

    rule.area = becas
    rule.save()  # an admin edit
    restore()

    assert intake(catalog).area == becas


def test_rule_condition_change_and_deletion_apply_too():
    catalog = make_catalog()
    institution = catalog["institution"]
    food = AreaFactory(institution=institution, name="Alimentación")
    rule = rule_to(catalog, food)
    assert intake(catalog).area == food
    restore = held_by_another_process()
    rule.channels.set([channel("phone")])  # many-to-many: the web intake no longer matches
    restore()
    assert intake(catalog).area == catalog["area"]

    rule.channels.clear()
    assert intake(catalog).area == food
    restore = held_by_another_process()
    rule.delete()
    restore()
    assert intake(catalog).area == catalog["area"]


def test_edited_deadline_policy_applies_on_next_intake():
    catalog = make_catalog()
    policy = SlaPolicy.objects.create(
        institution=catalog["institution"], name="Reclamos", ticket_type=catalog["complaint"],
        final_amount=Decimal(48), final_unit="calendar_hours")
    first = intake(catalog)
    assert first.due_at == first.received_at + timedelta(hours=48)
    restore = held_by_another_process()
    policy.final_amount = Decimal(24)
    policy.save()
    restore()
    second = intake(catalog)
    assert second.due_at == second.received_at + timedelta(hours=24)


def test_edited_message_template_applies_on_next_intake():
    catalog = make_catalog()
    template = MessageTemplate.objects.create(
        institution=catalog["institution"], key="ticket_received",
        subject="Primera {{ ticket.folio }}", body="Hola {{ ticket.contact_name }}")
    first = intake(catalog)
    restore = held_by_another_process()
    template.subject = "Segunda {{ ticket.folio }}"
    template.save()
    restore()
    second = intake(catalog)

    def subject(ticket):
        return OutboundMessage.objects.get(dedupe_key=f"ticket-{ticket.pk}-received").subject

    assert subject(first) == f"Primera {first.folio}"
    assert subject(second) == f"Segunda {second.folio}"


def test_deactivated_topic_is_refused_by_the_api_on_the_next_request():
    catalog = make_catalog()
    _key, raw = api_key_create(institution=catalog["institution"], name="IVR",
                               channels=[channel("api")], can_write=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    payload = {"ticket_type": catalog["complaint"].pk, "topic": catalog["topic"].pk,
               "subject": "Colación", "detail": "No llegó.", "full_name": "Juana Soto",
               "email": "juana@example.cl"}
    assert client.post("/api/v1/tickets/", payload, format="json").status_code == 201
    restore = held_by_another_process()
    topic = catalog["topic"]
    topic.is_active = False
    topic.save()
    restore()
    response = client.post("/api/v1/tickets/", payload, format="json")
    assert response.status_code == 400
    assert "topic" in response.json()


def test_writes_that_skip_signals_are_covered_by_an_explicit_bump():
    catalog = make_catalog()
    institution = catalog["institution"]
    food = AreaFactory(institution=institution, name="Alimentación")
    rule_to(catalog, food)
    assert intake(catalog).area == food
    restore = held_by_another_process()
    RoutingRule.objects.filter(institution=institution).update(is_active=False)  # no signal
    restore()
    assert intake(catalog).area == food  # documented: such writes must bump
    institution_config_bump(institution.pk)
    restore()
    assert intake(catalog).area == catalog["area"]


def test_uncommitted_edit_is_seen_by_its_transaction_and_never_cached():
    catalog = make_catalog()
    institution = catalog["institution"]
    food = AreaFactory(institution=institution, name="Alimentación")
    becas = AreaFactory(institution=institution, name="Becas")
    rule = rule_to(catalog, food)
    assert intake(catalog).area == food

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        rule.area = becas
        rule.save()
        # The same transaction sees its own edit...
        assert intake(catalog).area == becas
        raise Rollback
    # ...and after the rollback nobody routes by the edit that never happened.
    assert intake(catalog).area == food
    rule.refresh_from_db()
    assert rule.area == food


def test_institution_saved_with_an_old_version_still_invalidates():
    """A plain ``save()`` of an institution loaded before an edit writes back the version it
    read; saving it gives a new one, so no process keeps the copy of that old version."""
    catalog = make_catalog()
    institution = catalog["institution"]
    food = AreaFactory(institution=institution, name="Alimentación")
    rule = rule_to(catalog, food)
    loaded_before = fresh(institution)  # the version the cache is about to hold
    assert intake(catalog).area == food
    restore = held_by_another_process()
    rule.is_active = False
    rule.save()
    loaded_before.name = "Nuevo nombre"
    loaded_before.save()
    restore()
    assert fresh(institution).config_version != loaded_before.config_version
    assert intake(catalog).area == catalog["area"]
