"""Read queries over the territory."""

from __future__ import annotations

from django.db.models import QuerySet

from ventanilla.core.models import Comuna, Region


def region_list() -> QuerySet[Region]:
    return Region.objects.all()


def comuna_list(*, region_code: str | None = None) -> QuerySet[Comuna]:
    comunas = Comuna.objects.select_related("region")
    if region_code:
        comunas = comunas.filter(region_id=region_code)
    return comunas.order_by("name")


# Regions and comunas are the official CUT table, loaded by a migration and never edited
# through the application: each process reads them once (16 + 346 rows) instead of on every
# intake and every form. The instances are shared: read them, never modify them.
_TERRITORY: dict[str, tuple] = {}


def _territory() -> tuple[tuple[Region, ...], tuple[Comuna, ...], dict, dict]:
    cached = _TERRITORY.get("all")
    if cached is None:
        regions = tuple(region_list())
        by_code = {region.code: region for region in regions}
        comunas = tuple(Comuna.objects.order_by("name"))
        for comuna in comunas:  # the region without another query, from the same objects
            Comuna.region.field.set_cached_value(comuna, by_code[comuna.region_id])
        cached = (regions, comunas, by_code, {comuna.code: comuna for comuna in comunas})
        # Only a complete table is kept (an empty one: migrations not run yet).
        if regions and comunas:
            _TERRITORY["all"] = cached
    return cached


def region_list_cached() -> tuple[Region, ...]:
    """Every region in display order (as ``region_list``), cached per process."""
    return _territory()[0]


def comuna_list_cached() -> tuple[Comuna, ...]:
    """Every comuna by name with its region loaded, cached per process."""
    return _territory()[1]


def region_by_code(code: str) -> Region | None:
    return _territory()[2].get(code)


def comuna_by_code(code: str) -> Comuna | None:
    return _territory()[3].get(code)
