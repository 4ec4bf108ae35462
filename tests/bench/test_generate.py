"""The benchmark data generator: reproducible, and every row one the application accepts."""

from datetime import date, timedelta

import pytest
from bench.generate import drop, generate, rut_check_digit
from django.db.models import F, Q
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory
from ventanilla.accounts.models import Role
from ventanilla.catalog.models import Institution
from ventanilla.citizens.models import Citizen
from ventanilla.core.rut import rut_normalize
from ventanilla.reports.models import TicketDailyStat
from ventanilla.reports.services import rollup_rebuild
from ventanilla.tickets.models import (
    OPEN_STATUSES,
    FolioCounter,
    Interaction,
    Status,
    Ticket,
    TicketEvent,
    TriageStatus,
)

pytestmark = pytest.mark.django_db

END = date(2025, 6, 30)
SLUG = "gen-test"


def _generate(**kwargs):
    options = {"tickets": 400, "seed": 11, "institution_slug": SLUG, "years": 1, "end": END}
    return generate(**{**options, **kwargs})


def _snapshot() -> tuple[list, list, list]:
    tickets = list(Ticket.objects.filter(institution__slug=SLUG).order_by("folio").values_list(
        "folio", "public_id", "channel__code", "ticket_type__code", "topic__name", "area__name",
        "region_id", "comuna_id", "subject", "detail", "status", "stage", "triage_status",
        "received_at", "next_due_at", "at_risk_at", "closed_at", "citizen__rut",
        "citizen__email", "contact_email", "contact_rut"))
    events = list(TicketEvent.objects.filter(ticket__institution__slug=SLUG).order_by(
        "ticket__folio", "created_at", "kind").values_list("ticket__folio", "kind", "created_at",
                                                          "to_status", "body"))
    interactions = sorted(Interaction.objects.filter(institution__slug=SLUG).values_list(
        "kind", "channel__code", "occurred_at", "ticket__folio", "citizen__email"),
        key=lambda row: tuple("" if v is None else str(v) for v in row))
    return tickets, events, interactions


def test_same_seed_same_rows_and_drop_removes_everything():
    stats = _generate()
    first = _snapshot()
    assert stats["tickets"] == len(first[0]) == 400
    assert stats["events"] == len(first[1]) and stats["interactions"] == len(first[2])
    assert drop(SLUG) is True
    assert not Institution.objects.filter(slug=SLUG).exists()
    assert not Ticket.objects.exists() and not Interaction.objects.exists()
    assert not Citizen.objects.exists()
    _generate()
    assert _snapshot() == first
    drop(SLUG)
    _generate(seed=12)
    assert _snapshot()[0] != first[0]
    assert drop(SLUG) is True and drop(SLUG) is False


def test_rows_are_valid_and_coherent(client):
    stats = _generate(tickets=1500, years=2)
    institution = Institution.objects.get(slug=SLUG)
    tickets = Ticket.objects.filter(institution=institution)
    assert tickets.count() == 1500
    assert stats["citizens"] < 1500  # repeat requesters
    # Folios in the platform's format, and the counters continue after them.
    for folio in tickets.values_list("folio", flat=True)[:50]:
        prefix, year, number = folio.split("-")
        assert prefix == institution.folio_prefix and len(number) == 6 and len(year) == 4
    last = tickets.filter(received_at__year=2025).order_by("-folio").first().folio
    counter = FolioCounter.objects.get(institution=institution, year=2025)
    assert last.endswith(f"-{counter.last_value:06d}")
    # Statuses and deadlines as the services would leave them.
    closed = tickets.filter(status=Status.CLOSED)
    assert closed.exists() and tickets.filter(status__in=OPEN_STATUSES).exists()
    assert not closed.filter(Q(closed_at__isnull=True) | Q(closed_at__lt=F("received_at")))
    assert not closed.exclude(next_due_at=None)
    assert not closed.filter(ticket_type__code="reclamo", root_cause="")
    open_ = tickets.filter(status__in=OPEN_STATUSES)
    assert not open_.filter(next_due_at=None) and not open_.exclude(closed_at=None)
    assert not open_.filter(at_risk_at__gt=F("next_due_at"))
    assert not open_.filter(at_risk_at__lt=F("received_at"))
    assert not tickets.filter(plan_answered_at__lt=F("received_at"))
    assert not tickets.filter(status=Status.WAITING_CITIZEN, paused_at=None)
    assert not tickets.filter(triage_status=TriageStatus.PENDING).exclude(status=Status.NEW)
    assert not tickets.filter(ticket_type__workflow="type1").exclude(status=Status.CLOSED)
    # Older tickets are closed, the most recent ones mostly open.
    end = tickets.order_by("-received_at").first().received_at
    old = tickets.filter(received_at__lt=end - timedelta(days=120))
    recent = tickets.filter(received_at__gte=end - timedelta(days=2),
                            ticket_type__workflow="type2")
    assert old.filter(status=Status.CLOSED).count() > 0.9 * old.count()
    assert recent.filter(status__in=OPEN_STATUSES).count() > 0.5 * recent.count()
    # People: valid RUTs, repeat requesters share one record.
    for rut in Citizen.objects.exclude(rut=None).values_list("rut", flat=True)[:200]:
        assert rut_normalize(rut) == rut
    # Every ticket has its CREATED event and its ticket_opened interaction.
    assert TicketEvent.objects.filter(ticket__institution=institution,
                                      kind="created").count() == 1500
    assert Interaction.objects.filter(institution=institution,
                                      kind="ticket_opened").count() == 1500
    assert Interaction.objects.filter(institution=institution, ticket=None).exists()

    # The staff page and the citizen's tracking page open a generated ticket.
    user = UserFactory()
    MembershipFactory(user=user, institution=institution, role=Role.SUPERVISOR)
    client.force_login(user)
    ticket = open_.exclude(contact_email="").first()
    page = client.get(reverse("console:ticket", args=[ticket.folio]))
    assert page.status_code == 200 and ticket.subject in page.content.decode()
    assert client.get(reverse("console:inbox"), {"q": ticket.folio}).status_code == 200
    client.logout()
    response = client.post(reverse("portal:track"),
                           {"folio": ticket.folio, "email": ticket.contact_email})
    assert response.status_code == 302
    assert client.get(response.url).status_code == 200

    # The dashboard rollups are built from the generated tickets by the real service.
    rollup_rebuild(institution=institution)
    received = sum(TicketDailyStat.objects.filter(institution=institution)
                   .values_list("received", flat=True))
    assert received == 1500
    drop(SLUG)


def test_open_share_is_honoured():
    _generate(tickets=600, open_share=0.5)
    tickets = Ticket.objects.filter(institution__slug=SLUG, ticket_type__workflow="type2")
    share = tickets.filter(status__in=OPEN_STATUSES).count() / tickets.count()
    assert 0.4 < share < 0.6
    drop(SLUG)


def test_rut_check_digit_matches_the_platform():
    for number in (1_000_000, 5_126_663, 12_531_909, 24_999_999, 7_654_321):
        compact = f"{number}{rut_check_digit(number)}"
        assert rut_normalize(compact) == compact
