"""Read queries over the territory."""

from django.db.models import QuerySet

from ventanilla.core.models import Comuna, Region


def region_list() -> QuerySet[Region]:
    return Region.objects.all()


def comuna_list(*, region_code: str | None = None) -> QuerySet[Comuna]:
    comunas = Comuna.objects.select_related("region")
    if region_code:
        comunas = comunas.filter(region_id=region_code)
    return comunas.order_by("name")
