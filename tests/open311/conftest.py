import pytest
from django.core.cache import cache

from tests.factories import channel
from ventanilla.api.services import api_key_create


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # throttling counters live in the cache
    yield
    cache.clear()


@pytest.fixture
def write_key(catalog):
    _key, clear = api_key_create(institution=catalog["institution"], name="App cívica",
                                 channels=[channel("api")], can_write=True)
    return clear


@pytest.fixture
def post_request(client, catalog, write_key):
    """POST /open311/v2/requests.<fmt> with sensible defaults (location by lat/long)."""
    def post(fmt="json", headers=None, **fields):
        data = {"api_key": write_key, "service_code": str(catalog["topic"].pk),
                "lat": "-33.4372", "long": "-70.6506", "email": "juana@example.cl",
                "first_name": "Juana", "last_name": "Soto",
                "description": "Bache peligroso\nFrente al número 123."}
        data.update(fields)
        data = {k: v for k, v in data.items() if v is not None}
        return client.post(f"/open311/v2/requests.{fmt}", data, headers=headers or {})
    return post
