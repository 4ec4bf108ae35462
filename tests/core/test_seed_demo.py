"""``seed_demo``: a consistent demo installation, built through the real services, once."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import django.utils.timezone as dj_timezone
import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from ventanilla.accounts.models import Membership, Role, User
from ventanilla.catalog.models import Institution, Organization, Topic
from ventanilla.core import demo
from ventanilla.core.models import AuditEvent
from ventanilla.notifications.models import OutboundMessage, OutboundStatus
from ventanilla.tickets.models import EventKind, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

TICKETS = 40


@pytest.fixture
def seeded(db):
    out = StringIO()
    call_command("seed_demo", tickets=TICKETS, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    return {
        "institutions": Institution.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "topics": Topic.objects.count(),
        "organizations": Organization.objects.count(),
        "tickets": Ticket.objects.count(),
        "events": TicketEvent.objects.count(),
        "audit": AuditEvent.objects.count(),
        "outbox": OutboundMessage.objects.count(),
    }


def test_creates_both_institutions_with_their_catalogs(seeded):
    junaeb = Institution.objects.get(slug="junaeb")
    junji = Institution.objects.get(slug="junji")
    assert (junaeb.folio_prefix, junji.folio_prefix) == ("JUN", "JNJ")
    assert junaeb.name == "Junta Nacional de Auxilio Escolar y Becas"

    hours = {t.name: (t.workflow, t.target_hours) for t in junaeb.ticket_types.all()}
    assert hours == {
        "Reclamo": ("type2", 72), "Consulta": ("type2", 72),
        "Solicitud de información Ley 20.285": ("type2", 480),
        "Sugerencia": ("type1", 72), "Felicitación": ("type1", 72),
    }
    pae = Topic.objects.get(institution=junaeb, name="Programa de Alimentación Escolar (PAE)")
    assert set(pae.children.values_list("name", flat=True)) == {
        "PAE Kinder-Prekinder", "PAE Básica-Media", "PAE Celiaco", "PAE Biométrico"}
    assert not Topic.objects.filter(institution=junaeb, default_area__isnull=True).exists()
    assert not Topic.objects.exclude(default_area__institution=F("institution")).exists()

    schools = Organization.objects.filter(institution=junaeb)
    assert schools.count() >= 38
    assert schools.values("region").distinct().count() >= 14
    assert all(org.comuna.region_id == org.region_id for org in schools)
    assert junji.topics.exists() and junji.areas.exists() and junji.ticket_types.exists()


def test_every_demo_login_works_with_the_demo_password(seeded, client):
    for _label, email in demo.DEMO_LOGINS:
        assert client.login(email=email, password=demo.DEMO_PASSWORD), email
        client.logout()

    roles = dict(Membership.objects.filter(institution__slug="junaeb")
                 .values_list("user__email", "role"))
    assert roles == {
        demo.OPERATOR_EMAIL: Role.OPERATOR, demo.TRIAGE_EMAIL: Role.TRIAGE,
        demo.RESPONDER_EMAIL: Role.RESPONDER, demo.SUPERVISOR_EMAIL: Role.SUPERVISOR,
        demo.AUDITOR_EMAIL: Role.AUDITOR, demo.SYSADMIN_EMAIL: Role.SYSADMIN,
    }
    responder = Membership.objects.get(user__email=demo.RESPONDER_EMAIL)
    assert list(responder.areas.values_list("name", flat=True)) == [
        "Programa de Alimentación Escolar"]
    assert Membership.objects.get(user__email=demo.JUNJI_TRIAGE_EMAIL).institution.slug == "junji"
    admin = User.objects.get(email=demo.SYSADMIN_EMAIL)
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.filter(is_staff=True).exclude(pk=admin.pk).exists()
    citizen = User.objects.get(email=demo.CITIZEN_EMAIL)
    assert citizen.email_verified_at is not None
    assert not citizen.memberships.exists()
    assert Ticket.objects.filter(citizen__user=citizen).count() == 3


def test_tickets_look_like_a_year_of_work(seeded):
    now = timezone.now()
    junaeb = Ticket.objects.filter(institution__slug="junaeb")
    assert junaeb.count() == TICKETS + 3  # plus the demo citizen's own
    assert Ticket.objects.filter(institution__slug="junji").count() == TICKETS // 10
    for ticket in Ticket.objects.all():
        assert re.fullmatch(r"(JUN|JNJ)-\d{4}-\d{6}", ticket.folio)
        assert ticket.received_at < now
        # Deadlines come from the demo's SLA policies, measured from reception.
        assert ticket.sla_policy is not None
        assert ticket.due_at > ticket.received_at
    assert junaeb.values("channel").distinct().count() >= 4
    assert junaeb.values("region").distinct().count() >= 5
    assert junaeb.values("ticket_type").distinct().count() >= 3
    received = sorted(junaeb.values_list("received_at", flat=True))
    assert received[-1] - received[0] > dt.timedelta(days=90)
    statuses = set(junaeb.values_list("status", flat=True))
    assert Status.CLOSED in statuses and statuses & {Status.IN_PROGRESS, Status.WAITING_CITIZEN}
    assert junaeb.filter(contact_email__endswith="@example.cl").exists()
    assert junaeb.exclude(contact_rut="").exists()


def test_timelines_were_written_by_the_services_at_plausible_times(seeded):
    now = timezone.now()
    assert dj_timezone.datetime is dt.datetime  # the simulated clock left no trace
    for ticket in Ticket.objects.prefetch_related("events"):
        events = list(ticket.events.all())
        assert events[0].kind == EventKind.CREATED
        assert all(ticket.received_at <= e.created_at <= now for e in events), ticket.folio
        if ticket.status == Status.CLOSED:
            # Type 1 tickets are answered and closed by the platform at reception.
            assert ticket.closed_at and ticket.received_at <= ticket.closed_at < now
            assert any(e.kind == EventKind.REPLY for e in events)
        if ticket.first_answered_at:
            assert ticket.received_at <= ticket.first_answered_at < now
    # Answers were stamped on the simulated clock, not all "today".
    delays = sorted(t.first_answered_at - t.received_at
                    for t in Ticket.objects.filter(first_answered_at__isnull=False))
    assert len(delays) >= 10
    assert delays[len(delays) // 2] < dt.timedelta(days=5)
    assert TicketEvent.objects.filter(kind=EventKind.REPLY).exists()
    assert AuditEvent.objects.filter(action="ticket.replied").exists()


def test_no_email_waits_in_the_outbox(seeded):
    assert OutboundMessage.objects.exists()
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {
        OutboundStatus.CANCELLED}
    assert not OutboundMessage.objects.filter(cancel_reason="").exists()


def test_second_run_creates_nothing(seeded):
    before = snapshot()
    out = StringIO()
    call_command("seed_demo", tickets=TICKETS, stdout=out)
    assert snapshot() == before
    assert "no se creó nada" in out.getvalue()
    assert "creados" in seeded


def test_more_tickets_later_adds_only_the_missing_ones(seeded):
    call_command("seed_demo", tickets=TICKETS + 5, stdout=StringIO())
    assert Ticket.objects.filter(institution__slug="junaeb").count() == TICKETS + 5 + 3
    assert Ticket.objects.values("folio").distinct().count() == Ticket.objects.count()


def test_demo_uses_the_workflow(seeded):
    """Triage confirmed, answers drafted and sent through the stages, complaints closed
    with their root cause, and at least one answer approved by a supervisor."""
    from ventanilla.tickets.models import AnswerStatus, TicketAnswer

    junaeb = Ticket.objects.filter(institution__slug="junaeb")
    assert junaeb.filter(triage_status="confirmed").exists()
    sent = TicketAnswer.objects.filter(status=AnswerStatus.SENT)
    assert sent.filter(stage="plan").exists() and sent.filter(stage="final").exists()
    closed_complaints = junaeb.filter(status=Status.CLOSED, ticket_type__code="reclamo")
    assert closed_complaints.exists()
    assert not closed_complaints.filter(corrective_action="").exists()
    # The integration key that `make run` prints works.
    from ventanilla.api.demo import DEMO_API_KEY
    from ventanilla.api.services import api_key_authenticate

    api_key = api_key_authenticate(DEMO_API_KEY)
    assert api_key is not None and api_key.can_write
    assert api_key.channels.filter(code="api").exists()
