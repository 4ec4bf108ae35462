"""Intake throughput: tickets per second through ``POST /api/v1/tickets/`` and through the
citizen's web form, against a bare single-row insert endpoint (the yardstick), all served by
the production web server (gunicorn exactly as ``ventanilla serve`` starts it) in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python \
        bench/bench_intake.py [--seconds 10] [--clients 32] [--scenarios bare,api,portal]

Without ``DATABASE_URL`` it runs on a throw-away SQLite file. It migrates, creates its own
institution (the demo's JUNAEB catalog under another slug, with the demo's routing rules,
deadlines and round-robin/least-open areas, responders and an API key made by the real
services) and the yardstick's table; runs each scenario with ``--clients`` closed-loop
clients for ``--seconds`` after a warm-up; checks that every request answered with success
made exactly one ticket (and that replaying some Idempotency-Keys creates nothing); counts
the queries of one API create and one form POST in-process; and deletes everything it
created. One JSON document on stdout, progress on stderr. Not part of the test suite.

Requests look like real ones: the demo's texts (types, topics, schools, comunas), urgencies
and requester types with the demo's weights, several channels on the API key (api, IVR,
bot, WhatsApp), about 30 % of requests from people already known (same RUT or e-mail),
one Idempotency-Key per API request and one form token per form POST.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bench.common import (  # noqa: E402
    BENCH_SECRET_KEY,
    emit,
    environment,
    production_server,
    progress,
    run_load,
    setup_django,
)

SETTINGS = "bench.yardstick_settings"
SLUG = "bench-intake"
FOLIO_PREFIX = "BIN"
KNOWN_PEOPLE = 300
REPEAT_SHARE = 0.30  # requests from someone who wrote before (same RUT or e-mail)
API_CHANNEL_WEIGHTS = {"api": 50, "ivr": 20, "chatbot": 20, "whatsapp": 10}
REPLAY_SAMPLE = 20
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_COOKIE = re.compile(r"csrftoken=([^;]+)")
# The anti-spam "form shown at" stamp a browser sends back with the form.
FORM_STARTED_INPUT = re.compile(rb'name="form_started" value="([^"]+)"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="Measured seconds per scenario.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Warm-up seconds per scenario.")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--scenarios", default="bare,api,portal",
                        help="Comma-separated, in order: bare, api, portal.")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: what serve uses).")
    parser.add_argument("--threads", type=int, default=None,
                        help="Threads per worker (default: what serve uses).")
    parser.add_argument("--redis", default="",
                        help="REDIS_URL for the server's cache (throttle counters); default: "
                             "none, as in a default installation (database cache).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server-log", default="", help="Write gunicorn's output here.")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="Seconds to wait with the server up before the load (to attach "
                             "py-spy); the server's pids are printed on stderr.")
    parser.add_argument("--keep", action="store_true", help="Do not delete what was created.")
    parser.add_argument("--in-process", type=int, default=0, metavar="N",
                        help="Instead of the HTTP scenarios: N API creates and N form POSTs in "
                             "this process (Django test client, production-like settings), "
                             "with queries and milliseconds per request; reliable on a busy "
                             "machine, where HTTP rates are not.")
    parser.add_argument("--profile", default="",
                        help="With --in-process: write pyinstrument's text profile of the API "
                             "creates (and of the form POSTs, .portal.txt) to this path.")
    return parser.parse_args()


# --- the institution ---------------------------------------------------------------------------


def build_institution() -> dict:
    """The demo's JUNAEB catalog under the bench's slug, configured by the demo's own
    seeding functions, with responders and an API key made by the real services."""
    from collections import Counter

    from django.db import transaction

    from ventanilla.accounts.models import Membership, Role, User
    from ventanilla.api.services import api_key_create
    from ventanilla.catalog.models import Area, Channel
    from ventanilla.core.management import demo_data as data
    from ventanilla.core.management.commands.seed_demo import Command as SeedDemo
    from ventanilla.routing.demo import seed_routing_demo
    from ventanilla.sla.demo import seed_sla_demo

    cleanup()  # what an interrupted run may have left
    seeder = SeedDemo()
    seeder.created = Counter()
    spec = {**data.JUNAEB, "slug": SLUG, "short_name": "BENCH", "folio_prefix": FOLIO_PREFIX,
            "name": "Institución de benchmark (intake)"}
    with transaction.atomic():
        institution = seeder._institution(spec, data.JUNAEB_TYPES, data.JUNAEB_REQUESTER_TYPES,
                                          data.JUNAEB_AREAS, data.JUNAEB_TOPICS,
                                          data.JUNAEB_SCHOOLS)
        seed_routing_demo(institution)
        seed_sla_demo(institution)
        # Responders in the areas that assign automatically (round robin, least open).
        for number, area in enumerate(Area.objects.filter(institution=institution), start=1):
            for seat in range(3):
                user = User.objects.create_user(
                    email=f"responder{number}-{seat}@{SLUG}.invalid", password=None,
                    first_name=f"Responder {number}.{seat}")
                membership = Membership.objects.create(user=user, institution=institution,
                                                       role=Role.RESPONDER)
                membership.areas.set([area])
        _api_key, raw_key = api_key_create(
            institution=institution, name="Benchmark",
            channels=Channel.objects.filter(code__in=API_CHANNEL_WEIGHTS), can_read=True,
            can_write=True)
    return {"institution": institution, "api_key": raw_key}


def cleanup() -> dict:
    """Delete everything the bench created (tickets and all that hangs from them, people
    first seen here, outbox rows and their queued jobs, audit rows, the catalog)."""
    from django.db import connection

    from ventanilla.accounts.models import User
    from ventanilla.catalog.models import Institution, Topic
    from ventanilla.citizens.models import Citizen
    from ventanilla.core.models import AuditEvent
    from ventanilla.notifications.models import OutboundMessage
    from ventanilla.routing.models import RoutingRule
    from ventanilla.tickets.models import Interaction, Ticket

    institution = Institution.objects.filter(slug=SLUG).first()
    deleted = {}
    if institution is not None:
        citizen_ids = set(Ticket.objects.filter(institution=institution)
                          .values_list("citizen_id", flat=True))
        message_ids = list(OutboundMessage.objects.filter(institution=institution)
                           .values_list("pk", flat=True))
        with contextlib.suppress(Exception):  # the database task backend may be absent
            from django_tasks_db.models import DBTaskResult

            for start in range(0, len(message_ids), 5000):
                DBTaskResult.objects.filter(
                    task_path__endswith="deliver_outbound_message",
                    args_kwargs__args__0__in=message_ids[start:start + 5000]).delete()
        deleted["outbound_messages"] = OutboundMessage.objects.filter(
            institution=institution).delete()[0]
        AuditEvent.objects.filter(institution=institution).delete()
        Interaction.objects.filter(institution=institution).delete()
        deleted["tickets"] = Ticket.objects.filter(institution=institution).count()
        Ticket.objects.filter(institution=institution).delete()
        others = set(Ticket.objects.filter(citizen_id__in=citizen_ids)
                     .values_list("citizen_id", flat=True))
        Citizen.objects.filter(pk__in=citizen_ids - others, merged_into__isnull=True,
                               user__isnull=True).delete()
        RoutingRule.objects.filter(institution=institution).delete()
        Topic.objects.filter(institution=institution, parent__isnull=False).delete()
        institution.delete()
    User.objects.filter(email__endswith=f"@{SLUG}.invalid").delete()
    with connection.schema_editor() as editor, contextlib.suppress(Exception):
        from bench.yardstick.models import YardstickRow

        if YardstickRow._meta.db_table in connection.introspection.table_names():
            editor.delete_model(YardstickRow)
    return deleted


def create_yardstick_table() -> None:
    from bench.yardstick.models import YardstickRow
    from django.db import connection

    if YardstickRow._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(YardstickRow)


# --- realistic requests ------------------------------------------------------------------------


class RequestMaker:
    """Draws request contents the way the demo's year of tickets is drawn."""

    def __init__(self, institution, seed: int):
        from ventanilla.catalog.models import Organization, RequesterType, TicketType, Topic
        from ventanilla.core.management import demo_data as data
        from ventanilla.core.management.commands import seed_demo as demo
        from ventanilla.core.models import Comuna

        self.demo, self.data = demo, data
        self.rng = random.Random(seed)
        self.run_tag = uuid.uuid4().hex[:8]
        self.types = {t.code: t.pk for t in TicketType.objects.filter(institution=institution)}
        topics = {t.name: t.pk for t in Topic.objects.filter(institution=institution)}
        self.topic_by_key = {key: topics[name] for key, name, _p, _a in data.JUNAEB_TOPICS}
        self.requester_types = {r.name: r.pk for r in
                                RequesterType.objects.filter(institution=institution)}
        self.organizations = list(Organization.objects.filter(institution=institution)
                                  .select_related("comuna").order_by("code"))
        self.comunas = list(Comuna.objects.order_by("code"))
        people_rng = random.Random(seed + 1)
        self.known = [self._person(people_rng, f"known{index}") for index in range(KNOWN_PEOPLE)]
        self.sequence = 0

    def _person(self, rng: random.Random, tag: str) -> dict:
        first = rng.choice(self.data.FIRST_NAMES)
        last = f"{rng.choice(self.data.LAST_NAMES)} {rng.choice(self.data.LAST_NAMES)}"
        has_phone = rng.random() < 0.7
        return {
            "full_name": f"{first} {last}",
            "email": f"{self.demo.ascii_slug(first)}.{tag}.{self.run_tag}@bench.example.cl",
            "phone": f"+56 9 {rng.randint(2000, 9999)} {rng.randint(1000, 9999)}"
            if has_phone else "",
            "rut": self.demo.valid_rut(rng) if rng.random() < 0.45 else "",
        }

    def draw(self) -> dict:
        """One request's fields (ids and codes, as the API and the form take them)."""
        rng = self.rng
        self.sequence += 1
        type_code = self.demo.weighted(rng, self.demo.TYPE_WEIGHTS)
        topic_key, subject, detail = rng.choice(self.data.TEXTS[type_code])
        names_school = topic_key in self.demo.SCHOOL_TOPICS and rng.random() < 0.9
        organization = (rng.choice(self.organizations)
                        if names_school or rng.random() < 0.4 else None)
        comuna = organization.comuna if organization else rng.choice(self.comunas)
        fill = {"org": organization.name if organization else "el establecimiento",
                "comuna": comuna.name, "dia": rng.choice(self.data.WEEKDAYS),
                "nombre": rng.choice(self.data.STUDENT_NAMES)}
        person = (rng.choice(self.known) if rng.random() < REPEAT_SHARE
                  else self._person(rng, f"n{self.sequence}"))
        return {
            "ticket_type": self.types[type_code], "topic": self.topic_by_key[topic_key],
            "subject": subject.format(**fill)[:200], "detail": detail.format(**fill),
            **person,
            "urgency": str(self.demo.weighted(rng, self.demo.URGENCY_WEIGHTS)),
            "requester_type": self.requester_types[
                self.demo.weighted(rng, self.demo.REQUESTER_WEIGHTS)],
            "organization": organization.pk if organization else None,
            "region": comuna.region_id, "comuna": comuna.code,
        }

    def api_body(self) -> dict:
        body = self.draw()
        body["channel"] = self.demo.weighted(self.rng, API_CHANNEL_WEIGHTS)
        if not body["phone"] and self.rng.random() < 0.5:
            body.pop("phone")
        return {key: value for key, value in body.items() if value is not None}

    def form_body(self, page: bytes) -> dict:
        """A form POST as a browser sends it after loading ``page`` (its CSRF token and
        anti-spam stamp)."""
        body = self.draw()
        form = {key: "" if value is None else str(value) for key, value in body.items()}
        form["csrfmiddlewaretoken"] = CSRF_INPUT.search(page).group(1).decode()
        started = FORM_STARTED_INPUT.search(page)
        form["form_started"] = started.group(1).decode() if started else ""
        form["idempotency_key"] = uuid.uuid4().hex
        return form


