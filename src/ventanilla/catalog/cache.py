"""Per-process cache of the configuration every intake reads: catalog entries, routing
rules, deadline policies, the business calendar, message templates.

An intake used to read all of that from the database on every request (about a dozen
queries), although it changes a few times a year. Each process now keeps it per
institution, tagged with ``Institution.config_version``: a value that changes whenever any
of it is saved or deleted (``catalog.signals``). Every request loads its institution anyway
(the API key's ``select_related``, the portal's lookup by slug), so comparing the version
costs nothing, and an edit takes effect on the next request in every process.

Rules:

- Entries are filled lazily (``InstitutionConfig.get``) from committed data; a version
  that does not match the cached one starts an empty config.
- A process that changed configuration inside a still-open transaction reads around the
  cache until that transaction ends, so uncommitted (possibly rolled back) data is never
  kept (``config_changed_here``).
- Writes that skip model signals (``QuerySet.update``, raw SQL, ``bulk_create``) must call
  ``catalog.signals.institution_config_bump``; as a safety net every config is also dropped
  after ``CONFIG_CACHE_SECONDS``.
- Cached model instances are shared between requests and threads: read them, never
  modify or save them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction

_configs: dict[int, InstitutionConfig] = {}
_dirty = threading.local()  # institutions changed in this thread's open transaction


def _max_age() -> float:
    return float(getattr(settings, "CONFIG_CACHE_SECONDS", 300))


class InstitutionConfig:
    """One institution's configuration as loaded in this process, at one version."""

    def __init__(self, institution_id: int, version) -> None:
        self.institution_id = institution_id
        self.version = version
        self.loaded_at = time.monotonic()
        self._values: dict[Any, Any] = {}

    def get(self, key, load: Callable[[], Any], *, keep_none: bool = True):
        """The value under ``key``, computed by ``load()`` the first time. ``keep_none``
        False: a None result is not kept (unknown ids from a caller are not cached)."""
        try:
            return self._values[key]
        except KeyError:
            pass
        value = load()
        if value is not None or keep_none:
            self._values[key] = value
        return value


def institution_config(institution) -> InstitutionConfig:
    """The cached configuration of ``institution`` (a loaded ``Institution``), or a
    throw-away one when it cannot be cached right now (see the module's rules)."""
    institution_id = institution.pk
    version = getattr(institution, "config_version", None)
    if version is None or config_changed_here(institution_id):
        return InstitutionConfig(institution_id, None)
    config = _configs.get(institution_id)
    if (config is None or config.version != version
            or time.monotonic() - config.loaded_at > _max_age()):
        config = InstitutionConfig(institution_id, version)
        _configs[institution_id] = config
    return config


def config_changed_here(institution_id: int) -> bool:
    """True while this thread's open transaction has changed the institution's
    configuration (then the cache is bypassed, see ``mark_changed``)."""
    changed = getattr(_dirty, "ids", None)
    if not changed:
        return False
    if not connection.in_atomic_block:  # that transaction ended (committed or rolled back)
        changed.clear()
        return False
    return institution_id in changed or None in changed


def mark_changed(institution_id: int | None) -> None:
    """Called by the signal handlers: drop this process's copy now and read around the
    cache until the current transaction ends. ``None``: every institution."""
    if institution_id is None:
        _configs.clear()
    else:
        _configs.pop(institution_id, None)
    if connection.in_atomic_block:
        if getattr(_dirty, "ids", None) is None:
            _dirty.ids = set()
        _dirty.ids.add(institution_id)
        # Committed: other requests see the new version, this thread may cache again. (A
        # rollback leaves the mark until this thread next looks outside a transaction:
        # meanwhile it only reads around the cache.)
        transaction.on_commit(lambda: _dirty.ids.discard(institution_id))


def config_cache_clear() -> None:
    """Forget everything cached in this process (tests, a management command)."""
    _configs.clear()
    if getattr(_dirty, "ids", None):
        _dirty.ids.clear()


# --- cached reads used by the intake -------------------------------------------------------------


def catalog_entry(model, institution, pk: int):
    """The institution's active ``model`` entry (TicketType, Topic, RequesterType,
    Organization) with id ``pk``, or None. A topic comes with its parent and default area
    (routing and deadlines walk up to the program)."""
    def load():
        entries = model.objects.filter(pk=pk, institution_id=institution.pk, is_active=True)
        if model._meta.model_name == "topic":
            entries = entries.select_related("parent", "default_area")
        return entries.first()

    return institution_config(institution).get(("entry", model._meta.label, pk), load,
                                               keep_none=False)


def api_key_channel(api_key, code: str):
    """The channel ``code`` if the API key may file through it, else None."""
    channels = institution_config(api_key.institution).get(
        ("key-channels", api_key.pk),
        lambda: {channel.code: channel for channel in api_key.channels.all()})
    return channels.get(code)


def channel_by_code(institution, code: str):
    """The (global) channel ``code``, or None; cached with the institution's configuration
    (a change to any channel gives every institution a new version)."""
    from ventanilla.catalog.models import Channel

    return institution_config(institution).get(
        ("channel", code), lambda: Channel.objects.filter(code=code).first(), keep_none=False)
