"""What every benchmark in ``bench/`` shares: Django set-up, the environment block of the
JSON report, medians, the production web server and an HTTP load generator.

The web server is started with the very command line ``python -m ventanilla serve`` uses
(gunicorn, gthread workers, same timeouts and access log), so a benchmark measures the setup
the README recommends and not a friendlier one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (str(ROOT / "src"), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

BENCH_SECRET_KEY = "bench-only-secret-key-not-for-any-real-installation-0123456789"


def setup_django(*, migrate: bool = True,
                 settings_module: str = "ventanilla.settings") -> str | None:
    """Configure Django on ``DATABASE_URL`` (a throw-away SQLite file when unset) and migrate.
    Returns the scratch folder of that SQLite file, if one was made."""
    scratch = None
    if not os.environ.get("DATABASE_URL"):
        scratch = tempfile.mkdtemp(prefix="ventanilla-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    os.environ.setdefault("TASKS_BACKEND", "dummy")  # benchmarks time the request, not jobs
    # One client address and machine-speed form posts: the abuse guards would measure
    # refusals (the production server below is started with the same two settings).
    os.environ.setdefault("RATE_LIMIT_ENABLED", "0")
    os.environ.setdefault("ANTISPAM_MIN_SECONDS", "0")
    os.environ.setdefault("ANTISPAM_DUPLICATE_SECONDS", "0")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return scratch


def environment() -> dict:
    """Where the figures were measured: they only mean something next to this."""
    from django.db import connection

    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "database": connection.vendor,
        "git_commit": _git_commit(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    meminfo_path = Path("/proc/meminfo")
    with contextlib.suppress(OSError, ValueError), meminfo_path.open(encoding="ascii") as meminfo:
        info["memory_gib"] = round(int(meminfo.readline().split()[1]) / 1024 / 1024, 1)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            info["postgresql"] = cursor.fetchone()[0]
    return info


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def emit(report: dict) -> None:
    """The one JSON document on stdout (progress goes to stderr)."""
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_ms(function: Callable[[], object], *, repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


# --- the production web server ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    command: list[str]


@contextlib.contextmanager
def production_server(*, settings_module: str = "ventanilla.settings", workers: int | None = None,
                      threads: int | None = None, extra_env: dict | None = None,
                      log_path: str | None = None) -> Iterator[Server]:
    """gunicorn exactly as ``ventanilla serve`` starts it (same options), with
    ``VENTANILLA_ENV=production`` on the benchmark's ``DATABASE_URL``. ``workers`` defaults
    to what serve uses ($WEB_CONCURRENCY or 2), ``threads`` to serve's default."""
    from ventanilla.core.management.commands.serve import Command as Serve

    port = free_port()
    parser = Serve().create_parser("python -m ventanilla", "serve")
    defaults = {action.dest: action.default for action in parser._actions}
    command = Serve()._commands(
        port=port, host="127.0.0.1",
        workers=workers or int(os.environ.get("WEB_CONCURRENCY", defaults.get("workers") or 2)),
        threads=threads or defaults.get("threads") or 4,
        no_worker=True, replay_every=60,
    )["web"]
    env = {
        **os.environ,
        "VENTANILLA_ENV": "production",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "LOG_LEVEL": "WARNING",
        # Plain HTTP on loopback: TLS would end at a proxy in front (no redirect to https).
        "BEHIND_PROXY": "1",
        "SECURE_SSL_REDIRECT": "0",
        # Every load-generator client comes from 127.0.0.1: per-address limits and the
        # anti-spam form timer would measure refusals, not the intake.
        "RATE_LIMIT_ENABLED": "0",
        "ANTISPAM_MIN_SECONDS": "0",
        "ANTISPAM_DUPLICATE_SECONDS": "0",  # generated requests may repeat one another
        **(extra_env or {}),
    }
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield Server(url=url, process=process, command=command)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/healthz",
                                                                  timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


# --- the HTTP load generator -----------------------------------------------------------------

# A request is built per call: (method, path, keyword arguments for aiohttp's request()).
RequestFactory = Callable[[int, int], tuple[str, str, dict]]


def run_load(base_url: str, make_request: RequestFactory, *, clients: int = 32,
             seconds: float = 10.0, warmup_seconds: float = 2.0,
             setup_client: Callable | None = None, ok_statuses: frozenset = frozenset({200, 201})
             ) -> dict:
    """``clients`` concurrent keep-alive connections, each sending its next request as soon as
    the previous one is answered (a closed loop, like people at counters), for ``seconds``
    after a warm-up. Returns throughput of successful requests and latency percentiles (ms).
    ``setup_client(session, index)`` may prepare each client (e.g. fetch a CSRF token) and
    return a state passed to ``make_request`` as its first argument instead of the index."""
    return asyncio.run(_load(base_url, make_request, clients, seconds, warmup_seconds,
                             setup_client, ok_statuses))


async def _load(base_url, make_request, clients, seconds, warmup_seconds, setup_client,
                ok_statuses) -> dict:
    import aiohttp

    latencies: list[float] = []
    statuses: Counter = Counter()
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        states = [index for index in range(clients)]
        if setup_client is not None:
            states = [await setup_client(session, index) for index in range(clients)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        measure_from = started + warmup_seconds
        stop_at = measure_from + seconds

        async def client(state) -> None:
            sequence = 0
            while True:
                now = loop.time()
                if now >= stop_at:
                    return
                method, path, kwargs = make_request(state, sequence)
                sequence += 1
                sent = loop.time()
                try:
                    async with session.request(method, path, **kwargs) as response:
                        await response.read()
                        status = response.status
                except (TimeoutError, aiohttp.ClientError) as error:
                    status = type(error).__name__
                done = loop.time()
                if sent >= measure_from and done <= stop_at:
                    statuses[status] += 1
                    if status in ok_statuses:
                        latencies.append((done - sent) * 1000)

        await asyncio.gather(*(client(state) for state in states))
    latencies.sort()
    return {
        "clients": clients,
        "seconds": seconds,
        "ok_requests": len(latencies),
        "per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "statuses": {str(status): count for status, count in sorted(statuses.items(), key=str)},
    }
