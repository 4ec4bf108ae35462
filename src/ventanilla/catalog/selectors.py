"""Read queries over the catalogs (active entries, in display order)."""

from django.db.models import QuerySet

from ventanilla.catalog.models import (
    Channel,
    Institution,
    Organization,
    RequesterType,
    TicketType,
    Topic,
)


def institution_list_active() -> QuerySet[Institution]:
    return Institution.objects.filter(is_active=True)


def channel_get(*, code: str) -> Channel:
    return Channel.objects.get(code=code)


def ticket_type_list(*, institution: Institution) -> QuerySet[TicketType]:
    return TicketType.objects.filter(institution=institution, is_active=True)


def requester_type_list(*, institution: Institution) -> QuerySet[RequesterType]:
    return RequesterType.objects.filter(institution=institution, is_active=True)


def topic_list(*, institution: Institution) -> list[Topic]:
    """Active topics in tree order (each program followed by its products)."""
    topics = list(
        Topic.objects.filter(institution=institution, is_active=True)
        .select_related("parent", "default_area")
    )
    by_parent: dict[int | None, list[Topic]] = {}
    for topic in topics:
        by_parent.setdefault(topic.parent_id, []).append(topic)
    ordered: list[Topic] = []

    def walk(parent_id: int | None) -> None:
        for topic in sorted(by_parent.get(parent_id, []), key=lambda t: (t.position, t.name)):
            ordered.append(topic)
            walk(topic.pk)

    walk(None)
    return ordered


def organization_list(*, institution: Institution) -> QuerySet[Organization]:
    return Organization.objects.filter(institution=institution, is_active=True).select_related(
        "comuna"
    )
