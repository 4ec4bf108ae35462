"""Dashboard figures over the rollups of ~2 million tickets (3 years), timed per figure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_dash .venv/bin/python \
        bench/bench_dashboard.py [--tickets 20000] [--years 3] [--repeat 5] \
        [--source tickets|rollups] [--slug bench-inbox --reuse]

Without ``DATABASE_URL`` it runs on a throw-away SQLite file. It migrates the database.

``--source tickets`` (the default): real ticket and interaction rows from the generator
(``bench/generate.py``), then the rollups built from them by the platform's own
``rollup_rebuild`` (timed: it is what an installation runs after an import), then the figures.
``--reuse --slug S`` times an institution a previous run (or ``bench_inbox.py --keep``) left.

``--source rollups``: the quick path that skips the tickets: it builds one institution's
``TicketDailyStat`` / ``InteractionDailyStat`` rows directly (as
``rollup_rebuild`` would for that many tickets, with a realistic spread: the demo's channel
shares, skewed topics, each topic's area but ~10 % derived elsewhere, comunas within their
region, weekends quieter), sums them into the month rows with the service the rebuild uses
(``rebuild_ticket_months``), adds the open backlog as real ``Ticket`` rows (the live parts
read them), times every figure and the whole dashboard for a few filter sets, and deletes
everything it created. JSON on stdout: the median milliseconds per figure and for the whole
dashboard, and its number of queries; no asserts (machines are noisy). Not part of the
test suite. ``--selectors`` times another implementation of the figures (e.g. a copy of an
older ``reports/selectors.py``) on the same data.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

SLUG = "bench-dashboard"
GENERATED_SLUG = "bench-dashboard-tickets"
TYPE_WEIGHTS = {"reclamo": 55, "consulta": 35, "sugerencia": 6, "felicitacion": 4}
PROGRAMS, PRODUCTS_PER_PROGRAM = 10, 4
DERIVED_SHARE = 0.10  # tickets moved to another area than their topic's
NO_TERRITORY_SHARE = 0.04  # tickets whose person gave no comuna


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--open", dest="open_tickets", type=int, default=20_000)
    parser.add_argument("--interactions-per-ticket", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--keep", action="store_true",
                        help="Leave the data in place (for a later --reuse run).")
    parser.add_argument("--reuse", action="store_true",
                        help="Time the data a --keep run left, without building it again.")
    parser.add_argument("--selectors", default="ventanilla.reports.selectors",
                        help="Module with the figure functions to time (dotted path).")
    parser.add_argument("--source", choices=("tickets", "rollups"), default="tickets",
                        help="Real generated tickets + rollup_rebuild, or rollups directly.")
    parser.add_argument("--slug", default=GENERATED_SLUG,
                        help="Institution of the generated tickets (--source tickets).")
    parser.add_argument("--runs", default="",
                        help="Comma-separated filter sets to time (default: all).")
    return parser.parse_args()


def zipf_weights(count: int, exponent: float = 1.0) -> list[float]:
    return [1 / (rank ** exponent) for rank in range(1, count + 1)]


def build_catalog(rng: random.Random) -> dict:
    from ventanilla.catalog.models import Area, Channel, Institution, TicketType, Topic, Workflow
    from ventanilla.core.models import Comuna

    institution = Institution.objects.create(slug=SLUG, name="Benchmark", short_name="BENCH",
                                             folio_prefix="BENCHDB")
    types = [TicketType.objects.create(
        institution=institution, name=code.capitalize(), code=code,
        workflow=Workflow.THREE_STAGE if code in ("reclamo", "consulta") else Workflow.INFORMATIVE)
        for code in TYPE_WEIGHTS]
    areas = [Area.objects.create(institution=institution, name=f"Área {n}")
             for n in range(PROGRAMS)]
    leaves = []  # (topic, area)
    for program in range(PROGRAMS):
        root = Topic.objects.create(institution=institution, name=f"Programa {program}",
                                    default_area=areas[program])
        leaves.append((root, areas[program]))
        for product in range(PRODUCTS_PER_PROGRAM):
            leaves.append((Topic.objects.create(
                institution=institution, name=f"Producto {program}.{product}", parent=root,
                default_area=areas[program]), areas[program]))
    rng.shuffle(leaves)  # popularity does not follow creation order
    channels = {c.code: c for c in Channel.objects.all()}
    comunas = list(Comuna.objects.order_by("code").values_list("code", "region_id"))
    rng.shuffle(comunas)
    return {"institution": institution, "types": types, "areas": areas, "leaves": leaves,
            "channels": channels, "comunas": comunas}


def build_rollups(catalog: dict, args, rng: random.Random) -> tuple[int, int, date, date]:
    from ventanilla.core.management.commands.seed_demo import CHANNEL_WEIGHTS
    from ventanilla.reports.models import InteractionDailyStat, TicketDailyStat

    days = 365 * args.years
    last = date.today()
    first = last - timedelta(days=days - 1)
    per_day = args.tickets / days
    channel_codes = [c for c in CHANNEL_WEIGHTS if c in catalog["channels"]]
    channel_w = [CHANNEL_WEIGHTS[c] for c in channel_codes]
    type_w = list(TYPE_WEIGHTS.values())
    leaves, leaf_w = catalog["leaves"], zipf_weights(len(catalog["leaves"]), 0.9)
    comunas, comuna_w = catalog["comunas"], zipf_weights(len(catalog["comunas"]), 1.1)
    areas = catalog["areas"]
    institution_id = catalog["institution"].pk
    ticket_rows = interaction_rows = 0
    batch: list = []
    interaction_batch: list = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        weekday_factor = 0.45 if day.weekday() >= 5 else 1.2
        count = max(1, int(rng.gauss(per_day * weekday_factor, per_day * 0.1)))
        draws = zip(rng.choices(channel_codes, channel_w, k=count),
                    rng.choices(range(len(type_w)), type_w, k=count),
                    rng.choices(range(len(leaves)), leaf_w, k=count),
                    rng.choices(range(len(comunas)), comuna_w, k=count),
                    (rng.random() for _ in range(count)),
                    (rng.random() for _ in range(count)), strict=False)
        groups: Counter = Counter()
        for channel_code, type_index, leaf_index, comuna_index, derived, territory in draws:
            topic, area = leaves[leaf_index]
            if derived < DERIVED_SHARE:
                area = rng.choice(areas)
            comuna, region = (comunas[comuna_index] if territory >= NO_TERRITORY_SHARE
                              else (None, None))
            groups[(channel_code, type_index, topic.pk, area.pk, region, comuna)] += 1
        age = (last - day).days
        for (channel_code, type_index, topic_id, area_id, region, comuna), n in groups.items():
            closed = n if age > 60 else int(n * min(1.0, age / 60))
            staged = type_index < 2
            batch.append(TicketDailyStat(
                institution_id=institution_id, day=day,
                channel_id=catalog["channels"][channel_code].pk,
                is_self_service=not catalog["channels"][channel_code].is_assisted,
                ticket_type_id=catalog["types"][type_index].pk, topic_id=topic_id,
                area_id=area_id, region_id=region, comuna_id=comuna, received=n, closed=closed,
                ack_due=n if staged else 0, ack_on_time=n if staged else 0,
                plan_due=n, plan_on_time=int(n * 0.93), plan_late=n - int(n * 0.93),
                final_due=n, final_on_time=int(closed * 0.9), final_late=closed - int(closed * 0.9),
                answered_72h=int(n * 0.95)))
        by_channel = Counter(rng.choices(channel_codes, channel_w,
                                         k=int(count * args.interactions_per_ticket)))
        for channel_code, n in by_channel.items():
            channel = catalog["channels"][channel_code]
            for kind, share in (("ticket_opened", 0.25), ("tracking", 0.45),
                                ("self_service", 0.2), ("attended", 0.1)):
                if kind == "attended" and not channel.is_assisted:
                    continue
                interaction_batch.append(InteractionDailyStat(
                    institution_id=institution_id, day=day, channel_id=channel.pk, kind=kind,
                    is_self_service=not channel.is_assisted and kind != "attended",
                    count=max(1, int(n * share))))
        if len(batch) >= 20_000:
            TicketDailyStat.objects.bulk_create(batch, batch_size=5000)
            ticket_rows += len(batch)
            batch = []
        if len(interaction_batch) >= 20_000:
            InteractionDailyStat.objects.bulk_create(interaction_batch, batch_size=5000)
            interaction_rows += len(interaction_batch)
            interaction_batch = []
    TicketDailyStat.objects.bulk_create(batch, batch_size=5000)
    InteractionDailyStat.objects.bulk_create(interaction_batch, batch_size=5000)
    build_months(institution_id, first, last)
    return ticket_rows + len(batch), interaction_rows + len(interaction_batch), first, last


def build_months(institution_id: int, first: date, last: date) -> None:
    from django.db import transaction

    from ventanilla.reports.services import months_between, rebuild_ticket_months

    for month in months_between(first, last):
        with transaction.atomic():
            rebuild_ticket_months(institution_id, [month])


def build_open_tickets(catalog: dict, args, rng: random.Random, last: date) -> None:
    """The backlog as real rows, received mostly in the last two months."""
    from django.utils import timezone

    from ventanilla.citizens.models import Citizen
    from ventanilla.tickets.models import Status, Ticket

    citizen = Citizen.objects.create(full_name="Persona de prueba", email="bench@example.cl")
    now = timezone.now()
    channels = list(catalog["channels"].values())
    rows = []
    for n in range(args.open_tickets):
        received = now - timedelta(days=min(rng.expovariate(1 / 12), 400),
                                   seconds=rng.randrange(86400))
        topic, area = rng.choice(catalog["leaves"])
        code, region = rng.choice(catalog["comunas"])
        rows.append(Ticket(
            institution=catalog["institution"], folio=f"BENCHDB-{n:07d}",
            channel=rng.choice(channels), ticket_type=rng.choice(catalog["types"][:2]),
            topic=topic, area=area, region_id=region, comuna_id=code, subject="Prueba",
            detail="Prueba", citizen=citizen, contact_name="Persona de prueba",
            status=rng.choice([Status.NEW, Status.IN_PROGRESS, Status.IN_PROGRESS]),
            received_at=received, ack_due_at=received + timedelta(hours=24),
            acknowledged_at=received, plan_due_at=received + timedelta(hours=72),
            due_at=received + timedelta(days=10),
            next_due_at=received + timedelta(hours=72 if rng.random() < 0.5 else 240),
        ))
    Ticket.objects.bulk_create(rows, batch_size=2000)


def existing_catalog(slug: str = SLUG) -> dict:
    from django.db.models import Sum

    from ventanilla.catalog.models import Area, Channel, Institution, TicketType
    from ventanilla.core.models import Comuna
    from ventanilla.reports.models import TicketDailyStat

    institution = Institution.objects.get(slug=slug)
    busiest = (TicketDailyStat.objects.filter(institution=institution, comuna__isnull=False)
               .values("comuna_id", "region_id").annotate(n=Sum("received")).order_by("-n")
               .first())
    comunas = list(Comuna.objects.values_list("code", "region_id"))
    comunas.insert(0, (busiest["comuna_id"], busiest["region_id"]))
    return {"institution": institution,
            "types": list(TicketType.objects.filter(institution=institution)),
            "areas": list(Area.objects.filter(institution=institution).order_by("name")),
            "channels": {c.code: c for c in Channel.objects.all()}, "comunas": comunas}


def existing_rollups(catalog: dict) -> tuple[int, int, date, date]:
    from django.db.models import Max, Min

    from ventanilla.reports.models import (
        InteractionDailyStat,
        TicketDailyStat,
        TicketMonthlyStat,
    )

    stats = TicketDailyStat.objects.filter(institution=catalog["institution"])
    bounds = stats.aggregate(first=Min("day"), last=Max("day"))
    if not TicketMonthlyStat.objects.filter(institution=catalog["institution"]).exists():
        build_months(catalog["institution"].pk, bounds["first"], bounds["last"])
    return (stats.count(),
            InteractionDailyStat.objects.filter(institution=catalog["institution"]).count(),
            bounds["first"], bounds["last"])


def cleanup() -> None:
    from ventanilla.catalog.models import Institution
    from ventanilla.citizens.models import Citizen
    from ventanilla.reports.models import (
        ComunaMonthlyStat,
        InteractionDailyStat,
        TicketDailyStat,
        TicketMonthlyStat,
    )
    from ventanilla.tickets.models import Interaction, Ticket, TicketEvent

    institution = Institution.objects.filter(slug=SLUG).first()
    if institution is None:
        return
    TicketDailyStat.objects.filter(institution=institution).delete()
    TicketMonthlyStat.objects.filter(institution=institution).delete()
    ComunaMonthlyStat.objects.filter(institution=institution).delete()
    InteractionDailyStat.objects.filter(institution=institution).delete()
    TicketEvent.objects.filter(ticket__institution=institution).delete()
    Interaction.objects.filter(institution=institution).delete()
    Ticket.objects.filter(institution=institution).delete()
    Citizen.objects.filter(email="bench@example.cl").delete()
    from ventanilla.catalog.models import Topic

    Topic.objects.filter(institution=institution, parent__isnull=False).delete()
    institution.delete()


def generated_tickets(args) -> tuple[dict, dict]:
    """The generated institution (made now, or left by an earlier run with --reuse) and its
    rollups rebuilt from the tickets by ``rollup_rebuild``, timed."""
    import generate
    from django.db import connection

    from ventanilla.catalog.models import Institution
    from ventanilla.reports.services import rollup_rebuild
    from ventanilla.tickets.models import OPEN_STATUSES, Ticket

    generation: dict = {"reused": True}
    if not (args.reuse and Institution.objects.filter(slug=args.slug).exists()):
        generate.drop(args.slug)
        common.progress(f"generating {args.tickets:,} tickets…")
        generation = generate.generate(
            tickets=args.tickets, seed=args.seed, institution_slug=args.slug,
            years=args.years, interactions_per_ticket=args.interactions_per_ticket,
            events=False, progress=True)
    institution = Institution.objects.get(slug=args.slug)
    common.progress("rebuilding the rollups from the tickets…")
    started = time.perf_counter()
    result = rollup_rebuild(institution=institution)
    seconds = time.perf_counter() - started
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    tickets = Ticket.objects.filter(institution=institution)
    generation["tickets"] = tickets.count()
    generation["open_tickets"] = tickets.filter(status__in=OPEN_STATUSES).count()
    rebuild = {"seconds": round(seconds, 1), **vars(result),
               "tickets_per_second": round(generation["tickets"] / seconds)}
    return generation, rebuild


def time_figures(filters, repeat: int, selectors_module: str) -> dict:
    import importlib

    from django.db import connection, reset_queries

    selectors = importlib.import_module(selectors_module)

    figures = {
        "volume_period": lambda: selectors.volume_by(filters, "period"),
        "volume_channel": lambda: selectors.volume_by(filters, "channel"),
        "volume_ticket_type": lambda: selectors.volume_by(filters, "ticket_type"),
        "volume_topic": lambda: selectors.volume_by(filters, "topic"),
        "volume_region": lambda: selectors.volume_by(filters, "region"),
        "volume_comuna": lambda: selectors.volume_by(filters, "comuna"),
        "top_topics_by_channel": lambda: selectors.top_topics_by_channel(filters),
        "channel_mix": lambda: selectors.channel_mix(filters),
        "self_service_share": lambda: selectors.self_service_share(filters),
        "compliance_by_stage": lambda: selectors.compliance_by_stage(filters),
        "backlog_ageing": lambda: selectors.backlog_ageing(filters),
    }
    result = {}
    for name, figure in figures.items():
        figure()  # warm the cache: the dashboard is read again and again
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            figure()
            samples.append((time.perf_counter() - started) * 1000)
        result[name] = round(statistics.median(samples), 1)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        selectors.dashboard_figures(filters)
        samples.append((time.perf_counter() - started) * 1000)
    connection.force_debug_cursor = True
    reset_queries()
    selectors.dashboard_figures(filters)
    queries = len(connection.queries)
    connection.force_debug_cursor = False
    result["whole_dashboard"] = round(statistics.median(samples), 1)
    result["whole_dashboard_queries"] = queries
    return result


def main() -> None:
    args = parse_args()
    scratch = common.setup_django()
    from django.db import connection

    from ventanilla.reports.models import ComunaMonthlyStat, TicketMonthlyStat
    from ventanilla.reports.tables import DashboardFilters

    rng = random.Random(args.seed)
    started = time.perf_counter()
    generation = rebuild = None
    try:
        if args.source == "tickets":
            generation, rebuild = generated_tickets(args)
            catalog = existing_catalog(args.slug)
            ticket_rows, interaction_rows, first, last = existing_rollups(catalog)
            args.open_tickets = generation["open_tickets"]
            args.tickets = generation["tickets"]
        elif args.reuse:
            catalog = existing_catalog()
            ticket_rows, interaction_rows, first, last = existing_rollups(catalog)
        else:
            cleanup()
            catalog = build_catalog(rng)
            ticket_rows, interaction_rows, first, last = build_rollups(catalog, args, rng)
            build_open_tickets(catalog, args, rng, last)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE" if not args.reuse else "ANALYZE")
        build_seconds = round(time.perf_counter() - started, 1)
        institution = catalog["institution"]
        region = catalog["comunas"][0][1]  # the busiest comuna's region
        runs = {
            "3_years": DashboardFilters(institution, first, last),
            "12_months": DashboardFilters(institution, last - timedelta(days=364), last),
            "1_month": DashboardFilters(institution, last - timedelta(days=30), last),
            "3_years_region": DashboardFilters(institution, first, last, region=region),
            "3_years_channel": DashboardFilters(institution, first, last,
                                                channel=catalog["channels"]["phone"]),
            "3_years_area": DashboardFilters(institution, first, last,
                                             area=catalog["areas"][0]),
        }
        if args.runs:
            runs = {name: runs[name] for name in args.runs.split(",")}
        timings = {name: time_figures(filters, args.repeat, args.selectors)
                   for name, filters in runs.items()}
        slowest = max(ms for run in timings.values() for key, ms in run.items()
                      if key not in ("whole_dashboard", "whole_dashboard_queries"))
        report = {
            "benchmark": "dashboard_figures",
            "database": connection.vendor,
            "tickets_equivalent": args.tickets,
            "years": args.years,
            "selectors": args.selectors,
            "ticket_rollup_rows": ticket_rows,
            "ticket_month_rows": TicketMonthlyStat.objects.filter(
                institution=institution).count(),
            "comuna_month_rows": ComunaMonthlyStat.objects.filter(
                institution=institution).count(),
            "rollup_rows_per_ticket": round(ticket_rows / args.tickets, 3),
            "interaction_rollup_rows": interaction_rows,
            "open_tickets": args.open_tickets,
            "build_seconds": build_seconds,
            "source": args.source,
            "generation": generation,
            "rollup_rebuild": rebuild,
            "median_ms": timings,
            "ratio_to_slowest_figure": {
                name: {key: round(ms / slowest, 3) for key, ms in run.items()
                       if key not in ("whole_dashboard", "whole_dashboard_queries")}
                for name, run in timings.items()},
        }
        report = {"environment": common.environment(), **report}
        common.emit(report)
    finally:
        if not args.keep:
            if args.source == "tickets":
                import generate

                generate.drop(args.slug)
            else:
                cleanup()
        if scratch:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