# --- scenarios ---------------------------------------------------------------------------------


def scenario_bare(server, args, maker: RequestMaker) -> dict:
    from bench.yardstick.models import YardstickRow

    before = YardstickRow.objects.count()
    issued = []

    def make_request(_client, _sequence):
        body = maker.draw()
        issued.append(1)
        return "POST", "/bench/insert/", {"json": {
            "subject": body["subject"], "detail": body["detail"], "email": body["email"]}}

    result = run_load(server.url, make_request, clients=args.clients, seconds=args.seconds,
                      warmup_seconds=args.warmup, ok_statuses=frozenset({201}))
    result["issued_requests"] = len(issued)
    result["rows_created"] = YardstickRow.objects.count() - before
    return result


def scenario_api(server, args, maker: RequestMaker, api_key: str, institution) -> dict:
    from ventanilla.tickets.models import Ticket

    before = Ticket.objects.filter(institution=institution).count()
    issued: list[tuple[str, dict]] = []

    def make_request(_client, _sequence):
        body = maker.api_body()
        key = uuid.uuid4().hex
        issued.append((key, body))
        return "POST", "/api/v1/tickets/", {"json": body, "headers": {
            "Authorization": f"Api-Key {api_key}", "Idempotency-Key": key}}

    result = run_load(server.url, make_request, clients=args.clients, seconds=args.seconds,
                      warmup_seconds=args.warmup, ok_statuses=frozenset({201}))
    created = Ticket.objects.filter(institution=institution).count() - before
    result["issued_requests"] = len(issued)
    result["tickets_created"] = created
    result["replay"] = replay_check(server, api_key, issued[:REPLAY_SAMPLE], institution)
    return result


