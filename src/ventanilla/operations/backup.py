"""``ventanilla backup``: the database and the stored files in one archive (see archive.py).

Consistent while the platform runs:
- SQLite: the online backup API copies the database inside one read transaction (with WAL,
  writers go on meanwhile); the row counts are read from that copy.
- PostgreSQL: a REPEATABLE READ transaction exports its snapshot; ``pg_dump --snapshot``
  dumps exactly that snapshot and the row counts are read inside it, so the manifest
  describes the dump byte for byte.
The files are read after the database snapshot: a file uploaded meanwhile may be in the
archive without its row (harmless), never a row without its file (uploads are stored before
their row is committed; nothing in the platform deletes an attachment's file).

Memory stays bounded: the dump goes to a temporary file next to the archive and every member
is streamed into the tar (1 MB reads) while it is hashed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import connection

from ventanilla.operations.archive import (
    ARCHIVE_GLOB,
    DATABASE_MEMBERS,
    FORMAT_VERSION,
    MANIFEST,
    MEDIA_PREFIX,
    BackupError,
    HashingReader,
    PgTarget,
    engine_of,
    fsync_directory,
    run_client,
)


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    removed: list[Path] = field(default_factory=list)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _version() -> str:
    try:
        return metadata.version("ventanilla")
    except metadata.PackageNotFoundError:
        return "unknown"


def _migrations_from_rows(rows) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in rows:
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _sqlite_snapshot(database: Path, target: Path) -> tuple[dict, dict]:
    """Copy the live SQLite database with the online backup API; counts and migrations
    from the copy."""
    if not database.exists():
        raise BackupError(f"No existe la base de datos SQLite {database}.")
    source = sqlite3.connect(database, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent read transaction
        tables = [row[0] for row in copy.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {table: copy.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608
                  .fetchone()[0]
                  for table in tables}
        migrations = (_migrations_from_rows(copy.execute(
            "SELECT app, name FROM django_migrations")) if "django_migrations" in counts
            else {})
    finally:
        copy.close()
        source.close()
    return counts, migrations


def _postgres_snapshot(settings_dict: dict, target: Path) -> tuple[dict, dict]:
    import psycopg

    pg = PgTarget.from_settings(settings_dict)
    with psycopg.connect(**pg.connect_kwargs) as conn, conn.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        # The snapshot exists while this transaction is open: dump it now, count after.
        run_client([settings.PG_DUMP_PATH, "--format=custom", "--no-owner",
                    f"--snapshot={snapshot}", f"--file={target}", *pg.args],
                   env=pg.env, what="pg_dump")
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608 (catalog name)
            counts[table] = cursor.fetchone()[0]
        migrations = {}
        if "django_migrations" in counts:
            cursor.execute("SELECT app, name FROM django_migrations")
            migrations = _migrations_from_rows(cursor.fetchall())
        conn.rollback()
    return counts, migrations


def _storage_files(storage, folder: str = ""):
    """Every file name in the storage, depth first (listdir works on local disk and S3)."""
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for directory in sorted(directories):
        yield from _storage_files(storage, f"{folder}/{directory}" if folder else directory)


def _add_member(tar: tarfile.TarFile, name: str, fileobj, size: int,
                members: dict) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o600
    reader = HashingReader(fileobj)
    tar.addfile(info, reader)
    members[name] = {"size": reader.size, "sha256": reader.sha256.hexdigest()}


def default_output(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BACKUP_DIR) / f"ventanilla-{stamp}.tar.gz"


def backup_create(*, output: Path | None = None, keep: int | None = None) -> BackupResult:
    """Write the archive to a temporary name beside ``output`` and rename it at the end
    (a reader never sees half an archive); with ``keep``, delete the oldest archives of the
    same folder beyond that many."""
    engine = engine_of(connection)
    created_at = datetime.now(UTC)
    output = Path(output) if output else default_output(created_at)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    members: dict[str, dict] = {}
    storage = storages["default"]
    media_files = media_bytes = 0
    try:
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as work:
            dump = Path(work) / "database"
            if engine == "sqlite":
                counts, migrations = _sqlite_snapshot(Path(connection.settings_dict["NAME"]),
                                                      dump)
            else:
                counts, migrations = _postgres_snapshot(connection.settings_dict, dump)
            # The archive holds personal data: readable by its owner only.
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as raw:
                # Level 1: attachments (JPEG, PDF) and the custom dump are compressed already.
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1,
                                  format=tarfile.PAX_FORMAT) as tar:
                    with dump.open("rb") as handle:
                        _add_member(tar, DATABASE_MEMBERS[engine], handle,
                                    dump.stat().st_size, members)
                    dump.unlink()
                    for name in _storage_files(storage):
                        with storage.open(name, "rb") as handle:
                            _add_member(tar, MEDIA_PREFIX + name, handle, storage.size(name),
                                        members)
                        media_files += 1
                        media_bytes += members[MEDIA_PREFIX + name]["size"]
                    manifest = {
                        "format": FORMAT_VERSION,
                        "application": "ventanilla",
                        "version": _version(),
                        "created_at": created_at.isoformat(),
                        "engine": engine,
                        "database_member": DATABASE_MEMBERS[engine],
                        "migrations": migrations,
                        "row_counts": counts,
                        "media_files": media_files,
                        "media_bytes": media_bytes,
                        "members": members,
                    }
                    body = json.dumps(manifest, indent=1, sort_keys=True).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mtime, info.mode = len(body), int(time.time()), 0o600
                    tar.addfile(info, io.BytesIO(body))
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(partial, output)
        fsync_directory(output.parent)
    except BackupError:
        _discard(partial)
        raise
    except (OSError, tarfile.TarError, sqlite3.Error) as exc:
        _discard(partial)
        raise BackupError(f"No se pudo escribir el respaldo: {exc}") from exc
    except Exception as exc:
        _discard(partial)
        if type(exc).__module__.startswith("psycopg"):
            raise BackupError(f"No se pudo leer la base de datos: {exc}") from exc
        raise
    removed = backup_prune(folder=output.parent, keep=keep) if keep else []
    return BackupResult(path=output, manifest=manifest, removed=removed)


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def backup_prune(*, folder: Path, keep: int) -> list[Path]:
    """Delete the oldest ``ventanilla-*.tar.gz`` of ``folder`` beyond the newest ``keep``
    (the names carry a UTC timestamp, so name order is age order)."""
    if keep < 1:
        raise BackupError("--keep debe ser 1 o más.")
    archives = sorted(folder.glob(ARCHIVE_GLOB))
    old = archives[:-keep]
    for path in old:
        path.unlink()
    return old

