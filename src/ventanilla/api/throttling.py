"""Per-key and per-IP (anonymous) rate limits, counted in the shared cache.

A fixed window per caller: one counter per caller and window (``rate`` requests per
``duration``), incremented atomically. DRF's default throttle keeps the timestamp of every
request of the window in one cache value and reads, trims, pickles and writes the whole
list on each request: at 600/min that is up to 600 floats per request, and with the
database cache six queries and a row that every request of the key locks in turn. The
window counter is one atomic increment: ``INCR`` in Redis, one ``INSERT … ON CONFLICT DO
UPDATE`` on the database cache table, ``incr`` elsewhere. A caller may get up to twice the
rate across a window boundary; that is the usual price of a fixed window and harmless for a
limit meant to stop runaway integrations.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connection, router
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from ventanilla.api.models import ApiKey


def window_increment(key: str, *, timeout: int) -> int:
    """Add one to the counter ``key`` (created at 1, expiring after ``timeout`` seconds) and
    return its new value, atomically across processes."""
    cache = caches["default"]
    if isinstance(cache, DatabaseCache) and router.db_for_write(
            cache.cache_model_class) == connection.alias:
        return _database_increment(key, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet for this window
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another process created it in between


def _database_increment(key: str, *, timeout: int) -> int:
    # The cache table is (cache_key primary key, value text, expires). These rows are never
    # read through the cache API (their keys have their own prefix); the cache culls them
    # by ``expires`` like any other entry, and each caller's previous windows are removed
    # when its next window starts.
    table = connection.ops.quote_name(settings.CACHES["default"]["LOCATION"])
    expires = connection.ops.adapt_datetimefield_value(
        timezone.now() + timedelta(seconds=timeout))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, '1', %s) "  # noqa: S608
            f"ON CONFLICT (cache_key) DO UPDATE SET value = "
            f"CAST(CAST({table}.value AS INTEGER) + 1 AS TEXT) RETURNING value",
            [key, expires])
        count = int(cursor.fetchone()[0])
        if count == 1:
            # (A "_" in the prefix matches any character in LIKE: at worst other expired
            # counters go too.)
            prefix = key.rsplit(":", 1)[0] + ":"
            cursor.execute(
                f"DELETE FROM {table} WHERE cache_key LIKE %s AND cache_key <> %s "  # noqa: S608
                f"AND expires < %s",
                [prefix + "%", key,
                 connection.ops.adapt_datetimefield_value(timezone.now())])
    return count


class FixedWindowRateThrottle(SimpleRateThrottle):
    """``SimpleRateThrottle`` with a counter per window instead of a log of timestamps."""

    cache_format = "throttle:%(scope)s:%(ident)s"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends_at = (window + 1) * self.duration
        count = window_increment(f"{self.key}:{window}", timeout=self.duration + 1)
        return count <= self.num_requests

    def wait(self):
        # Retry-After: the seconds left in this window (at least one).
        return max(1.0, self.window_ends_at - self.now)

    def timer(self):
        return time.time()


class ApiKeyRateThrottle(FixedWindowRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": "staff", "ident": request.user.pk}
        return None


class AnonIpRateThrottle(FixedWindowRateThrottle):
    scope = "anon"

    def get_cache_key(self, request, view):
        if request.auth is not None or (request.user and request.user.is_authenticated):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
