"""Helpers for tests that start the platform as real processes (serve, worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

# Settings the test session sets for itself that a child process must not inherit.
_NOT_INHERITED = {
    "TASKS_BACKEND", "SQLITE_TEST_NAME", "DEBUG", "EMAIL_HOST", "EMAIL_BACKEND", "STATIC_ROOT",
    "MEDIA_ROOT", "SITE_URL", "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
}


def process_env(folder: Path, **extra: str) -> dict[str, str]:
    """The environment of a child process running on its own SQLite file in ``folder``
    (development profile, so the database task backend is used)."""
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    env.update({
        "DATABASE_URL": f"sqlite:///{folder / 'ventanilla.sqlite3'}",
        "VENTANILLA_VAR_DIR": str(folder),
        "VENTANILLA_ENV": "development",
        "PYTHONUNBUFFERED": "1",
        **extra,
    })
    return env


def migrate_sqlite(folder: Path) -> Path:
    """Migrate a fresh SQLite file in ``folder``; returns its path (copy it per test)."""
    result = subprocess.run(
        [sys.executable, "-m", "ventanilla", "migrate", "--noinput", "-v0"],
        env=process_env(folder), capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return folder / "ventanilla.sqlite3"


def live_processes() -> Iterator[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, command line) of every live, non-zombie process,
    read from Linux's /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[0] == "Z":
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            yield int(entry.name), int(fields[1]), int(fields[2]), command
        except (OSError, ValueError):
            continue
