"""The fixed-window throttle (``api.throttling``): the window resets, and the database-cache
path (one ``INSERT … ON CONFLICT DO UPDATE``) counts atomically on both databases."""

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from ventanilla.api import throttling
from ventanilla.api.throttling import ApiKeyRateThrottle, window_increment

DB_CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                        "LOCATION": "ventanilla_cache"}}


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self):
        return self.now


def throttle_with(monkeypatch, clock, rate="2/min"):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": rate, "staff": rate})
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", lambda self: clock())
    return ApiKeyRateThrottle


def keyed_request(api_key):
    request = APIRequestFactory().get("/api/v1/catalog/channels/")
    request.auth = api_key
    request.user = None
    return request


@pytest.fixture
def database_cache(settings, db):
    settings.CACHES = DB_CACHE
    call_command("createcachetable", verbosity=0)
    yield caches["default"]


@pytest.fixture
def api_key(catalog):
    from ventanilla.api.services import api_key_create

    key, _raw = api_key_create(institution=catalog["institution"], name="IVR")
    return key


@pytest.mark.django_db
def test_window_resets_after_its_duration(api_key, monkeypatch):
    caches["default"].clear()
    clock = Clock(60 * 16_667 + 20.0)  # 20 s into a minute window
    throttle = throttle_with(monkeypatch, clock)
    request = keyed_request(api_key)
    assert [throttle().allow_request(request, None) for _ in range(3)] == [True, True, False]
    refused = throttle()
    assert refused.allow_request(request, None) is False
    assert refused.wait() == pytest.approx(40.0)  # Retry-After: what is left of the window
    clock.now += 40.0  # the next window starts
    assert [throttle().allow_request(request, None) for _ in range(3)] == [True, True, False]


@pytest.mark.django_db
def test_database_cache_counts_with_one_upsert(database_cache, monkeypatch):
    assert [window_increment("throttle:test:1:7", timeout=61) for _ in range(3)] == [1, 2, 3]
    with CaptureQueriesContext(connection) as queries:
        assert window_increment("throttle:test:1:7", timeout=61) == 4
    assert len(queries) == 1
    assert "ON CONFLICT" in queries[0]["sql"]
    # Another caller's counter is its own.
    assert window_increment("throttle:test:2:7", timeout=61) == 1


@pytest.mark.django_db
def test_database_cache_new_window_removes_the_callers_expired_windows(database_cache,
                                                                       monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    table = connection.ops.quote_name("ventanilla_cache")
    window_increment("throttle:test:1:7", timeout=61)
    window_increment("throttle:test:2:7", timeout=61)
    past = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET expires = %s", [past])  # noqa: S608
    assert window_increment("throttle:test:1:8", timeout=61) == 1
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {table} ORDER BY cache_key")  # noqa: S608
        keys = [row[0] for row in cursor.fetchall()]
    # Caller 1's old window is gone; caller 2's (not yet touched again) is left to culling.
    assert keys == ["throttle:test:1:8", "throttle:test:2:7"]


@pytest.mark.django_db
def test_throttle_on_database_cache_refuses_over_the_rate(database_cache, api_key,
                                                           monkeypatch):
    clock = Clock(2_000_000.0)
    throttle = throttle_with(monkeypatch, clock)
    request = keyed_request(api_key)
    assert [throttle().allow_request(request, None) for _ in range(3)] == [True, True, False]
    clock.now += 60.0
    assert throttle().allow_request(request, None) is True
    assert throttling.window_increment is window_increment
