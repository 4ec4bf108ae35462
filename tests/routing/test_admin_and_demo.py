"""Routing rules in the admin (validation, ordered list, dry run) and the demo rules."""

import pytest
from django.urls import reverse

from tests.factories import AreaFactory, TopicFactory, UserFactory, open_ticket
from ventanilla.catalog.models import Area, AssignmentPolicy, TicketType, Topic
from ventanilla.core.models import Region
from ventanilla.routing.demo import AREA_CANASTAS, AREA_OIRS, AREA_PAE, seed_routing_demo
from ventanilla.routing.models import RoutingRule

pytestmark = pytest.mark.django_db

ADD = reverse("admin:routing_routingrule_add")
CHANGELIST = reverse("admin:routing_routingrule_changelist")
DRY_RUN = reverse("admin:routing_routingrule_dry_run")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def rule_data(catalog, **overrides):
    data = {
        "institution": catalog["institution"].pk, "name": "Regla", "position": 1,
        "is_active": "on", "area": catalog["area"].pk, "keywords": "", "priority": "",
    }
    data.update(overrides)
    return data


def test_add_a_valid_rule(admin_client, catalog):
    response = admin_client.post(ADD, rule_data(
        catalog, topics=[catalog["topic"].pk], urgencies=["high"], keywords="celiaco"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    rule = RoutingRule.objects.get()
    assert rule.urgencies == ["high"] and list(rule.topics.all()) == [catalog["topic"]]


@pytest.mark.parametrize("field", ["area", "topics", "ticket_types", "organizations"])
def test_entries_of_another_institution_are_refused(admin_client, catalog, other_catalog,
                                                    field):
    foreign = {
        "area": {"area": other_catalog["area"].pk},
        "topics": {"topics": [other_catalog["topic"].pk]},
        "ticket_types": {"ticket_types": [other_catalog["complaint"].pk]},
        "organizations": {"organizations": [other_catalog["organization"].pk]},
    }[field]
    response = admin_client.post(ADD, rule_data(catalog, **foreign))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not RoutingRule.objects.exists()


def test_comunas_outside_the_chosen_regions_are_refused(admin_client, catalog):
    nuble = Region.objects.get(code="16")
    santiago_comuna = catalog["organization"].comuna
    response = admin_client.post(ADD, rule_data(catalog, regions=[nuble.pk],
                                                comunas=[santiago_comuna.pk]))
    assert response.status_code == 200
    assert "comunas" in response.context["adminform"].form.errors


def test_change_form_offers_only_the_rules_institution(admin_client, catalog, other_catalog,
                                                      make_rule):
    rule = make_rule()
    response = admin_client.get(reverse("admin:routing_routingrule_change", args=[rule.pk]))
    form = response.context["adminform"].form
    assert set(form.fields["topics"].queryset) == set(
        Topic.objects.filter(institution=catalog["institution"]))
    assert other_catalog["area"] not in set(form.fields["area"].queryset)


def test_changelist_is_ordered_and_editable(admin_client, catalog, make_rule):
    second = make_rule(position=2, name="Segunda")
    first = make_rule(position=1, name="Primera")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [first, second]
    assert DRY_RUN in response.content.decode()
    data = {
        "form-TOTAL_FORMS": "2", "form-INITIAL_FORMS": "2", "_save": "Guardar",
        "form-0-id": first.pk, "form-0-position": "5", "form-0-is_active": "on",
        "form-1-id": second.pk, "form-1-position": "2",
    }
    response = admin_client.post(CHANGELIST, data)
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.position == 5 and not second.is_active


def test_dry_run_shows_the_matching_rule_and_stores_nothing(admin_client, catalog, make_rule):
    becas = AreaFactory(institution=catalog["institution"], name="Becas")
    make_rule(area=becas, keywords="beca", name="Palabra beca")
    data = {"institution": catalog["institution"].pk, "ticket_type": catalog["complaint"].pk,
            "topic": catalog["topic"].pk, "channel": catalog["web"].pk, "urgency": "medium",
            "subject": "Mi BECA", "detail": ""}
    response = admin_client.post(DRY_RUN, data)
    assert response.status_code == 200
    assert response.context["decision"].rule.name == "Palabra beca"
    assert "Palabra beca" in response.content.decode()
    response = admin_client.post(DRY_RUN, {**data, "subject": "Otra cosa"})
    assert response.context["decision"] is None
    assert catalog["area"].name in response.content.decode()
    assert admin_client.get(DRY_RUN).status_code == 200
    response = admin_client.post(DRY_RUN, {**data, "topic": TopicFactory().pk})
    assert "topic" in response.context["form"].errors


# --- demo -------------------------------------------------------------------------------------

def test_seed_routing_demo(catalog):
    institution = catalog["institution"]
    areas = {name: AreaFactory(institution=institution, name=name)
             for name in (AREA_OIRS, AREA_PAE, AREA_CANASTAS)}
    TicketType.objects.create(institution=institution, code="ley-20285", name="Ley 20.285",
                              workflow="type2")
    TopicFactory(institution=institution, name="Canastas Junaeb",
                 default_area=areas[AREA_CANASTAS])
    rules = seed_routing_demo(institution)
    assert len(rules) == 4
    assert seed_routing_demo(institution) == rules  # idempotent
    assert Area.objects.get(pk=areas[AREA_PAE].pk).assignment_policy == (
        AssignmentPolicy.ROUND_ROBIN)
    ticket = open_ticket(catalog, subject="Menú para niña CELÍACA", urgency="low")
    assert ticket.area == areas[AREA_PAE] and ticket.priority == "high"


def test_seed_routing_demo_skips_rules_whose_catalog_is_missing(catalog):
    assert seed_routing_demo(catalog["institution"]) == []
