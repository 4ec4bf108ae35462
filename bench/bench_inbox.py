"""Staff inbox first page and full-text search over N generated tickets, timed per filter.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_inbox .venv/bin/python \
        bench/bench_inbox.py [--tickets 2000000] [--repeat 7] [--keep | --reuse] [--explain]

Builds one institution with ``bench/generate.py`` (realistic channels, topics, territory,
statuses by age, events, interactions), then times the first page of the inbox the way staff
open it: through the real view (Django test client, logged in as a supervisor and as an area
responder; number of queries) and through the selectors alone (``ticket_inbox`` +
``ticket_page``, ``triage_queue``), with the typical filters and searches (a common word, a
rare word typed without its accent, a person's name, the first letters of a surname, a RUT with
dots, a folio). Median milliseconds of ``--repeat`` runs after one warm-up. Without
``DATABASE_URL`` it runs on a throw-away SQLite file. ``--keep`` leaves the data for a later
``--reuse`` run (building 2 M tickets takes minutes). JSON on stdout, progress on stderr;
no asserts (machines are noisy). Targets (issue 7): first page ≤ 50 ms, search ≤ 300 ms at 2 M.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

SLUG = "bench-inbox"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--years", type=float, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--open-share", type=float, default=None,
                        help="Force this share of Type 2 tickets open (default: by age).")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Leave the data in place.")
    parser.add_argument("--reuse", action="store_true",
                        help="Time the data a --keep run left (built if missing).")
    parser.add_argument("--explain", action="store_true",
                        help="Print each selector query's EXPLAIN ANALYZE on stderr.")
    parser.add_argument("--cases", default="", help="Comma-separated case names (default all).")
    return parser.parse_args()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def setup_django() -> str | None:
    scratch = None
    if not os.environ.get("DATABASE_URL"):
        scratch = tempfile.mkdtemp(prefix="bench-inbox-")
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ventanilla.settings")
    import django

    django.setup()
    from django.core.management import call_command

    # Not setup_test_environment(): its template instrumentation (a signal and a context copy
    # per rendered template) would be timed too. The test client's host is allowed below.
    call_command("migrate", verbosity=0)
    return scratch


def environment() -> dict:
    from django.db import connection

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    version = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
    return {"python": platform.python_version(), "database": connection.vendor,
            "postgres": version, "cpus": os.cpu_count(), "commit": commit}


def staff_users(institution, busiest_area_id: int):
    from ventanilla.accounts.models import Membership, Role, User

    users = {}
    for role in (Role.SUPERVISOR, Role.RESPONDER):
        email = f"{role}@{SLUG}.example.cl"
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email=email, password=None)
        membership, _ = Membership.objects.get_or_create(user=user, institution=institution,
                                                         defaults={"role": role})
        if role == Role.RESPONDER:
            membership.areas.set([busiest_area_id])
        users[str(role)] = (user, membership)
    return users


def pick_samples(institution) -> dict:
    """Real values from the data: the busiest area, a person, a RUT, a folio."""
    from django.db.models import Count

    from ventanilla.catalog.models import Channel
    from ventanilla.core.rut import rut_format
    from ventanilla.tickets.models import Ticket

    tickets = Ticket.objects.filter(institution=institution)
    busiest = (tickets.values("area_id").annotate(n=Count("id")).order_by("-n").first())
    middle = tickets.order_by("-received_at")[min(500, tickets.count() - 1)]
    with_rut = tickets.exclude(contact_rut="").order_by("-received_at")[
        min(700, tickets.count() - 1)]
    first, *_rest, last = middle.contact_name.split()
    channel = dict(Channel.objects.values_list("code", "pk"))
    return {
        "area": busiest["area_id"], "channel": channel.get("phone"), "region": "09",
        "name": f"{first} {last}", "prefix": last[:5], "rut": rut_format(with_rut.contact_rut),
        "folio": middle.folio.lower(),
    }


def cases(samples: dict) -> dict[str, dict]:
    """Inbox GET parameters per case (the form's names)."""
    return {
        "open": {},
        "open_area": {"area": samples["area"]},
        "open_channel": {"channel": samples["channel"]},
        "open_region": {"region": samples["region"]},
        "sla_at_risk": {"sla": "at_risk"},
        "sla_breached": {"sla": "breached"},
        "all_statuses": {"status": "all"},
        "closed": {"status": "closed"},
        "search_common_word": {"q": "establecimiento", "status": "all"},
        "search_common_word_open": {"q": "establecimiento"},
        "search_rare_word": {"q": "kinesiologo", "status": "all"},
        "search_two_words": {"q": "tarjeta bloqueo", "status": "all"},
        "search_name": {"q": samples["name"], "status": "all"},
        "search_name_prefix": {"q": samples["prefix"], "status": "all"},
        "search_rut": {"q": samples["rut"], "status": "all"},
        "search_folio": {"q": samples["folio"], "status": "all"},
    }


def median_ms(function, repeat: int) -> float:
    function()  # warm-up: caches, plans
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def time_selector(membership, params: dict, repeat: int, explain: bool, name: str) -> dict:
    from django.db import connection
    from django.http import QueryDict

    from ventanilla.console.forms import InboxFilterForm
    from ventanilla.tickets.selectors import ticket_inbox, ticket_page

    query = QueryDict(mutable=True)
    for key, value in params.items():
        query[key] = str(value)
    form = InboxFilterForm(query, membership=membership)
    form.is_valid()
    filters = form.to_filters()

    def run():
        return ticket_page(ticket_inbox(membership=membership, filters=filters), page=1)

    rows, _ = run()
    if explain and connection.vendor == "postgresql":
        sql, sql_params = ticket_inbox(membership=membership, filters=filters)[:26].query \
            .sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, sql_params)
            log(f"--- {name}\n" + "\n".join(r[0] for r in cursor.fetchall()))
    return {"ms": median_ms(run, repeat), "rows": len(rows)}


