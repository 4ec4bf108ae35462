"""Keep ``Institution.config_version`` current: any save or delete of configuration the
intake caches (``catalog.cache``) gives the institution a new version, in the same
transaction as the change, so every process drops its copy on its next request.

Connected in ``CatalogConfig.ready``. Covered: the institution's catalogs (types, topics,
requester types, organizations, areas), the global channels (every institution), routing
rules and their conditions, deadline policies, calendar settings and exceptions, message
templates, API keys and their channels, channel endpoints (reply by SMS), and the
institution row itself (a plain ``save()`` would write back the version it read).

Not covered, because they skip signals: ``QuerySet.update``/``bulk_create``/raw SQL on those
tables. The code base uses none on cached fields (``Area.last_assignee`` and
``assignment_policy`` are read fresh, under a row lock, by ``assignment_auto``); whoever
adds one calls ``institution_config_bump``. Data migrations run at deploy time, before the
processes that cache start. ``CONFIG_CACHE_SECONDS`` bounds any miss.
"""

from __future__ import annotations

import uuid

from django.db.models.signals import m2m_changed, post_delete, post_save

from ventanilla.catalog.cache import mark_changed

_connected = False


def institution_config_bump(institution_id: int | None) -> None:
    """A new configuration version for the institution (None: for every institution)."""
    from ventanilla.catalog.models import Institution

    institutions = Institution.objects.all()
    if institution_id is not None:
        institutions = institutions.filter(pk=institution_id)
    # One version per statement is enough: a version only has to differ from the old one.
    institutions.update(config_version=uuid.uuid4())
    mark_changed(institution_id)


def _bump_for(instance) -> None:
    institution_id = getattr(instance, "institution_id", None)
    if institution_id is not None:
        institution_config_bump(institution_id)


def _on_entry_change(sender, instance, raw=False, **kwargs) -> None:
    _bump_for(instance)


def _on_global_change(sender, instance, raw=False, **kwargs) -> None:
    institution_config_bump(None)


def _on_institution_saved(sender, instance, created=False, raw=False, **kwargs) -> None:
    if created:
        return  # a new row already has a fresh version
    institution_config_bump(instance.pk)


def _on_m2m_change(sender, instance, action, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if getattr(instance, "institution_id", None) is not None:
        _bump_for(instance)
    else:  # changed from a global row's side (a region, a comuna, a channel)
        institution_config_bump(None)


def connect() -> None:
    """Connect the receivers (idempotent)."""
    global _connected
    if _connected:
        return
    from ventanilla.api.models import ApiKey
    from ventanilla.catalog.models import (
        Area,
        Channel,
        Institution,
        Organization,
        RequesterType,
        TicketType,
        Topic,
    )
    from ventanilla.channels.models import ChannelEndpoint
    from ventanilla.notifications.models import MessageTemplate
    from ventanilla.routing.models import RoutingRule
    from ventanilla.sla.models import CalendarException, CalendarSettings, SlaPolicy

    per_institution = (TicketType, Topic, RequesterType, Organization, Area, RoutingRule,
                       SlaPolicy, CalendarSettings, CalendarException, MessageTemplate, ApiKey,
                       ChannelEndpoint)
    for model in per_institution:
        post_save.connect(_on_entry_change, sender=model, dispatch_uid=f"config-{model}")
        post_delete.connect(_on_entry_change, sender=model, dispatch_uid=f"config-d-{model}")
    post_save.connect(_on_global_change, sender=Channel, dispatch_uid="config-channel")
    post_delete.connect(_on_global_change, sender=Channel, dispatch_uid="config-d-channel")
    post_save.connect(_on_institution_saved, sender=Institution,
                      dispatch_uid="config-institution")
    for field in ("ticket_types", "topics", "channels", "regions", "comunas", "organizations"):
        m2m_changed.connect(_on_m2m_change,
                            sender=RoutingRule._meta.get_field(field).remote_field.through,
                            dispatch_uid=f"config-rule-{field}")
    m2m_changed.connect(_on_m2m_change, sender=ApiKey.channels.through,
                        dispatch_uid="config-apikey-channels")
    _connected = True
