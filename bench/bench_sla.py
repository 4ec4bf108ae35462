"""SLA sweep over a large open backlog (issue 7 target: ≤ 2 s over 1 million open tickets).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/bench_sla.py \
        [--open 1000000] [--keep | --reuse]

The generator (``bench/generate.py``) loads one institution whose tickets are all open; their
deadlines are then spread the way a live backlog looks to a sweep that runs every
``--every`` minutes: next deadlines from ``--past-days`` ago to ``--future-days`` ahead, each
plan stage at risk 18 hours before its deadline, and every threshold crossed before the
previous sweep already alerted (as that sweep would have done). Timed, on the same data:

Each area has a mailbox and the institution three supervisors, so alerts send e-mails, and
0.5 % of the tickets were touched by staff since the last sweep (``updated_at``).

- ``steady``: one sweep at "now" — it finds only what crossed a threshold since the last
  sweep, raises those alerts (timeline event, e-mails to the area and supervisors through
  the outbox) and must leave the rest alone;
- ``idle``: the sweep right after it, with nothing left to do (the cost of looking);
- ``catch_up``: a sweep after the worker was stopped for ``--outage`` minutes (capped at the
  sweep's batch per institution and threshold; the rest drains on the next runs);
- ``full``: a sweep that reads every open ticket (the first one, or ``sla_sweep --full``).

Each sweep runs on a copy of the starting state (the alerts it raises are deleted before the
next timing). JSON on stdout. No asserts: machines are noisy.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SLUG = "bench-sla"
STATE: dict = {}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", dest="open_tickets", type=int, default=50_000)
    parser.add_argument("--every", type=int, default=5, help="Sweep interval, minutes.")
    parser.add_argument("--outage", type=int, default=60, help="Catch-up gap, minutes.")
    parser.add_argument("--past-days", type=float, default=5.0)
    parser.add_argument("--future-days", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Leave the data for --reuse.")
    parser.add_argument("--reuse", action="store_true", help="Time data a --keep run left.")
    parser.add_argument("--as-is", action="store_true",
                        help="With --reuse: time the state the last run left (deadlines and "
                             "mark), at that run's moment; e.g. the same data under older code.")
    return parser.parse_args()


def build(args, now) -> dict:
    import generate

    common.progress(f"generating {args.open_tickets} open tickets…")
    started = time.perf_counter()
    stats = generate.generate(tickets=args.open_tickets, seed=args.seed, institution_slug=SLUG,
                              open_share=1.0, events=False, interactions_per_ticket=0)
    stats["seconds"] = round(time.perf_counter() - started, 1)
    add_recipients()
    spread_deadlines(args, now)
    return stats


def add_recipients() -> None:
    """Area mailboxes and three supervisors: alerts cost their e-mails, as in production."""
    from django.contrib.auth import get_user_model

    from ventanilla.accounts.models import Membership, Role
    from ventanilla.catalog.models import Area, Institution

    institution = Institution.objects.get(slug=SLUG)
    for area in Area.objects.filter(institution=institution, email=""):
        area.email = f"area-{area.pk}@bench.example"
        area.save(update_fields=["email"])
    for n in range(3):
        user, _created = get_user_model().objects.get_or_create(
            email=f"{SLUG}-supervisor-{n}@bench.example")
        Membership.objects.get_or_create(user=user, institution=institution,
                                         defaults={"role": Role.SUPERVISOR})


def institution_id() -> int:
    from ventanilla.catalog.models import Institution

    return Institution.objects.get(slug=SLUG).pk


def spread_deadlines(args, now) -> None:
    """Every ticket waits for its plan (intermediate) answer, due between ``past_days`` ago
    and ``future_days`` ahead (uniform, deterministic by id), at risk 18 h before. Alerts for
    every threshold crossed before the previous sweep exist already."""
    from django.db import connection, transaction

    common.progress("spreading deadlines and the alerts earlier sweeps raised…")
    span = (args.past_days + args.future_days) * 86400
    previous_sweep = now - timedelta(minutes=args.every)
    STATE["previous_sweep"] = previous_sweep
    # One UPDATE (each pass over a million rows rewrites them all, indexes included).
    due = ("%(start)s + make_interval(secs => ((id * 7919) %% 1000003) / 1000003.0 * %(span)s)")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE tickets_ticket
               SET paused_at = NULL, acknowledged_at = received_at, ack_due_at = NULL,
                   plan_answered_at = NULL, plan_due_at = {due}, next_due_at = {due},
                   at_risk_at = {due} - interval '18 hours',
                   due_at = {due} + interval '7 days',
                   status = CASE WHEN status = 'closed' THEN 'in_progress' ELSE status END,
                   updated_at = CASE WHEN id %% 200 = 0 THEN %(recent)s
                                     ELSE LEAST(updated_at, %(previous)s) END
             WHERE institution_id = %(institution)s
            """,  # the formula is a literal above; values are parameters
            {"start": now - timedelta(days=args.past_days), "span": span,
             "recent": now - timedelta(minutes=2), "previous": previous_sweep,
             "institution": institution_id()},
        )
        for threshold, column in (("breached", "next_due_at"), ("at_risk", "at_risk_at")):
            cursor.execute(
                f"""
                INSERT INTO sla_slaalert (ticket_id, stage, threshold, created_at)
                SELECT id, 'plan', %(threshold)s, %(previous)s FROM tickets_ticket
                 WHERE institution_id = %(institution)s AND {column} < %(previous)s
                """,  # column is one of the two literals above
                {"threshold": threshold, "previous": previous_sweep,
                 "institution": institution_id()},
            )
    from ventanilla.sla import models as sla_models

    if hasattr(sla_models, "SweepMark"):  # absent in the code before the mark (--before runs)
        sla_models.SweepMark.objects.update_or_create(institution_id=institution_id(),
                                                      defaults={"swept_until": previous_sweep})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
        cursor.execute("ANALYZE sla_slaalert")


