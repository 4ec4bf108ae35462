"""States, inbox filters and the sweep: one alert per ticket, stage and threshold."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import open_ticket
from tests.sla.conftest import H, local, make_policy, member
from ventanilla.accounts.models import Role
from ventanilla.notifications.models import OutboundMessage
from ventanilla.sla.models import SlaAlert
from ventanilla.sla.selectors import sla_filter, sla_state
from ventanilla.sla.services import sla_pause, sla_stage_reached, sla_sweep
from ventanilla.tickets.models import EventKind, ResponseStage, Status, Ticket

RECEIVED = local(2026, 3, 2, 10, 0)


@pytest.fixture
def setup(catalog):
    """Plan in 72 h (at risk from 54 h), final in 240 h; area mailbox and two supervisors,
    plus people who must not be alerted."""
    catalog["area"].email = "pae@example.cl"
    catalog["area"].save()
    make_policy(catalog, ack=(0, H), plan=(72, H), final=(240, H))
    member(catalog, Role.SUPERVISOR, email="sup1@example.cl")
    member(catalog, Role.SUPERVISOR, email="sup2@example.cl")
    member(catalog, Role.SUPERVISOR, email="inactiva@example.cl", active=False)
    member(catalog, Role.SUPERVISOR, email="bloqueada@example.cl", user_active=False)
    member(catalog, Role.TRIAGE, email="triage@example.cl")
    return catalog


def _alert_mail():
    return OutboundMessage.objects.filter(dedupe_key__startswith="sla-")


def _folios_in(message, tickets) -> list[str]:
    """The folios an alert e-mail is about: its one ticket, or each line of a digest."""
    if message.ticket_id:
        return [message.ticket.folio]
    return [t.folio for t in tickets if f"- {t.folio} " in message.body_text]


def test_states_and_filters_agree(setup):
    ok = open_ticket(setup, received_at=RECEIVED)
    risky = open_ticket(setup, received_at=RECEIVED - timedelta(hours=60))
    late = open_ticket(setup, received_at=RECEIVED - timedelta(hours=100))
    paused = open_ticket(setup, received_at=RECEIVED - timedelta(hours=100))
    sla_pause(ticket=paused, at=RECEIVED - timedelta(hours=1))
    done = open_ticket(setup, received_at=RECEIVED - timedelta(hours=100))
    sla_stage_reached(ticket=done, stage=ResponseStage.FINAL, at=RECEIVED)
    expected = {ok: "ok", risky: "at_risk", late: "breached", paused: "paused", done: "done"}
    everyone = Ticket.objects.filter(institution=setup["institution"])
    for ticket, state in expected.items():
        ticket.refresh_from_db()
        assert sla_state(ticket, RECEIVED) == state
        assert list(sla_filter(everyone, state, RECEIVED)) == [ticket], state
    assert sla_filter(everyone, "nonsense", RECEIVED).count() == 5
    Ticket.objects.filter(pk=late.pk).update(status=Status.CLOSED)
    late.refresh_from_db()
    assert sla_state(late, RECEIVED) == "done"


def test_sweep_alerts_once_per_ticket_stage_and_threshold(setup):
    ticket = open_ticket(setup, received_at=RECEIVED)
    fresh = open_ticket(setup, received_at=RECEIVED + timedelta(hours=20))
    assert sla_sweep(now=RECEIVED + timedelta(hours=10))["at_risk"] == 0

    at_risk_time = RECEIVED + timedelta(hours=60)
    counts = sla_sweep(now=at_risk_time)
    assert counts == {"at_risk": 1, "breached": 0, "emails": 3, "skipped": 0}
    assert sla_sweep(now=at_risk_time + timedelta(minutes=5))["emails"] == 0
    alert = SlaAlert.objects.get()
    assert (alert.ticket, alert.stage, alert.threshold) == (ticket, "plan", "at_risk")
    recipients = sorted(_alert_mail().values_list("recipient", flat=True))
    assert recipients == ["pae@example.cl", "sup1@example.cl", "sup2@example.cl"]
    message = _alert_mail().first()
    assert ticket.folio in message.subject and "En riesgo" in message.subject
    assert "Juana" not in message.body_text  # no personal data in the alert
    event = ticket.events.get(kind=EventKind.SLA_ALERT)
    assert not event.is_public and event.data["threshold"] == "at_risk"

    # Breached: one more alert for the same stage, not a second at-risk one.
    breached_time = RECEIVED + timedelta(hours=80)
    counts = sla_sweep(now=breached_time)
    assert counts["breached"] == 1 and counts["emails"] == 6
    assert counts["at_risk"] == 1  # `fresh` (received 20 h later) is now at risk
    for _ in range(3):
        assert sla_sweep(now=breached_time + timedelta(hours=1))["emails"] == 0
    assert SlaAlert.objects.filter(ticket=ticket).count() == 2
    assert SlaAlert.objects.filter(ticket=fresh).count() == 1
    assert _alert_mail().count() == 9
    keys = list(_alert_mail().values_list("dedupe_key", flat=True))
    assert len(set(keys)) == len(keys)

    # Answering the plan moves the clock to the final stage: its alerts are new ones.
    sla_stage_reached(ticket=ticket, stage=ResponseStage.PLAN, at=breached_time)
    counts = sla_sweep(now=RECEIVED + timedelta(hours=250))
    assert SlaAlert.objects.filter(ticket=ticket, stage="final", threshold="breached").exists()
    assert not SlaAlert.objects.filter(ticket=ticket, stage="final", threshold="at_risk").exists()


def test_sweep_skips_paused_closed_and_other_institutions(setup, other_catalog):
    paused = open_ticket(setup, received_at=RECEIVED)
    sla_pause(ticket=paused, at=RECEIVED + timedelta(hours=1))
    closed = open_ticket(setup, received_at=RECEIVED)
    Ticket.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    elsewhere = open_ticket(other_catalog, received_at=RECEIVED)
    now = RECEIVED + timedelta(hours=100)
    assert sla_sweep(now=now, institution=setup["institution"])["breached"] == 0
    assert sla_sweep(now=now)["breached"] == 1
    assert SlaAlert.objects.get().ticket == elsewhere
    # No area mailbox and no supervisor there: the alert is recorded, no e-mail.
    assert not _alert_mail().exists()


def test_tickets_crossing_together_make_one_digest_per_recipient(setup):
    tickets = [open_ticket(setup, received_at=RECEIVED + timedelta(minutes=n)) for n in range(3)]
    counts = sla_sweep(now=RECEIVED + timedelta(hours=100))
    assert counts == {"at_risk": 0, "breached": 3, "emails": 3, "skipped": 0}
    assert sorted(_alert_mail().values_list("recipient", flat=True)) == [
        "pae@example.cl", "sup1@example.cl", "sup2@example.cl"]
    digest = _alert_mail().get(recipient="pae@example.cl")
    assert digest.ticket_id is None and digest.dedupe_key.startswith("sla-digest-breached-")
    assert "Vencido" in digest.subject and "3 requerimientos" in digest.subject
    assert _folios_in(digest, tickets) == [t.folio for t in tickets]  # oldest deadline first
    assert f"/consola/r/{tickets[0].folio}/" in digest.body_text
    assert "?sla=breached" in digest.body_text
    assert "Juana" not in digest.body_text  # no personal data in the alert
    # Each ticket still gets its own timeline event, and nothing is raised twice.
    assert all(t.events.filter(kind=EventKind.SLA_ALERT).count() == 1 for t in tickets)
    assert sla_sweep(now=RECEIVED + timedelta(hours=101))["emails"] == 0


def test_a_conflicting_chunk_is_retried_ticket_by_ticket(setup, monkeypatch):
    """Where rows cannot be locked (SQLite) another sweep may insert one of the chunk's
    alerts first: the chunk rolls back whole and each ticket is tried alone."""
    from django.db import IntegrityError

    from ventanilla.sla import services

    tickets = [open_ticket(setup, received_at=RECEIVED) for _ in range(3)]
    real = services._raise_alerts

    def conflict_on_chunks(ticket_ids, *args):
        if len(ticket_ids) > 1:
            SlaAlert.objects.create(ticket_id=ticket_ids[0], stage="plan", threshold="breached")
            raise IntegrityError("sla_alert_once")
        return real(ticket_ids, *args)

    monkeypatch.setattr(services, "_raise_alerts", conflict_on_chunks)
    counts = sla_sweep(now=RECEIVED + timedelta(hours=100))
    assert counts["breached"] == 2 and counts["skipped"] == 1
    assert SlaAlert.objects.filter(ticket__in=tickets).count() == 3
    assert not tickets[0].events.filter(kind=EventKind.SLA_ALERT).exists()
    assert all(t.events.filter(kind=EventKind.SLA_ALERT).count() == 1 for t in tickets[1:])


def test_sweep_works_through_a_backlog_in_batches(setup):
    tickets = [open_ticket(setup, received_at=RECEIVED) for _ in range(5)]
    now = RECEIVED + timedelta(hours=100)
    assert sla_sweep(now=now, batch=2)["breached"] == 2
    assert sla_sweep(now=now, batch=2)["breached"] == 2
    assert sla_sweep(now=now, batch=2)["breached"] == 1
    assert SlaAlert.objects.filter(ticket__in=tickets).count() == 5


def test_management_command_runs_one_round(setup, capsys):
    open_ticket(setup, received_at=local(2020, 1, 6, 10, 0))
    call_command("sla_sweep")
    assert "1 breached" in capsys.readouterr().out
    assert SlaAlert.objects.count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sweeps_alert_once():
    from tests.factories import make_catalog

    catalog = make_catalog()
    catalog["area"].email = "pae@example.cl"
    catalog["area"].save()
    make_policy(catalog, plan=(72, H), final=(240, H))
    member(catalog, Role.SUPERVISOR, email="sup1@example.cl")
    tickets = [open_ticket(catalog, received_at=RECEIVED) for _ in range(4)]
    now = RECEIVED + timedelta(hours=100)
    barrier = threading.Barrier(3)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(sla_sweep(now=now))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(r["breached"] for r in results) == 4
    assert SlaAlert.objects.filter(ticket__in=tickets).count() == 4
    # However the three sweeps shared the tickets, each recipient hears of each ticket once.
    assert sum(r["emails"] for r in results) == _alert_mail().count()
    for recipient in ("pae@example.cl", "sup1@example.cl"):
        told = [folio for message in _alert_mail().filter(recipient=recipient)
                for folio in _folios_in(message, tickets)]
        assert sorted(told) == sorted(ticket.folio for ticket in tickets)


def test_after_a_complete_sweep_only_new_crossings_and_changes_are_read(setup):
    """The second sweep reads only tickets whose moment came after the first one, or that
    changed since: an old breach without an alert (rows loaded by SQL, say) waits for a
    full sweep, while a deadline moved into the past through the services is found."""
    from ventanilla.sla.models import SweepMark

    first = RECEIVED + timedelta(hours=100)
    assert sla_sweep(now=first)["breached"] == 0
    assert SweepMark.objects.get(institution=setup["institution"]).swept_until == first

    loaded = open_ticket(setup, received_at=RECEIVED)
    # As if bulk-loaded long ago: its deadline and updated_at are both before the window.
    Ticket.objects.filter(pk=loaded.pk).update(updated_at=RECEIVED)
    crossing = open_ticket(setup, received_at=RECEIVED + timedelta(hours=40))  # due at 112 h
    Ticket.objects.filter(pk=crossing.pk).update(updated_at=RECEIVED)
    later = RECEIVED + timedelta(hours=113)
    assert sla_sweep(now=later)["breached"] == 1
    assert SlaAlert.objects.filter(ticket=crossing, threshold="breached").exists()
    assert not SlaAlert.objects.filter(ticket=loaded).exists()

    counts = sla_sweep(now=later + timedelta(minutes=5), full=True)
    assert counts["breached"] == 1
    assert SlaAlert.objects.filter(ticket=loaded, threshold="breached").exists()


def test_a_sweep_cut_short_by_its_batch_does_not_move_the_mark(setup):
    from ventanilla.sla.models import SweepMark

    [open_ticket(setup, received_at=RECEIVED) for _ in range(3)]
    now = RECEIVED + timedelta(hours=100)
    assert sla_sweep(now=now, batch=2)["breached"] == 2
    assert not SweepMark.objects.exists()
    # The ticket left behind is found by the next run even an hour later.
    assert sla_sweep(now=now + timedelta(hours=1), batch=2)["breached"] == 1
    assert SweepMark.objects.get().swept_until == now + timedelta(hours=1)


def test_a_sweep_at_an_earlier_moment_looks_at_everything(setup):
    ticket = open_ticket(setup, received_at=RECEIVED)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=RECEIVED)
    sla_sweep(now=RECEIVED + timedelta(hours=500))  # far ahead: alerts the ticket
    SlaAlert.objects.all().delete()
    assert sla_sweep(now=RECEIVED + timedelta(hours=100))["breached"] == 1