def replay_check(server, api_key: str, sample, institution) -> dict:
    """Send some requests again with their Idempotency-Key: each must answer 200 with the
    first ticket and create nothing."""
    from ventanilla.tickets.models import Ticket

    before = Ticket.objects.filter(institution=institution).count()
    statuses: dict[str, int] = {}

    def make_request(client, _sequence):
        key, body = sample[client]
        return "POST", "/api/v1/tickets/", {"json": body, "headers": {
            "Authorization": f"Api-Key {api_key}", "Idempotency-Key": key}}

    # One request per sampled key: a closed loop of len(sample) clients for a short moment.
    import asyncio

    import aiohttp

    async def replay():
        async with aiohttp.ClientSession(server.url) as session:
            for index in range(len(sample)):
                method, path, kwargs = make_request(index, 0)
                async with session.request(method, path, **kwargs) as response:
                    await response.read()
                    statuses[str(response.status)] = statuses.get(str(response.status), 0) + 1

    asyncio.run(replay())
    return {"sent": len(sample), "statuses": statuses,
            "tickets_created": Ticket.objects.filter(institution=institution).count() - before}


def scenario_portal(server, args, maker: RequestMaker, institution) -> dict:
    from ventanilla.tickets.models import Ticket

    before = Ticket.objects.filter(institution=institution).count()
    path = f"/{SLUG}/solicitud/"
    issued = []

    async def setup_client(session, _index):
        # A browser opens the form once: the CSRF cookie and the token in the page. The
        # cookies are Secure in production, so over plain http they are sent by hand.
        async with session.get(path) as response:
            page = await response.read()
            cookie = CSRF_COOKIE.search(response.headers.get("Set-Cookie", ""))
        token = CSRF_INPUT.search(page)
        if response.status != 200 or cookie is None or token is None:
            raise RuntimeError(f"the form did not load ({response.status})")
        return {"cookie": f"csrftoken={cookie.group(1)}", "page": page}

    def make_request(state, _sequence):
        issued.append(1)
        return "POST", path, {"data": maker.form_body(state["page"]), "allow_redirects": False,
                              "headers": {"Cookie": state["cookie"]}}

    result = run_load(server.url, make_request, clients=args.clients, seconds=args.seconds,
                      warmup_seconds=args.warmup, setup_client=setup_client,
                      ok_statuses=frozenset({302}))
    result["issued_requests"] = len(issued)
    result["tickets_created"] = Ticket.objects.filter(institution=institution).count() - before
    return result