def snapshot_ids() -> tuple[int, int, int]:
    from ventanilla.notifications.models import OutboundMessage
    from ventanilla.sla.models import SlaAlert
    from ventanilla.tickets.models import TicketEvent

    def last(model) -> int:
        return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    return last(SlaAlert), last(TicketEvent), last(OutboundMessage)


def undo_since(marks: tuple[int, int, int]) -> None:
    from ventanilla.notifications.models import OutboundMessage
    from ventanilla.sla.models import SlaAlert
    from ventanilla.tickets.models import TicketEvent

    SlaAlert.objects.filter(pk__gt=marks[0]).delete()
    TicketEvent.objects.filter(pk__gt=marks[1]).delete()
    OutboundMessage.objects.filter(pk__gt=marks[2]).delete()


def moment_of_last_run(args):
    """The "now" of the run that spread the deadlines: its sweep mark plus the interval (read
    with SQL, so code from before the mark can be timed on the same state)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT swept_until FROM sla_sweepmark WHERE institution_id = %s",
                       [institution_id()])
        previous = cursor.fetchone()[0]
    STATE["previous_sweep"] = previous
    return previous + timedelta(minutes=args.every)


def restore_mark() -> None:
    """Put the sweep mark back where the scenario starts (the timed sweep moved it)."""
    from ventanilla.sla import models as sla_models

    if hasattr(sla_models, "SweepMark"):
        sla_models.SweepMark.objects.filter(institution_id=institution_id()).update(
            swept_until=STATE["previous_sweep"])


def time_sweep(at, repeat: int, *, then_idle: bool = False, full: bool = False) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ventanilla.sla.services import sla_sweep

    samples, idle_samples, counts, queries = [], [], {}, 0
    for _ in range(repeat + 1):  # the first round warms the process (imports, templates)
        marks = snapshot_ids()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            counts = sla_sweep(now=at, full=True) if full else sla_sweep(now=at)
            samples.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
        if then_idle:
            started = time.perf_counter()
            again = sla_sweep(now=at)
            idle_samples.append((time.perf_counter() - started) * 1000)
            assert again["at_risk"] == again["breached"] == 0, again
        undo_since(marks)
        restore_mark()
    samples, idle_samples = samples[1:], idle_samples[1:]
    result = {"median_ms": round(statistics.median(samples), 1), "counts": counts,
              "queries": queries}
    if then_idle:
        result["idle_median_ms"] = round(statistics.median(idle_samples), 1)
    return result


def main() -> None:
    args = parse_args()
    scratch = common.setup_django()
    from django.utils import timezone

    from ventanilla.sla.services import sla_sweep
    from ventanilla.tickets.models import OPEN_STATUSES, Ticket

    now = timezone.now().replace(microsecond=0)
    report = {"benchmark": "sla_sweep", "environment": common.environment(),
              "parameters": vars(args)}
    if args.reuse and args.as_is:
        common.progress("reusing the data and the moment of the last run")
        now = moment_of_last_run(args)
    elif args.reuse:
        common.progress("reusing the data of a --keep run")
        from ventanilla.sla.models import SlaAlert

        SlaAlert.objects.filter(ticket__institution_id=institution_id()).delete()
        add_recipients()
        spread_deadlines(args, now)
    else:
        report["generation"] = build(args, now)
    report["open_tickets"] = Ticket.objects.filter(institution_id=institution_id(),
                                                   status__in=OPEN_STATUSES).count()
    common.progress("timing the sweeps…")
    report["steady"] = time_sweep(now, args.repeat, then_idle=True)
    report["catch_up"] = time_sweep(now + timedelta(minutes=args.outage), args.repeat)
    if "full" in inspect.signature(sla_sweep).parameters:
        report["full"] = time_sweep(now, args.repeat, full=True)
    report["target_ms"] = 2000
    if not args.keep:
        import generate

        common.progress("cleaning up…")
        generate.drop(SLUG)
    common.emit(report)
    if scratch:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
