"""The request form's choices are built once per process and catalog version: a POST
checks the submitted ids with dict lookups, reads no catalog or territory table once warm,
and follows a catalog edit on the next request."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import TopicFactory, make_catalog
from tests.portal.helpers import request_payload
from ventanilla.catalog import cache
from ventanilla.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CATALOG_TABLES = ("catalog_topic", "catalog_tickettype", "catalog_requestertype",
                  "catalog_organization", "core_comuna", "core_region", "catalog_channel")


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.config_cache_clear()
    yield
    cache.config_cache_clear()


def post(client, catalog, **overrides):
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    return client.post(url, request_payload(catalog, **overrides))


def test_warm_form_post_reads_no_catalog_table(client):
    catalog = make_catalog()
    assert post(client, catalog).status_code == 302
    with CaptureQueriesContext(connection) as queries:
        assert post(client, catalog, subject="Otra vez").status_code == 302
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    for table in CATALOG_TABLES:
        assert f'FROM "{table}"' not in sql, table
    assert Ticket.objects.filter(institution=catalog["institution"]).count() == 2


@pytest.mark.parametrize(("field", "value", "message"), [
    ("topic", "999999", "Elija un tema de la lista."),
    ("ticket_type", "999999", "Elija un motivo de la lista."),
    ("requester_type", "abc", "Elija un tipo de usuario de la lista."),
    ("region", "99", "Elija una región de la lista."),
    ("comuna", "99999", "Elija una comuna de la lista."),
    ("organization", "999999", "Establecimiento desconocido."),
])
def test_unknown_ids_are_refused_with_the_fields_message(client, field, value, message):
    catalog = make_catalog()
    assert post(client, catalog).status_code == 302  # warm
    response = post(client, catalog, **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Ticket.objects.filter(institution=catalog["institution"]).count() == 1


def test_new_topic_is_offered_and_accepted_on_the_next_request(client):
    catalog = make_catalog()
    assert post(client, catalog).status_code == 302  # warm
    topic = TopicFactory(institution=catalog["institution"], name="Tema recién creado",
                         default_area=catalog["area"])
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    assert "Tema recién creado" in client.get(url).content.decode()
    assert post(client, catalog, topic=str(topic.pk)).status_code == 302
    assert Ticket.objects.filter(topic=topic).count() == 1
