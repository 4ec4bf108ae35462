"""The backup archive: what is in it and how its members are named and checked.

One ``.tar.gz`` (standard library only) with, in this order:

- ``database/ventanilla.sqlite3`` (SQLite's online backup) or ``database/ventanilla.pgdump``
  (``pg_dump --format=custom``);
- ``media/<name>``: every file of the default storage (attachments, paper photos…), under
  the name the storage knows it by;
- ``manifest.json`` last (it holds every other member's SHA-256, known only once written):
  format, application version, creation time, database engine, the applied migrations, the
  row count of every table and size + SHA-256 of every member.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.db.backends.base.base import BaseDatabaseWrapper

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/ventanilla.sqlite3",
                    "postgresql": "database/ventanilla.pgdump"}
MEDIA_PREFIX = "media/"
CHUNK = 1024 * 1024
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
ARCHIVE_GLOB = "ventanilla-*.tar.gz"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator (Spanish)."""


class HashingReader:
    """A read-only file wrapper that hashes and counts what passes through it."""

    def __init__(self, fileobj):
        self._fileobj = fileobj
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._fileobj.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def safe_member_name(name: str) -> bool:
    """Whether a member name may be restored: the manifest, the database, or a relative
    media path with no '..', no absolute part, no backslash and no control character."""
    if name == MANIFEST or name in DATABASE_MEMBERS.values():
        return True
    if not name.startswith(MEDIA_PREFIX) or "\\" in name or "\x00" in name:
        return False
    if any(ord(ch) < 32 for ch in name):
        return False
    relative = PurePosixPath(name[len(MEDIA_PREFIX):])
    return (bool(relative.parts) and not relative.is_absolute()
            and all(part not in ("", ".", "..") for part in relative.parts)
            and str(relative) == name[len(MEDIA_PREFIX):])


def engine_of(connection: BaseDatabaseWrapper) -> str:
    if connection.vendor not in DATABASE_MEMBERS:
        raise BackupError(f"Motor de base de datos no soportado: {connection.vendor}.")
    return connection.vendor


@dataclass(frozen=True)
class PgTarget:
    """How the PostgreSQL client programs reach the configured database. The password
    travels in the environment (PGPASSWORD), never on a command line others can read."""

    args: list[str]
    env: dict[str, str]
    connect_kwargs: dict

    @classmethod
    def from_settings(cls, settings_dict: dict) -> PgTarget:
        args: list[str] = []
        env = dict(os.environ)
        kwargs: dict = {"dbname": settings_dict["NAME"]}
        for key, flag, kwarg in (("HOST", "--host", "host"), ("PORT", "--port", "port"),
                                 ("USER", "--username", "user")):
            if settings_dict.get(key):
                args += [flag, str(settings_dict[key])]
                kwargs[kwarg] = str(settings_dict[key])
        if settings_dict.get("PASSWORD"):
            env["PGPASSWORD"] = settings_dict["PASSWORD"]
            kwargs["password"] = settings_dict["PASSWORD"]
        options = settings_dict.get("OPTIONS") or {}
        for option, variable in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"),
                                 ("connect_timeout", "PGCONNECT_TIMEOUT")):
            if options.get(option) not in (None, ""):
                env[variable] = str(options[option])
                kwargs[option] = options[option]
        args += ["--no-password", "--dbname", settings_dict["NAME"]]
        return cls(args=args, env=env, connect_kwargs=kwargs)


def run_client(command: list[str], *, env: dict[str, str], what: str) -> None:
    """Run pg_dump / pg_restore; a failure becomes a BackupError with its stderr (which
    names tables and objects, never the password)."""
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True,  # noqa: S603
                                check=False)
    except FileNotFoundError as exc:
        raise BackupError(f"No se encontró el programa {command[0]} ({what}). Instale el "
                          "cliente de PostgreSQL o indique su ruta (PG_DUMP_PATH, "
                          "PG_RESTORE_PATH).") from exc
    if result.returncode != 0:
        raise BackupError(f"{what} falló (código {result.returncode}):\n"
                          f"{result.stderr.strip()[-4000:]}")


def fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
