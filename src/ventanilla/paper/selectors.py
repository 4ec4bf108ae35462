"""Reads of the paper intake and of the catalog the printable form is built from."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from ventanilla.catalog import selectors as catalog_selectors
from ventanilla.catalog.models import Institution, RequesterType, TicketType
from ventanilla.paper.models import IntakeStatus, PaperIntake, PaperPage
from ventanilla.tickets.models import Urgency

PENDING_LIST_LIMIT = 200


def paper_intake_list_pending(*, institution: Institution) -> QuerySet[PaperIntake]:
    """The queue of forms waiting to be typed in, oldest first (their clock is running)."""
    return (PaperIntake.objects.filter(institution=institution, status=IntakeStatus.PENDING)
            .select_related("uploaded_by").annotate(page_count=Count("pages"))
            .order_by("created_at", "id"))


def paper_intake_get(*, intake_id: int, institution_ids: set[int]) -> PaperIntake | None:
    """The intake if it belongs to one of the given institutions; None otherwise, so an
    intake of another institution looks like a missing one."""
    return (PaperIntake.objects.filter(pk=intake_id, institution_id__in=institution_ids)
            .select_related("institution", "uploaded_by", "ticket", "closed_by").first())


def paper_page_list(*, intake: PaperIntake) -> list[PaperPage]:
    return list(intake.pages.order_by("position"))


def paper_page_get(*, intake: PaperIntake, page_id: int) -> PaperPage | None:
    return intake.pages.filter(pk=page_id).first()


@dataclass(frozen=True)
class TopicEntry:
    name: str
    depth: int


@dataclass(frozen=True)
class PaperFormCatalog:
    """The live catalog of one institution, as the web form offers it."""

    institution: Institution
    ticket_types: list[TicketType]
    topics: list[TopicEntry]
    requester_types: list[RequesterType]
    urgencies: list[tuple[str, str]]


def paper_form_catalog(*, institution: Institution) -> PaperFormCatalog:
    topics = catalog_selectors.topic_list(institution=institution)
    depth: dict[int, int] = {}
    entries = []
    for topic in topics:
        depth[topic.pk] = depth.get(topic.parent_id, -1) + 1 if topic.parent_id else 0
        entries.append(TopicEntry(name=topic.name, depth=depth[topic.pk]))
    return PaperFormCatalog(
        institution=institution,
        ticket_types=list(catalog_selectors.ticket_type_list(institution=institution)),
        topics=entries,
        requester_types=list(catalog_selectors.requester_type_list(institution=institution)),
        urgencies=[(value, str(label)) for value, label in Urgency.choices],
    )


def institution_for_paper_form(*, slug: str) -> Institution | None:
    return catalog_selectors.institution_list_active().filter(slug=slug).first()