# --- in-process measurements -------------------------------------------------------------------


def queries_per_request(api_key: str, maker: RequestMaker) -> dict:
    """Queries of one API create and one form POST (after one warm-up of each), counted in
    this process with the same settings the server has."""
    from django.conf import settings
    from django.test import Client, override_settings

    client = Client(HTTP_HOST="localhost")
    counts = {}
    # The page renders {% static %}: without collectstatic here, plain static storage.
    plain_static = override_settings(STORAGES={
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}})
    with plain_static:
        for label in ("warmup", "measured"):
            api_count, form_count, api_sql = one_api_and_form_post(client, api_key, maker)
            if label == "measured":
                counts = {"api_create": api_count, "portal_post": form_count}
                if os.environ.get("BENCH_SHOW_QUERIES"):
                    for sql in api_sql:
                        progress("  " + sql[:200])
    return counts


def one_api_and_form_post(client, api_key: str, maker: RequestMaker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as api_queries:
        response = client.post("/api/v1/tickets/", data=maker.api_body(),
                               content_type="application/json",
                               HTTP_AUTHORIZATION=f"Api-Key {api_key}",
                               HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    if response.status_code != 201:
        raise RuntimeError(f"API create answered {response.status_code}: "
                           f"{response.content[:500]!r}")
    # Read now: the next request's ``request_started`` empties the connection's query log.
    api_sql = [query["sql"] for query in api_queries.captured_queries]
    page = client.get(f"/{SLUG}/solicitud/")
    with CaptureQueriesContext(connection) as form_queries:
        response = client.post(f"/{SLUG}/solicitud/", data=maker.form_body(page.content))
    if response.status_code != 302:
        raise RuntimeError(f"form POST answered {response.status_code}")
    return len(api_sql), len(form_queries), api_sql


def in_process(api_key: str, maker: RequestMaker, count: int, profile_path: str) -> dict:
    """``count`` API creates then ``count`` form POSTs through the Django test client in this
    process, after a warm-up of each: CPU milliseconds and queries per request. The whole
    request is measured (middleware, authentication, throttle, DRF, intake, response)."""
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client, override_settings

    client = Client(HTTP_HOST="localhost")
    plain_static = override_settings(STORAGES={
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}})
    out: dict = {"requests_each": count}
    with plain_static:
        one_api_and_form_post(client, api_key, maker)  # warm caches, imports, connection
        page = client.get(f"/{SLUG}/solicitud/")
        scenarios = {
            "api_create": lambda: client.post(
                "/api/v1/tickets/", data=maker.api_body(), content_type="application/json",
                HTTP_AUTHORIZATION=f"Api-Key {api_key}", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex),
            "portal_post": lambda: client.post(f"/{SLUG}/solicitud/",
                                               data=maker.form_body(page.content)),
        }
        for name, send in scenarios.items():
            profiler = None
            if profile_path:
                from pyinstrument import Profiler

                profiler = Profiler(interval=0.0005)
                profiler.start()
            queries = 0
            wall = cpu = 0.0
            for _ in range(count):
                reset_queries()
                force = connection.force_debug_cursor
                connection.force_debug_cursor = True
                started, started_cpu = time.perf_counter(), time.process_time()
                response = send()
                wall += time.perf_counter() - started
                cpu += time.process_time() - started_cpu
                connection.force_debug_cursor = force
                queries += len(connection.queries)
                if os.environ.get("BENCH_SHOW_QUERIES") and _ == count - 1:
                    for query in connection.queries:
                        progress(f"  [{name}] {query['sql'][:160]}")
                if response.status_code not in (201, 302):
                    raise RuntimeError(f"{name} answered {response.status_code}: "
                                       f"{response.content[:300]!r}")
            if profiler is not None:
                profiler.stop()
                suffix = "" if name == "api_create" else ".portal.txt"
                Path(profile_path + suffix).write_text(profiler.output_text(show_all=False))
            out[name] = {"queries": round(queries / count, 1),
                         "wall_ms": round(wall / count * 1000, 2),
                         "cpu_ms_client_and_server": round(cpu / count * 1000, 2)}
            progress(f"  {name}: {out[name]}")
    return out


def collect_static(env: dict) -> str:
    """Production serves hashed static files from a manifest (the form page needs it)."""
    static_root = tempfile.mkdtemp(prefix="ventanilla-bench-static-")
    subprocess.run([sys.executable, "-m", "ventanilla", "collectstatic", "--noinput",
                    "-v", "0"], env={**env, "STATIC_ROOT": static_root}, check=True,
                   cwd=str(ROOT))
    return static_root


def main() -> None:
    args = parse_args()
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(scenarios) - {"bare", "api", "portal"}
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    # The outbox schedules each message on the task queue, as in production (the database
    # backend unless configured otherwise); no worker runs, the jobs are deleted afterwards.
    os.environ.setdefault("TASKS_BACKEND", "database")
    if args.in_process:  # measures capacity, not the per-key rate limit
        os.environ.setdefault("API_RATE_KEY", "100000000/min")
    scratch = setup_django(settings_module=SETTINGS)

    report: dict = {"benchmark": "intake", "environment": environment(),
                    "command": " ".join(sys.argv)}
    progress("building the institution…")
    created = build_institution()
    institution, api_key = created["institution"], created["api_key"]
    create_yardstick_table()
    maker = RequestMaker(institution, args.seed)
    try:
        if args.in_process:
            report["in_process"] = in_process(api_key, maker, args.in_process, args.profile)
        else:
            http_scenarios(args, scenarios, maker, api_key, institution, report)
    finally:
        if not args.keep:
            progress("cleaning up…")
            report["deleted"] = cleanup()
        if scratch:
            subprocess.run(["rm", "-rf", scratch], check=False)
    emit(report)


def http_scenarios(args, scenarios, maker, api_key, institution, report) -> None:
    from django.conf import settings

    static_root = None
    try:
        report["queries_per_request"] = queries_per_request(api_key, maker)
        progress(f"queries per request: {report['queries_per_request']}")
        extra_env = {
            "TASKS_BACKEND": os.environ["TASKS_BACKEND"],
            # The bench measures capacity, not the per-key rate limit (600/min by default).
            "API_RATE_KEY": "100000000/min",
        }
        if args.redis:
            extra_env["REDIS_URL"] = args.redis
        progress("collecting static files for the production server…")
        static_root = collect_static({**os.environ, "VENTANILLA_ENV": "production",
                                      "SECRET_KEY": BENCH_SECRET_KEY, "ALLOWED_HOSTS": "localhost",
                                      "DJANGO_SETTINGS_MODULE": SETTINGS,
                                      "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"})
        extra_env["STATIC_ROOT"] = static_root
        with production_server(settings_module=SETTINGS, workers=args.workers,
                               threads=args.threads, extra_env=extra_env,
                               log_path=args.server_log or None) as server:
            report["server"] = {"command": server.command[2:], "tasks_backend":
                                extra_env["TASKS_BACKEND"],
                                "cache": "redis" if args.redis else
                                settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
                                "conn_max_age": settings.DATABASES["default"].get(
                                    "CONN_MAX_AGE")}
            if args.pause:
                children = subprocess.run(["pgrep", "-P", str(server.process.pid)],
                                          capture_output=True, text=True).stdout.split()
                progress(f"server up: master {server.process.pid}, workers {children}; "
                         f"waiting {args.pause} s")
                time.sleep(args.pause)
            figures = {}
            for name in scenarios:
                progress(f"scenario {name}: {args.clients} clients, {args.seconds} s…")
                if name == "bare":
                    figures[name] = scenario_bare(server, args, maker)
                elif name == "api":
                    figures[name] = scenario_api(server, args, maker, api_key, institution)
                else:
                    figures[name] = scenario_portal(server, args, maker, institution)
                shown = {k: v for k, v in figures[name].items() if k != "replay"}
                progress(f"  {json.dumps(shown)}")
        report["figures"] = figures
        report["ratios"] = ratios(figures)
        report["checks"] = checks(figures)
    finally:
        if static_root:
            subprocess.run(["rm", "-rf", static_root], check=False)


def ratios(figures: dict) -> dict:
    bare = figures.get("bare", {}).get("per_second")
    out = {}
    for name in ("api", "portal"):
        if bare and name in figures:
            out[f"{name}_over_bare"] = round(figures[name]["per_second"] / bare, 3)
    return out


def checks(figures: dict) -> dict:
    """Nothing lost, nothing duplicated: every request answered with success made one
    ticket and every failed one none (every issued request is answered before a scenario
    ends, warm-up included, so the counts compare over the whole scenario)."""
    out = {}
    for name in ("api", "portal"):
        if name not in figures:
            continue
        figure = figures[name]
        errors = sum(count for status, count in figure["statuses"].items()
                     if status not in ("201", "302"))
        out[name] = {
            "tickets_equal_issued_requests": figure["tickets_created"]
            == figure["issued_requests"],
            "errors_in_measured_window": errors,
        }
        if "replay" in figure:
            out[name]["replay_created_nothing"] = figure["replay"]["tickets_created"] == 0
    if "bare" in figures:
        out["bare"] = {"rows_equal_issued_requests":
                       figures["bare"]["rows_created"] == figures["bare"]["issued_requests"]}
    return out


if __name__ == "__main__":
    main()
