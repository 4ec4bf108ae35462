"""Interaction log throughput: interactions recorded per second one commit per row (the
yardstick), in batches through the service, and in batches through ``POST
/api/v1/interactions/`` on the production web server, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python \
        bench/bench_interactions.py [--events 1000000] [--row-events 20000] \
        [--sizes 100,500,1000] [--clients 4] [--seconds 10] [--http-batch 500]

Without ``DATABASE_URL`` it runs on a throw-away SQLite file (COPY is PostgreSQL's; SQLite
takes the ``bulk_create`` path). It migrates and creates its own institution (the demo's
JUNAEB catalog under another slug), a few tickets (tracking events refer to their folios),
known people (some events carry their RUT or e-mail) and one API key per HTTP client. Then:

(a) ``row``: one ``Interaction.objects.create`` per event, each its own commit (what every
    in-process producer does; its ceiling is the commit rate);
(b) ``batch_<n>``: ``--events`` events through ``interaction_record_batch`` in batches of
    n (validation + person/ticket lookups + one COPY + one commit per batch), and, at the
    largest size, the same rows by one multi-row INSERT (``bulk_create``) for comparison;
(c) ``http``: ``--clients`` closed-loop clients, one key each, posting batches of
    ``--http-batch`` with an Idempotency-Key to gunicorn started as ``ventanilla serve``
    starts it, for ``--seconds`` after a warm-up; then a sample of batches is sent again
    (replay: 200, nothing added) and one with the same key and another body (409).

After each scenario the stored rows are counted against what was sent (no loss, no
duplicates: every event carries a unique id, counted distinct), then deleted. Everything
the bench created is deleted at the end. One JSON document on stdout, progress on stderr.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bench.common import (  # noqa: E402
    emit,
    environment,
    percentile,
    production_server,
    progress,
    run_load,
    setup_django,
)

SLUG = "bench-interactions"
FOLIO_PREFIX = "BIX"
KEY_NAME = "Benchmark interacciones"
# Where ChileAtiende-like self-service contacts happen (assisted ones: counters, phone).
CHANNEL_WEIGHTS = {"web": 40, "ivr": 18, "chatbot": 12, "kiosk": 10, "whatsapp": 5,
                   "in_person": 10, "phone": 5}
TRACKING_SHARE = 0.15  # "where is my request?": half of them give the folio
KNOWN_RUT_SHARE = 0.10
UNKNOWN_RUT_SHARE = 0.05
KNOWN_EMAIL_SHARE = 0.05
KNOWN_PEOPLE = 2000
TICKETS = 40
MENUS = ["estado-beneficio", "certificado", "agenda-hora", "pago", "requisitos", "oficinas",
         "clave-unica", "bono", "pension", "subsidio"]
REPLAY_SAMPLE = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000,
                        help="Events per batch size in (b) (large: 1000000).")
    parser.add_argument("--row-events", type=int, default=10_000,
                        help="Events for the one-commit-per-row yardstick (a).")
    parser.add_argument("--sizes", default="100,500,1000", help="Batch sizes for (b).")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--http-batch", type=int, default=500)
    parser.add_argument("--scenarios", default="row,batch,http")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


# --- what the bench creates ----------------------------------------------------------------------


def build_fixture(clients: int) -> dict:
    """The demo's JUNAEB catalog under the bench's slug, a few tickets opened by the intake
    service, known people (RUT and e-mail identity) and one write key per HTTP client."""
    from django.db import transaction

    from ventanilla.api.services import api_key_create
    from ventanilla.catalog.models import Channel, TicketType, Topic
    from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
    from ventanilla.citizens.services import ContactData
    from ventanilla.core.management import demo_data as data
    from ventanilla.core.management.commands import seed_demo as demo
    from ventanilla.tickets.services import TicketDraft, ticket_open

    cleanup()  # what an interrupted run may have left
    rng = random.Random(1)
    seeder = demo.Command()
    seeder.created = Counter()
    spec = {**data.JUNAEB, "slug": SLUG, "short_name": "BENCHIX", "folio_prefix": FOLIO_PREFIX,
            "name": "Institución de benchmark (interacciones)"}
    with transaction.atomic():
        institution = seeder._institution(spec, data.JUNAEB_TYPES, data.JUNAEB_REQUESTER_TYPES,
                                          data.JUNAEB_AREAS, data.JUNAEB_TOPICS,
                                          data.JUNAEB_SCHOOLS)
    ticket_type = TicketType.objects.filter(institution=institution, code="consulta").first()
    topic = Topic.objects.filter(institution=institution, parent__isnull=False).first()
    web = Channel.objects.get(code="web")
    folios = []
    for number in range(TICKETS):
        ticket = ticket_open(draft=TicketDraft(
            institution=institution, channel=web, ticket_type=ticket_type, topic=topic,
            subject="Consulta de benchmark", detail="Estado de mi beneficio.",
            contact=ContactData(full_name=f"Persona {number}",
                                email=f"ticket{number}@{SLUG}.invalid")))
        folios.append(ticket.folio)
    ruts = sorted({demo.valid_rut(rng) for _ in range(KNOWN_PEOPLE)})
    existing = set(Citizen.objects.filter(rut__in=ruts).values_list("rut", flat=True))
    ruts = [rut for rut in ruts if rut not in existing]
    people = Citizen.objects.bulk_create(
        [Citizen(rut=rut, full_name=f"Conocida {index}", email=f"p{index}@{SLUG}.invalid")
         for index, rut in enumerate(ruts)])
    ChannelIdentity.objects.bulk_create(
        [ChannelIdentity(citizen=person, kind=IdentityKind.EMAIL, value=person.email)
         for person in people])
    keys = []
    channels = list(Channel.objects.filter(code__in=CHANNEL_WEIGHTS))
    for client in range(clients):
        api_key, raw = api_key_create(institution=institution, name=f"{KEY_NAME} {client}",
                                      channels=channels, can_read=False, can_write=True)
        keys.append((api_key, raw))
    return {"institution": institution, "folios": folios, "ruts": ruts,
            "emails": [person.email for person in people], "keys": keys}


def cleanup() -> None:
    from ventanilla.api.models import ApiKey, InteractionBatch
    from ventanilla.catalog.models import Institution, Topic
    from ventanilla.citizens.models import Citizen
    from ventanilla.core.models import AuditEvent
    from ventanilla.notifications.models import OutboundMessage
    from ventanilla.tickets.models import Interaction, Ticket

    institution = Institution.objects.filter(slug=SLUG).first()
    if institution is None:
        return
    key_ids = list(ApiKey.objects.filter(institution=institution).values_list("pk", flat=True))
    InteractionBatch.objects.filter(scope__in=[f"key:{pk}" for pk in key_ids]).delete()
    ApiKey.objects.filter(pk__in=key_ids).delete()
    Interaction.objects.filter(institution=institution).delete()
    OutboundMessage.objects.filter(institution=institution).delete()
    AuditEvent.objects.filter(institution=institution).delete()
    citizen_ids = set(Ticket.objects.filter(institution=institution)
                      .values_list("citizen_id", flat=True))
    Ticket.objects.filter(institution=institution).delete()
    Citizen.objects.filter(pk__in=citizen_ids).delete()
    Citizen.objects.filter(email__endswith=f"@{SLUG}.invalid").delete()
    Topic.objects.filter(institution=institution, parent__isnull=False).delete()
    institution.delete()


# --- events --------------------------------------------------------------------------------------


class EventMaker:
    """Events the way self-service systems report them: the channel mix above, most of them
    anonymous, some with a known or unknown RUT or a known e-mail, tracking events with a
    folio, a small ``data`` object, and a unique ``e`` to count duplicates by."""

    def __init__(self, fixture: dict, seed: int):
        self.rng = random.Random(seed)
        self.fixture = fixture
        self.channels = list(CHANNEL_WEIGHTS)
        self.weights = list(CHANNEL_WEIGHTS.values())
        from django.utils import timezone

        self.now = timezone.now

    def event(self, tag: str) -> dict:
        rng = self.rng
        channel = rng.choices(self.channels, self.weights)[0]
        occurred = self.now() - timedelta(seconds=rng.randint(0, 3600))
        event = {"channel": channel, "occurred_at": occurred.isoformat(),
                 "data": {"e": tag, "menu": rng.choice(MENUS)}}
        roll = rng.random()
        if roll < TRACKING_SHARE:
            event["kind"] = "tracking"
            if rng.random() < 0.5:
                event["folio"] = rng.choice(self.fixture["folios"])
        roll = rng.random()
        if roll < KNOWN_RUT_SHARE:
            event["rut"] = rng.choice(self.fixture["ruts"])
        elif roll < KNOWN_RUT_SHARE + UNKNOWN_RUT_SHARE:
            event["rut"] = "11111111-1"
        elif roll < KNOWN_RUT_SHARE + UNKNOWN_RUT_SHARE + KNOWN_EMAIL_SHARE:
            event["email"] = rng.choice(self.fixture["emails"])
        return event

    def batch(self, prefix: str, size: int) -> list[dict]:
        return [self.event(f"{prefix}-{n}") for n in range(size)]


# --- verification --------------------------------------------------------------------------------


def stored_counts(institution, tag_prefix: str) -> dict:
    """Rows of the batch kinds stored for the scenario, and distinct event ids among them."""
    from django.db.models import Count

    from ventanilla.tickets.models import Interaction, InteractionKind

    rows = Interaction.objects.filter(institution=institution).exclude(
        kind=InteractionKind.TICKET_OPENED).filter(data__e__startswith=tag_prefix)
    return rows.aggregate(rows=Count("pk"), distinct_events=Count("data__e", distinct=True))


def clear_log(institution) -> None:
    from ventanilla.tickets.models import Interaction, InteractionKind

    Interaction.objects.filter(institution=institution).exclude(
        kind=InteractionKind.TICKET_OPENED).delete()


def verified(figures: dict, counts: dict, expected: int) -> dict:
    figures["stored"] = counts["rows"]
    figures["distinct_events"] = counts["distinct_events"]
    figures["expected"] = expected
    figures["no_loss_no_duplicates"] = counts["rows"] == counts["distinct_events"] == expected
    return figures


# --- (a) one commit per row ----------------------------------------------------------------------


def scenario_row(fixture: dict, maker: EventMaker, count: int) -> dict:
    """The yardstick: each event its own INSERT and commit through the ORM, the contents
    resolved beforehand (so only the per-row write is timed)."""
    from ventanilla.tickets.models import Interaction
    from ventanilla.tickets.services.interactions import interaction_batch_prepare

    institution = fixture["institution"]
    rows = []
    for start in range(0, count, 1000):
        events = maker.batch(f"row-{start}", min(1000, count - start))
        rows += interaction_batch_prepare(institution=institution, events=events).rows
    latencies = []
    started = time.perf_counter()
    for row in rows:
        begun = time.perf_counter()
        Interaction.objects.create(
            institution_id=row.institution_id, channel_id=row.channel_id, kind=row.kind,
            occurred_at=row.occurred_at, is_self_service=row.is_self_service,
            citizen_id=row.citizen_id, ticket_id=row.ticket_id, data=row.data)
        latencies.append((time.perf_counter() - begun) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    figures = {"events": count, "seconds": round(elapsed, 2),
               "per_second": round(count / elapsed, 1),
               "p95_ms_per_row": round(percentile(latencies, 0.95), 2)}
    figures = verified(figures, stored_counts(institution, "row-"), count)
    clear_log(institution)
    return figures


# --- (b) the batch service -----------------------------------------------------------------------


def scenario_batch(fixture: dict, maker: EventMaker, count: int, size: int, *,
                   method: str = "service") -> dict:
    """``count`` events in batches of ``size``: validation and lookups, then one insert and
    one commit per batch. ``method="insert"`` stores the same prepared rows with one
    multi-row INSERT instead (what COPY is compared with)."""
    from django.db import transaction

    from ventanilla.tickets.models import Interaction
    from ventanilla.tickets.services.interactions import (
        _model,  # the model instance bulk_create needs (the SQLite path of the service)
        interaction_batch_prepare,
        interaction_batch_store,
    )

    institution = fixture["institution"]
    tag = f"b{size}{method[0]}"
    per_batch, prepare_ms, store_ms = [], 0.0, 0.0
    elapsed = 0.0
    sent = 0
    while sent < count:
        events = maker.batch(f"{tag}-{sent}", min(size, count - sent))
        begun = time.perf_counter()  # from here on it is what a caller of the service pays
        prepared = interaction_batch_prepare(institution=institution, events=events)
        checked = time.perf_counter()
        with transaction.atomic():
            if method == "service":
                interaction_batch_store(prepared)
            else:
                Interaction.objects.bulk_create([_model(row) for row in prepared.rows],
                                        batch_size=len(prepared.rows))
        done = time.perf_counter()
        per_batch.append((done - begun) * 1000)
        prepare_ms += (checked - begun) * 1000
        store_ms += (done - checked) * 1000
        elapsed += done - begun
        sent += len(events)
    per_batch.sort()
    figures = {"batch_size": size, "method": "copy" if method == "service" else "insert",
               "events": count, "batches": len(per_batch), "seconds": round(elapsed, 2),
               "per_second": round(count / elapsed, 1),
               "p50_ms_per_batch": round(statistics.median(per_batch), 1),
               "p95_ms_per_batch": round(percentile(per_batch, 0.95), 1),
               "share_validation": round(prepare_ms / (prepare_ms + store_ms), 3)}
    if method != "service":
        figures["method"] = "multi_row_insert"
    from django.db import connection

    if method == "service" and connection.vendor != "postgresql":
        figures["method"] = "bulk_create"
    figures = verified(figures, stored_counts(institution, f"{tag}-"), count)
    clear_log(institution)
    return figures


# --- (c) the HTTP endpoint -----------------------------------------------------------------------


def scenario_http(fixture: dict, maker: EventMaker, args) -> dict:
    from ventanilla.api.models import InteractionBatch

    institution = fixture["institution"]
    keys = fixture["keys"]
    size = args.http_batch
    run = f"{int(time.time())}"
    sent_bodies: dict[tuple[int, int], str] = {}

    def body_for(client: int, sequence: int) -> str:
        # Built on the fly (the load generator shares the machine); kept for the replay.
        body = json.dumps(maker.batch(f"h-{client}-{sequence}", size))
        if sequence < REPLAY_SAMPLE:
            sent_bodies[(client, sequence)] = body
        return body

    def make_request(client: int, sequence: int):
        return ("POST", "/api/v1/interactions/", {
            "data": body_for(client, sequence),
            "headers": {"Authorization": f"Api-Key {keys[client][1]}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": f"bench-{run}-{client}-{sequence}"}})

    with production_server() as server:
        progress(f"http: {args.clients} clients × batches of {size} for {args.seconds}s")
        load = run_load(server.url, make_request, clients=args.clients, seconds=args.seconds,
                        warmup_seconds=args.warmup, ok_statuses=frozenset({201}))
        scopes = [f"key:{api_key.pk}" for api_key, _raw in keys]
        batches = InteractionBatch.objects.filter(scope__in=scopes)
        accepted = sum(batches.values_list("count", flat=True))
        replay = asyncio.run(replay_sample(server.url, keys, run, sent_bodies))
    figures = {
        "clients": args.clients, "batch_size": size, "seconds": args.seconds,
        "batches_per_second": load["per_second"],
        "per_second": round(load["per_second"] * size, 1),
        "p50_ms_per_batch": load["p50_ms"], "p95_ms_per_batch": load["p95_ms"],
        "p99_ms_per_batch": load["p99_ms"], "statuses": load["statuses"],
        "server": " ".join(server.command[-12:]),
        "replay": replay,
    }
    figures = verified(figures, stored_counts(institution, "h-"), accepted)
    figures["no_loss_no_duplicates"] = (figures["no_loss_no_duplicates"]
                                        and replay["replays_added_nothing"])
    clear_log(institution)
    return figures


async def replay_sample(base_url: str, keys, run: str, sent_bodies: dict) -> dict:
    """Send some stored batches again (a producer that lost the answer): the first answer
    comes back (200) and nothing is added; the same key with another body is refused (409)."""
    import aiohttp

    from ventanilla.tickets.models import Interaction

    before = await asyncio.to_thread(Interaction.objects.count)
    statuses: Counter = Counter()
    async with aiohttp.ClientSession(base_url) as session:
        for (client, sequence), body in sorted(sent_bodies.items()):
            headers = {"Authorization": f"Api-Key {keys[client][1]}",
                       "Content-Type": "application/json",
                       "Idempotency-Key": f"bench-{run}-{client}-{sequence}"}
            async with session.post("/api/v1/interactions/", data=body,
                                    headers=headers) as response:
                statuses[response.status] += 1
        client, sequence = min(sent_bodies)
        headers = {"Authorization": f"Api-Key {keys[client][1]}",
                   "Content-Type": "application/json",
                   "Idempotency-Key": f"bench-{run}-{client}-{sequence}"}
        other_body = json.dumps(json.loads(sent_bodies[(client, sequence)])[:-1])
        async with session.post("/api/v1/interactions/", data=other_body,
                                headers=headers) as response:
            conflict = response.status
    after = await asyncio.to_thread(Interaction.objects.count)
    return {"replayed": sum(statuses.values()), "statuses": dict(statuses),
            "other_body_same_key": conflict,
            "replays_added_nothing": after == before and set(statuses) <= {200}
            and conflict == 409}


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    scratch = setup_django()
    from django.db import connection

    scenarios = {name.strip() for name in args.scenarios.split(",") if name.strip()}
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    report = {"benchmark": "interaction_log", "environment": environment(),
              "sizes": {"events_per_batch_size": args.events, "row_events": args.row_events,
                        "batch_sizes": sizes, "http_clients": args.clients,
                        "http_batch": args.http_batch, "http_seconds": args.seconds},
              "figures": {}}
    progress("building the fixture")
    fixture = build_fixture(args.clients)
    maker = EventMaker(fixture, args.seed)
    figures = report["figures"]
    try:
        if "row" in scenarios:
            progress(f"row: {args.row_events} events, one commit each")
            figures["row"] = scenario_row(fixture, maker, args.row_events)
            progress(f"  {figures['row']['per_second']}/s")
        if "batch" in scenarios:
            for size in sizes:
                progress(f"batch: {args.events} events in batches of {size}")
                figures[f"batch_{size}"] = scenario_batch(fixture, maker, args.events, size)
                progress(f"  {figures[f'batch_{size}']['per_second']}/s")
            if connection.vendor == "postgresql" and sizes:
                size = max(sizes)
                progress(f"batch: same with multi-row INSERT, batches of {size}")
                figures[f"insert_{size}"] = scenario_batch(fixture, maker, args.events, size,
                                                           method="insert")
                progress(f"  {figures[f'insert_{size}']['per_second']}/s")
        if "http" in scenarios:
            figures["http"] = scenario_http(fixture, maker, args)
            progress(f"  {figures['http']['per_second']}/s")
    finally:
        cleanup()
    report["ratios"] = ratios(figures)
    report["target"] = {"interactions_per_second": 5000, "met_by": sorted(
        name for name, figure in figures.items() if figure.get("per_second", 0) >= 5000)}
    report["all_verified"] = all(figure.get("no_loss_no_duplicates") for figure in
                                 figures.values())
    emit(report)
    if scratch:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


def ratios(figures: dict) -> dict:
    """Each batch scenario against one commit per row, measured in the same run."""
    row = figures.get("row", {}).get("per_second")
    if not row:
        return {}
    return {f"{name}_vs_row": round(figure["per_second"] / row, 2)
            for name, figure in figures.items() if name != "row"}


if __name__ == "__main__":
    main()
