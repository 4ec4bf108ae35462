"""Writes of the operations app: the uptime probe and the sweep of orphan files (both run by
``ventanilla worker``)."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, models
from django.utils import timezone

from ventanilla.operations.health import FAIL, check_database, check_queue
from ventanilla.operations.models import Check, UptimeProbe

logger = logging.getLogger("ventanilla.uptime")

# Probes taken while the database could not store them (a database outage is exactly when
# they matter). Written with the next probe that can write; lost if the worker stops first,
# which leaves a gap (unknown time), never a false "up". A day of probes at most.
_unwritten: deque[UptimeProbe] = deque(maxlen=1440)


@dataclass(frozen=True)
class WebResult:
    failed: tuple[str, ...]
    ms: int | None


def probe_web(url: str, *, timeout: float) -> WebResult:
    """Ask the web's /healthz over HTTP like a visitor would. The web is up when it answers
    200; a 503 from our own health view names what failed behind it (database, queue);
    anything else — no answer, timeout, another status, not our JSON — is "web"."""
    if not url.startswith(("http://", "https://")):
        return WebResult((Check.WEB.value,), None)
    started = time.monotonic()
    request = urllib.request.Request(  # noqa: S310 (http or https, checked above)
        url, headers={"User-Agent": "ventanilla-uptime-probe"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, body = response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(65536)
    except (OSError, ValueError):  # refused, timeout, DNS, TLS, bad URL
        return WebResult((Check.WEB.value,), None)
    ms = int((time.monotonic() - started) * 1000)
    if status == 200:
        return WebResult((), ms)
    if status == 503:
        try:
            failing = json.loads(body).get("failing") or []
        except (ValueError, AttributeError):
            failing = []
        named = tuple(name for name in failing if name in (Check.DATABASE, Check.QUEUE))
        if named:
            return WebResult(named, ms)
    return WebResult((Check.WEB.value,), ms)


def uptime_probe(*, now: datetime | None = None, url: str | None = None) -> str | None:
    """One probe: the web over HTTP, then the database and the queue from here. Stores one
    ``UptimeProbe`` row; returns a line for the worker's log when something failed."""
    checked_at = now or timezone.now()
    web = probe_web(url or settings.UPTIME_PROBE_URL, timeout=settings.UPTIME_PROBE_TIMEOUT)
    failed = list(web.failed)
    if check_database()["status"] == FAIL:
        failed.append(Check.DATABASE.value)
    elif check_queue(now=checked_at)["status"] == FAIL:
        failed.append(Check.QUEUE.value)
    failed = list(dict.fromkeys(failed))  # once each, in order
    probe = UptimeProbe(checked_at=checked_at, ok=not failed, failed_checks=",".join(failed),
                        web_ms=web.ms)
    _unwritten.append(probe)
    try:
        UptimeProbe.objects.bulk_create(list(_unwritten))
    except DatabaseError:
        logger.warning("uptime: cannot store the probe (database down); %s kept in memory",
                       len(_unwritten))
    else:
        _unwritten.clear()
        uptime_prune(now=checked_at)
    return f"service unavailable: {', '.join(failed)}" if failed else None


def uptime_prune(*, now: datetime | None = None) -> int:
    """Delete probes older than UPTIME_RETENTION_DAYS (an index range: nothing to do most
    minutes)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.UPTIME_RETENTION_DAYS)
    deleted, _ = UptimeProbe.objects.filter(checked_at__lt=cutoff).delete()
    return deleted


# --- orphan files ------------------------------------------------------------------------------

def _file_fields() -> list[tuple[type[models.Model], str]]:
    return [(model, field.attname) for model in apps.get_models()
            for field in model._meta.concrete_fields if isinstance(field, models.FileField)]


def _referenced(names: list[str]) -> set[str]:
    """Which of ``names`` a row of any model still points to."""
    found: set[str] = set()
    for model, attname in _file_fields():
        found.update(model._default_manager.filter(**{f"{attname}__in": names})
                     .values_list(attname, flat=True))
    return found


def storage_orphans_sweep(*, older_than: timedelta | None = None, dry_run: bool = False,
                          now: datetime | None = None, batch: int = 500) -> list[str]:
    """Delete stored files no row points to and older than ``older_than`` (a day): what a
    write that failed after its files were saved left behind (the intake and paper uploads
    delete theirs when the storage fails, but a rollback for another reason cannot). Walks
    the default storage a folder at a time and asks the database per batch of names, so
    memory stays flat however many files there are. Young files are left alone: they may
    belong to an intake whose transaction has not committed yet. Returns the names."""
    cutoff = (now or timezone.now()) - (older_than or timedelta(
        seconds=settings.STORAGE_ORPHAN_MIN_AGE))
    removed: list[str] = []
    folders = [""]
    while folders:
        folder = folders.pop()
        try:
            subfolders, files = default_storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        folders.extend(f"{folder}/{name}" if folder else name for name in subfolders)
        names = [f"{folder}/{name}" if folder else name for name in files]
        for start in range(0, len(names), batch):
            chunk = names[start:start + batch]
            referenced = _referenced(chunk)
            for name in chunk:
                if name in referenced:
                    continue
                try:
                    if default_storage.get_modified_time(name) >= cutoff:
                        continue
                except (NotImplementedError, OSError):
                    continue  # a storage that cannot tell the age: never guess
                if not dry_run:
                    default_storage.delete(name)
                removed.append(name)
    if removed:
        logger.info("storage sweep: %s orphan file(s)%s", len(removed),
                    " found (dry run)" if dry_run else " deleted")
    return removed
