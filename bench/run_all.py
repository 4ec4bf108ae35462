"""``make bench``: every benchmark at its small default size, one after the other.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/ventanilla_bench \\
        .venv/bin/python bench/run_all.py [--only intake,sla] [--out var/bench]

Benchmarks run one at a time (two at once would measure each other) in their own process on
their own database, created when missing (the benchmarks create and drop their own rows).
Each one's JSON document is saved as ``<out>/<name>.json``; the summary printed at the end
(and saved as ``<out>/summary.json``) lists each benchmark's exit status and seconds.
The large sizes are run by hand, one script at a time: see bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/ventanilla_bench"


def ensure_database(url: str) -> None:
    """Create the benchmark database when the server has none of that name."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    import psycopg

    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="Comma-separated names (e.g. intake,sla).")
    parser.add_argument("--out", default=str(ROOT / "var" / "bench"))
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if args.only:
        wanted = {f"bench_{name}.py" for name in args.only.split(",")}
        scripts = [script for script in scripts if script.name in wanted]
    summary = {}
    for script in scripts:
        name = script.stem.removeprefix("bench_")
        print(f"== {name}", file=sys.stderr, flush=True)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(script)], env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.PIPE, text=True, check=False)
        seconds = round(time.monotonic() - started, 1)
        entry = {"exit_status": result.returncode, "seconds": seconds}
        try:
            document = json.loads(result.stdout)
        except json.JSONDecodeError:
            entry["error"] = "no JSON document on stdout"
        else:
            (out / f"{name}.json").write_text(json.dumps(document, indent=2,
                                                         ensure_ascii=False) + "\n")
            entry["report"] = str(out / f"{name}.json")
        summary[name] = entry
        print(f"   {name}: exit {result.returncode} in {seconds} s", file=sys.stderr, flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0 if all(entry["exit_status"] == 0 for entry in summary.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
