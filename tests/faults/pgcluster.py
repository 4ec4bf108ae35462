"""A private, throw-away PostgreSQL cluster for tests that restart the database server
(the shared one at 127.0.0.1:5432 serves other test processes and must never be
restarted). Debian's PostgreSQL binaries; run as the ``postgres`` OS user when the tests
run as root (postgres refuses to run as root)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.notifications.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN_DIRS = [Path("/usr/lib/postgresql") / version / "bin" for version in ("15", "16", "17")]


def postgres_bin() -> Path | None:
    return next((path for path in BIN_DIRS if (path / "initdb").exists()), None)


def unavailable_reason() -> str | None:
    """Why a private cluster cannot be started here (None: it can)."""
    if postgres_bin() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres OS user to run the server"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


class PrivateCluster:
    """``initdb`` into a temporary directory, ``pg_ctl start`` on a free port of 127.0.0.1
    with the socket in that directory. fsync is off (the data is thrown away and only the
    server process is ever killed, never the machine: the OS keeps what was written), but
    synchronous_commit stays on: with it off an immediate shutdown loses transactions
    already acknowledged to the client, which the intake test rightly reports as a
    ticket whose folio was returned and that does not exist."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ventanilla-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        argv = [str(self.bin / command[0]), *command[1:]]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
                               f"\n{self.server_log()}")
        return result

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _chown_to_server(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        user = pwd.getpwnam("postgres")
        for folder, dirs, files in os.walk(path):
            os.chown(folder, user.pw_uid, user.pw_gid)
            for name in dirs + files:
                os.lchown(os.path.join(folder, name), user.pw_uid, user.pw_gid)

    def start_migrated(self, env: dict[str, str]) -> None:
        """Start with Ventanilla's schema. ``migrate`` on PostgreSQL takes about a minute
        here, so the migrated data directory is kept as a template in the temporary folder,
        keyed by every migration file: later runs copy it (well under a second)."""
        template = _template_dir(self.bin)
        if template.exists():
            shutil.copytree(template, self.data, symlinks=True)
            self._chown_to_server(self.data)
            self._pg_ctl_start()
            return
        self.start()
        result = subprocess.run(
            [sys.executable, "-m", "ventanilla", "migrate", "--noinput", "-v0"],
            env={**env, "DATABASE_URL": self.url}, capture_output=True, text=True,
            timeout=300, cwd=ROOT)
        if result.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{result.stderr[-3000:]}")
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        partial = Path(tempfile.mkdtemp(prefix=template.name + "-", dir=template.parent))
        shutil.copytree(self.data, partial / "data", symlinks=True)
        with contextlib.suppress(OSError):  # atomic: a parallel run may have won the race
            (partial / "data").rename(template)
        shutil.rmtree(partial, ignore_errors=True)
        self._pg_ctl_start()

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off -c full_page_writes=off",
                  "start")

    def restart(self, mode: str = "fast") -> None:
        """Stop (``fast``: roll back and disconnect every session; ``immediate``: no
        shutdown checkpoint, crash recovery at start) and start again, same options."""
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-m", mode, "restart")

    def stop_server(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def start_server(self) -> None:
        self._pg_ctl_start()

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(RuntimeError):  # not running
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _template_dir(bin_dir: Path) -> Path:
    digest = hashlib.sha256(str(bin_dir).encode())
    for path in sorted((ROOT / "src" / "ventanilla").glob("*/migrations/*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return Path(tempfile.gettempdir()) / f"ventanilla-pg-template-{digest.hexdigest()[:16]}"
