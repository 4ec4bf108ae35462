"""``ventanilla restore``: an archive of ``ventanilla backup`` into an empty installation.

In this order, and nothing is written before step 4:
1. read the whole archive once: every member name must be one a backup writes (no absolute
   path, no '..', regular files only, no duplicates) and every member's size and SHA-256
   must match the manifest, which must list exactly the members present;
2. the engine must be the configured one (no cross-engine restore: a SQLite backup restores
   into SQLite, a PostgreSQL one into PostgreSQL);
3. every migration the backup had applied must exist in this code (a backup from a newer
   version is refused); the target must have no tickets (``--force`` replaces them);
4. the database: SQLite through the online backup API into the configured file (safe with
   its WAL); PostgreSQL with ``pg_restore --clean --if-exists --no-owner --no-privileges
   --single-transaction`` (all or nothing); row counts compared with the manifest;
5. the files into the configured storage, each checked again as it is written;
6. ``migrate``: a backup from an older version is brought forward to this code.
Stop the web and the worker first: a restore replaces the database under them.
"""

from __future__ import annotations

import json
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import storages
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _

from ventanilla.operations.archive import (
    CHUNK,
    DATABASE_MEMBERS,
    FORMAT_VERSION,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    MEDIA_PREFIX,
    BackupError,
    HashingReader,
    PgTarget,
    engine_of,
    run_client,
    safe_member_name,
)

SPOOL_BYTES = 8 * 1024 * 1024  # larger files go through a temporary file, not memory


def _damaged(path: Path, detail: object) -> str:
    return _("El archivo %(path)s está dañado o no es un respaldo de Ventanilla "
             "(%(detail)s). No se modificó nada.") % {"path": path, "detail": detail}


@dataclass
class RestoreResult:
    manifest: dict
    counts: dict[str, int]
    media_files: int


