"""Property-based run over the OpenAPI schema: no 5xx, and every response (status code,
content type, body) conforms to the schema. Bounded (~25 examples per operation, positive and
negative data) and deterministic (``derandomize``), authenticated with a write key."""

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_catalog, open_ticket
from ventanilla.api.services import api_key_create
from ventanilla.catalog.models import Channel
from ventanilla.wsgi import application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
MAX_EXAMPLES = 25


@pytest.fixture
def _keep_db_connection():
    """Like Django's test client: a WSGI request must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def write_key(db):
    catalog = make_catalog()
    open_ticket(catalog)
    _key, raw = api_key_create(institution=catalog["institution"], name="schemathesis",
                               channels=Channel.objects.filter(code="api"), can_write=True)
    return raw


def run_operation(operation, mode, headers):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        cache.clear()  # the run must not trip the rate limit
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_schema(write_key, _keep_db_connection, mode):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    failures = []
    for operation in operations:
        try:
            run_operation(operation, mode, {"X-Api-Key": write_key})
        except Unsatisfiable:  # nothing to make invalid (no parameters, or only a path)
            continue
        except Exception as exc:  # report every operation at once
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