def time_view(client, params: dict, repeat: int) -> dict:
    from django.db import connection
    from django.urls import reverse

    url = reverse("console:inbox")
    executed = []

    def count(execute, sql, params_, many, context):
        executed.append(sql)
        return execute(sql, params_, many, context)

    # (CaptureQueriesContext misses them: the request_started signal resets the query log.)
    with connection.execute_wrapper(count):
        response = client.get(url, params)
    if response.status_code != 200:
        raise RuntimeError(f"inbox answered {response.status_code} for {params}")
    return {"ms": median_ms(lambda: client.get(url, params), repeat),
            "queries": len(executed)}


def time_triage(membership, client, repeat: int) -> dict:
    from django.urls import reverse

    from ventanilla.routing.selectors import triage_queue
    from ventanilla.tickets.selectors import ticket_page

    url = reverse("console:triage")
    return {
        "selector_ms": median_ms(lambda: ticket_page(triage_queue(membership=membership),
                                                     page=1), repeat),
        "view_ms": median_ms(lambda: client.get(url), repeat),
    }


def main() -> None:
    args = parse_args()
    scratch = setup_django()
    from bench.generate import drop, generate
    from django.db import connection
    from django.test import Client, override_settings

    from ventanilla.catalog.models import Institution
    from ventanilla.tickets.models import OPEN_STATUSES, Ticket

    started = time.perf_counter()
    build = None
    try:
        if not (args.reuse and Institution.objects.filter(slug=SLUG).exists()):
            drop(SLUG)
            log(f"generating {args.tickets:,} tickets…")
            build = generate(tickets=args.tickets, seed=args.seed, institution_slug=SLUG,
                             years=args.years, open_share=args.open_share, progress=True)
        elif connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE tickets_ticket")
        institution = Institution.objects.get(slug=SLUG)
        tickets = Ticket.objects.filter(institution=institution)
        sizes = {"tickets": tickets.count(),
                 "open": tickets.filter(status__in=OPEN_STATUSES).count()}
        samples = pick_samples(institution)
        users = staff_users(institution, samples["area"])
        chosen = cases(samples)
        if args.cases:
            chosen = {k: v for k, v in chosen.items() if k in args.cases.split(",")}
        results: dict = {}
        plain_static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        from django.conf import settings

        with override_settings(STORAGES={**settings.STORAGES, "staticfiles": plain_static},
                               ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"],
                               EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            for role, (user, membership) in users.items():
                client = Client()
                client.force_login(user)
                role_results = {}
                for name, params in chosen.items():
                    if role == "responder" and name == "open_area":
                        continue
                    log(f"{role} {name}")
                    selector = time_selector(membership, params, args.repeat, args.explain,
                                             f"{role} {name}")
                    view = time_view(client, params, args.repeat)
                    role_results[name] = {"selector_ms": selector["ms"], "rows": selector["rows"],
                                          "view_ms": view["ms"], "queries": view["queries"]}
                if role == "supervisor":
                    role_results["triage_queue"] = time_triage(membership, client, args.repeat)
                results[role] = role_results
        first_page = [r["view_ms"] for role in results.values() for n, r in role.items()
                      if not n.startswith(("search", "triage"))]
        searches = [r["view_ms"] for role in results.values() for n, r in role.items()
                    if n.startswith("search")]
        report = {
            "benchmark": "staff_inbox",
            "environment": environment(),
            "sizes": sizes,
            "build": build,
            "samples": samples,
            "median_ms": results,
            "slowest_first_page_view_ms": max(first_page) if first_page else None,
            "slowest_search_view_ms": max(searches) if searches else None,
            "targets_ms": {"first_page": 50, "search": 300},
            "ratio_slowest_search_to_open_page": (
                round(max(searches) / results["supervisor"]["open"]["view_ms"], 2)
                if searches and "open" in results["supervisor"] else None),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(json.dumps(report, indent=2, default=str))
    finally:
        if not args.keep:
            drop(SLUG)
        if scratch:
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