def _members(path: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    """Stream the archive's members (no seeking, no growing member list)."""
    try:
        with tarfile.open(path, mode="r|gz") as tar:
            for member in tar:
                yield tar, member
                tar.members = []  # a stream of a million files must not pile up TarInfos
    except FileNotFoundError as exc:
        raise BackupError(_("No existe el archivo %(path)s.") % {"path": path}) from exc
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(_damaged(path, exc)) from exc


def _copy(source, write: Callable[[bytes], object]) -> None:
    while chunk := source.read(CHUNK):
        write(chunk)


def archive_verify(path: Path) -> dict:
    """Check names, sizes and checksums of every member; return the manifest."""
    try:
        seen, manifest_body = _read_members(path)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:  # read mid-member
        raise BackupError(_damaged(path, exc)) from exc
    return _check_manifest(path, seen, manifest_body)


def _read_members(path: Path) -> tuple[dict[str, dict], bytes | None]:
    seen: dict[str, dict] = {}
    manifest_body: bytes | None = None
    for tar, member in _members(path):
        name = member.name
        if not safe_member_name(name):
            raise BackupError(_("El respaldo contiene un nombre no permitido (%(name)r); no "
                                "se restaurará. No se modificó nada.") % {"name": name})
        if not member.isreg():
            raise BackupError(_("El respaldo contiene algo que no es un archivo (%(name)r). "
                                "No se modificó nada.") % {"name": name})
        if name in seen or (name == MANIFEST and manifest_body is not None):
            raise BackupError(_("El respaldo repite el miembro %(name)r. No se modificó "
                                "nada.") % {"name": name})
        handle = tar.extractfile(member)
        if name == MANIFEST:
            manifest_body = handle.read(MAX_MANIFEST_BYTES + 1)
            if len(manifest_body) > MAX_MANIFEST_BYTES:
                raise BackupError("El manifiesto del respaldo es demasiado grande.")
            continue
        reader = HashingReader(handle)
        _copy(reader, lambda chunk: None)
        seen[name] = {"size": reader.size, "sha256": reader.sha256.hexdigest()}
    return seen, manifest_body


def _check_manifest(path: Path, seen: dict[str, dict], manifest_body: bytes | None) -> dict:
    if manifest_body is None:
        raise BackupError(_damaged(path, _("sin manifest.json")))
    try:
        manifest = json.loads(manifest_body)
        expected = manifest["members"]
        engine = manifest["engine"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(_damaged(path, _("manifiesto ilegible"))) from exc
    if manifest.get("application") != "ventanilla" or manifest.get("format") != FORMAT_VERSION:
        raise BackupError(_damaged(path, _("formato desconocido")))
    missing = sorted(set(expected) - set(seen))
    extra = sorted(set(seen) - set(expected))
    if missing or extra:
        detail = _("faltan %(missing)s, sobran %(extra)s") % {"missing": missing[:5],
                                                               "extra": extra[:5]}
        raise BackupError(_damaged(path, detail))
    for name, facts in expected.items():
        if seen[name] != {"size": facts.get("size"), "sha256": facts.get("sha256")}:
            detail = _("la suma de verificación de %(name)s no coincide") % {"name": name}
            raise BackupError(_damaged(path, detail))
    if DATABASE_MEMBERS.get(engine) not in seen:
        raise BackupError(_damaged(path, _("sin base de datos")))
    return manifest


def _unknown_migrations(manifest: dict) -> list[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = set(loader.disk_migrations)
    installed = {app for app, _ in known}
    unknown = []
    for app, names in manifest.get("migrations", {}).items():
        if app not in installed:
            continue  # an app this configuration does not install (django_rq…): its tables stay
        unknown += [f"{app}.{name}" for name in names if (app, name) not in known]
    return sorted(unknown)


def target_ticket_count() -> int:
    from ventanilla.tickets.models import Ticket

    if Ticket._meta.db_table not in connection.introspection.table_names():
        return 0
    return Ticket.objects.count()


def table_counts(tables) -> dict[str, int]:
    existing = set(connection.introspection.table_names())
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            if table in existing:
                quoted = connection.ops.quote_name(table)
                cursor.execute(f"SELECT COUNT(*) FROM {quoted}")  # noqa: S608 (catalog name)
                counts[table] = cursor.fetchone()[0]
    return counts


def restore_check(*, path: Path, force: bool) -> dict:
    """Steps 1 to 3: everything that can refuse, before anything is written."""
    manifest = archive_verify(path)
    engine = engine_of(connection)
    if manifest["engine"] != engine:
        raise BackupError(_(
            "El respaldo es de %(backup)s y esta instalación usa %(engine)s: la restauración "
            "entre motores distintos no está soportada. No se modificó nada.")
            % {"backup": manifest["engine"], "engine": engine})
    unknown = _unknown_migrations(manifest)
    if unknown:
        raise BackupError(_(
            "El respaldo viene de una versión más nueva de Ventanilla (migraciones "
            "desconocidas: %(migrations)s). Actualice el código antes de restaurar. No se "
            "modificó nada.") % {"migrations": ", ".join(unknown[:5])})
    tickets = target_ticket_count()
    if tickets and not force:
        raise BackupError(_(
            "La base de datos de destino ya tiene %(tickets)s requerimientos: restaurar "
            "reemplazaría todos sus datos por los del respaldo. Restaure en una instalación "
            "vacía (recién migrada, o sin base de datos) o use --force para reemplazarla. "
            "No se modificó nada.") % {"tickets": tickets})
    return manifest


def _restore_database(engine: str, dump: Path) -> None:
    settings_dict = connection.settings_dict
    connection.close()
    if engine == "sqlite":
        target = Path(settings_dict["NAME"])
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(dump)
        destination = sqlite3.connect(target, timeout=30)
        try:
            # Through SQLite itself (not a file copy): a stale -wal file of the target can
            # never be replayed over the restored pages.
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        return
    import django.conf

    pg = PgTarget.from_settings(settings_dict)
    run_client([django.conf.settings.PG_RESTORE_PATH, "--no-owner", "--no-privileges",
                "--clean", "--if-exists", "--single-transaction", "--exit-on-error",
                *pg.args, str(dump)], env=pg.env, what="pg_restore")


def _restore_file(storage, name: str, handle, expected: dict) -> None:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        reader = HashingReader(handle)
        _copy(reader, spool.write)
        if reader.sha256.hexdigest() != expected["sha256"]:
            raise BackupError(f"El archivo {name} cambió durante la restauración.")
        spool.seek(0)
        if storage.exists(name):
            storage.delete(name)  # the backup is the truth for the names it holds
        saved = storage.save(name, File(spool, name=name.rsplit("/", 1)[-1]))
    if saved != name:
        raise BackupError(f"El almacenamiento guardó {name} como {saved}.")


def restore_apply(*, path: Path, manifest: dict,
                  progress: Callable[[str], object] = lambda line: None) -> RestoreResult:
    """Steps 4 to 6 (after ``restore_check``)."""
    try:
        with tempfile.TemporaryDirectory(prefix="ventanilla-restore-") as work:
            media_files, counts = _apply_members(path, manifest, Path(work), progress)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(f"La restauración se interrumpió ({exc}); corrija la causa y "
                          "vuelva a ejecutarla con --force.") from exc
    connection.close()
    progress("Aplicando migraciones pendientes…")
    call_command("migrate", interactive=False, verbosity=0)
    return RestoreResult(manifest=manifest, counts=counts, media_files=media_files)


def _apply_members(path: Path, manifest: dict, work: Path,
                   progress: Callable[[str], object]) -> tuple[int, dict[str, int]]:
    engine = manifest["engine"]
    database_member = DATABASE_MEMBERS[engine]
    storage = storages["default"]
    counts: dict[str, int] = {}
    media_files = 0
    for tar, member in _members(path):
        name = member.name
        if name == database_member:
            dump = work / "database"
            reader = HashingReader(tar.extractfile(member))
            with dump.open("wb") as out:
                _copy(reader, out.write)
            if reader.sha256.hexdigest() != manifest["members"][name]["sha256"]:
                raise BackupError("El respaldo cambió durante la restauración.")
            progress("Restaurando la base de datos…")
            _restore_database(engine, dump)
            dump.unlink()
            counts = table_counts(manifest["row_counts"])
            differ = {table: (expected, counts.get(table))
                      for table, expected in manifest["row_counts"].items()
                      if counts.get(table) != expected}
            if differ:
                raise BackupError(f"Las filas restauradas no coinciden con el manifiesto: "
                                  f"{dict(list(differ.items())[:5])}")
            progress("Restaurando los archivos…")
        elif name.startswith(MEDIA_PREFIX):
            _restore_file(storage, name[len(MEDIA_PREFIX):], tar.extractfile(member),
                          manifest["members"][name])
            media_files += 1
    return media_files, counts
