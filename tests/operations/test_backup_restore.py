"""``ventanilla backup`` / ``ventanilla restore`` end to end, as real processes: an
installation with tickets of two institutions, timeline events, attachments on disk, people
and survey answers is backed up and restored into an empty installation (another database,
another MEDIA_ROOT); every ticket, attachment (bytes) and event must be there. Then the
refusals: a damaged archive, a non-empty target, names that escape the storage."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import make_catalog, open_ticket
from tests.processes import process_env
from tests.surveys.helpers import close_with_final_answer, make_survey
from ventanilla.operations.archive import BackupError, safe_member_name
from ventanilla.operations.restore import archive_verify
from ventanilla.surveys.models import SurveyInvitation
from ventanilla.surveys.services import survey_answer
from ventanilla.tickets.models import Attachment, Ticket
from ventanilla.tickets.services import ticket_add_note
from ventanilla.tickets.uploads import CheckedUpload

# What the verifying process prints about an installation (run in the target's settings).
SNAPSHOT_CODE = """
import hashlib, json
from django.core.files.storage import storages
from ventanilla.citizens.models import Citizen
from ventanilla.surveys.models import SurveyResponse
from ventanilla.tickets.models import Attachment, Ticket, TicketEvent
storage = storages["default"]
def digest(name):
    with storage.open(name, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()
print(json.dumps({
    "tickets": sorted([t.folio, t.detail, t.institution.slug] for t in Ticket.objects.all()),
    "events": sorted([e.ticket.folio, e.kind, e.created_at.isoformat(), e.body]
                     for e in TicketEvent.objects.select_related("ticket")),
    "attachments": sorted([a.ticket.folio, a.file.name, a.sha256, digest(a.file.name)]
                          for a in Attachment.objects.select_related("ticket")),
    "citizens": Citizen.objects.count(),
    "survey_responses": sorted([r.score, r.comment] for r in SurveyResponse.objects.all()),
}))
"""


def _pdf(text: str) -> CheckedUpload:
    content = (b"%PDF-1.4\n% " + text.encode() + b"\n" + os.urandom(4096) + b"\n%%EOF\n")
    return CheckedUpload(original_name=f"{text}.pdf", extension="pdf",
                         content_type="application/pdf", content=content,
                         sha256=hashlib.sha256(content).hexdigest())


def _build_installation() -> None:
    from tests.tickets.helpers import staff
    from ventanilla.accounts.models import Role

    for number in range(2):
        catalog = make_catalog()
        make_survey(catalog["institution"])
        for index in range(3):
            ticket = open_ticket(catalog, email=f"persona{number}-{index}@example.cl",
                                 detail=f"Detalle {number}-{index}: la colación no llegó.",
                                 attachments=[_pdf(f"boleta-{number}-{index}"),
                                              _pdf(f"foto-{number}-{index}")])
            ticket_add_note(ticket=ticket, actor=staff(catalog["institution"], Role.TRIAGE),
                            body=f"Nota interna {number}-{index}")
        # A suggestion closes at once with its template answer.
        open_ticket(catalog, ticket_type=catalog["suggestion"],
                    email=f"sugiere{number}@example.cl")
        # The final answer closes the last complaint and invites to the survey; answer it.
        close_with_final_answer(ticket)
        invitation = SurveyInvitation.objects.get(ticket=ticket)
        survey_answer(invitation=invitation, score=4, comment=f"Bien {number}")


def _database_url(settings_dict: dict) -> str:
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def _run(env: dict, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ventanilla", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def _snapshot(env: dict) -> dict:
    result = _run(env, "shell", "-c", SNAPSHOT_CODE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def empty_target(tmp_path):
    """A freshly migrated installation with no tickets: its own database and MEDIA_ROOT."""
    folder = tmp_path / "target"
    folder.mkdir()
    media = folder / "media"
    if connection.vendor == "sqlite":
        url = f"sqlite:///{folder / 'ventanilla.sqlite3'}"
        drop = None
    else:
        import psycopg

        name = f"ops_restore_{uuid.uuid4().hex[:10]}"
        params = {k: v for k, v in {
            "host": connection.settings_dict.get("HOST") or "127.0.0.1",
            "port": connection.settings_dict.get("PORT") or 5432,
            "user": connection.settings_dict.get("USER") or "postgres",
            "password": connection.settings_dict.get("PASSWORD") or None,
        }.items() if v}
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = _database_url({**connection.settings_dict, "NAME": name})

        def drop():
            with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    env = process_env(folder, DATABASE_URL=url, MEDIA_ROOT=str(media))
    result = _run(env, "migrate", "--noinput", "-v0")
    assert result.returncode == 0, result.stderr
    yield env, media
    if drop:
        drop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_backup_restores_every_ticket_attachment_and_event(settings, tmp_path, empty_target):
    _build_installation()
    assert Attachment.objects.count() == 12 and Ticket.objects.count() == 8
    source_env = process_env(tmp_path, DATABASE_URL=_database_url(connection.settings_dict),
                             MEDIA_ROOT=str(settings.MEDIA_ROOT))
    source = _snapshot(source_env)
    assert len(source["tickets"]) == 8 and len(source["attachments"]) == 12
    assert len({row[2] for row in source["tickets"]}) == 2  # two institutions
    assert len(source["survey_responses"]) == 2
    assert all(row[2] == row[3] for row in source["attachments"])  # stored bytes intact

    archive = tmp_path / "backups" / "ventanilla-20261001T000000Z.tar.gz"
    result = _run(source_env, "backup", "--output", str(archive))
    assert result.returncode == 0, result.stderr
    assert archive.exists() and not list(archive.parent.glob(".*partial"))
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # personal data inside
    manifest = archive_verify(archive)
    assert manifest["engine"] == connection.vendor
    assert manifest["row_counts"]["tickets_ticket"] == 8
    assert manifest["row_counts"]["tickets_attachment"] == 12
    assert manifest["media_files"] == 12
    assert "tickets" in manifest["migrations"]

    target_env, target_media = empty_target
    result = _run(target_env, "restore", str(archive))
    assert result.returncode == 0, result.stderr
    assert "8 requerimientos" in result.stdout and "12 archivos" in result.stdout
    restored = _snapshot(target_env)
    assert restored == source  # every ticket, event, attachment (bytes), person, answer
    assert len(list(target_media.rglob("*.pdf"))) == 12

    # Restoring again over a target that now has tickets is refused, and explained.
    result = _run(target_env, "restore", str(archive))
    assert result.returncode != 0
    assert "ya tiene 8 requerimientos" in result.stderr and "--force" in result.stderr

    # A damaged archive: one attachment's bytes changed, the manifest kept. Refused before
    # anything is touched, even with --force.
    damaged = tmp_path / "damaged.tar.gz"
    _rewrite(archive, damaged, lambda name, data: (
        data[:-10] + b"tampered!\n" if name.endswith(".pdf") else data))
    victim = next(target_media.rglob("*.pdf"))
    before = victim.read_bytes()
    result = _run(target_env, "restore", "--force", str(damaged))
    assert result.returncode != 0
    assert "suma de verificación" in result.stderr and "No se modificó nada" in result.stderr
    assert victim.read_bytes() == before
    # A truncated archive too.
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    result = _run(target_env, "restore", "--force", str(truncated))
    assert result.returncode != 0 and "dañado" in result.stderr
    assert _snapshot(target_env) == source

    # --force replaces a non-empty installation: still exactly the backup's contents.
    result = _run(target_env, "restore", "--force", str(archive))
    assert result.returncode == 0, result.stderr
    assert _snapshot(target_env) == source


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy an archive member by member, passing each member's bytes through ``change``."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old:
            data = old.extractfile(member).read()
            data = change(member.name, data)
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))


def _archive(path: Path, members: dict[str, bytes], manifest: dict | None = None) -> Path:
    if manifest is None:
        manifest = {"format": 1, "application": "ventanilla", "engine": "sqlite",
                    "migrations": {}, "row_counts": {},
                    "members": {name: {"size": len(data),
                                       "sha256": hashlib.sha256(data).hexdigest()}
                                for name, data in members.items()}}
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [*members.items(),
                           ("manifest.json", json.dumps(manifest).encode())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("name", [
    "media/../../etc/passwd", "/etc/passwd", "media//etc/passwd", "media/a/../../x",
    "../database/ventanilla.sqlite3", "media/a\\..\\..\\x", "other/file", "media/",
    "media/./x", "media/a\nb",
])
def test_member_names_that_escape_the_storage_are_refused(tmp_path, name):
    assert not safe_member_name(name)
    archive = _archive(tmp_path / "evil.tar.gz",
                       {"database/ventanilla.sqlite3": b"x", name: b"owned"})
    with pytest.raises(BackupError, match="no permitido"):
        archive_verify(archive)


def test_member_names_a_backup_writes_are_accepted():
    for name in ("manifest.json", "database/ventanilla.sqlite3", "database/ventanilla.pgdump",
                 "media/attachments/3/2026/10/0f3c.pdf", "media/paper/x y.jpg"):
        assert safe_member_name(name)


def test_links_and_extra_or_missing_members_are_refused(tmp_path):
    path = tmp_path / "link.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("media/link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(BackupError, match="no es un archivo"):
        archive_verify(path)

    members = {"database/ventanilla.sqlite3": b"db", "media/a.pdf": b"pdf"}
    manifest = {"format": 1, "application": "ventanilla", "engine": "sqlite",
                "members": {"database/ventanilla.sqlite3": {
                    "size": 2, "sha256": hashlib.sha256(b"db").hexdigest()}}}
    with pytest.raises(BackupError, match="sobran"):
        archive_verify(_archive(tmp_path / "extra.tar.gz", members, manifest))
    with pytest.raises(BackupError, match="sin manifest"):
        path = tmp_path / "nomanifest.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            info = tarfile.TarInfo("database/ventanilla.sqlite3")
            info.size = 2
            tar.addfile(info, io.BytesIO(b"db"))
        archive_verify(path)
    not_an_archive = tmp_path / "notes.tar.gz"
    not_an_archive.write_bytes(gzip.compress(b"just some text, not a tar"))
    with pytest.raises(BackupError, match="dañado"):
        archive_verify(not_an_archive)


def test_keep_deletes_only_the_oldest_archives_of_ours(tmp_path):
    from ventanilla.operations.backup import backup_prune

    names = [f"ventanilla-2026100{day}T030000Z.tar.gz" for day in range(1, 6)]
    for name in [*names, "other.tar.gz", "notes.txt"]:
        (tmp_path / name).write_bytes(b"x")
    removed = backup_prune(folder=tmp_path, keep=2)
    assert [path.name for path in removed] == names[:3]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [*names[3:], "other.tar.gz", "notes.txt"])
    with pytest.raises(BackupError):
        backup_prune(folder=tmp_path, keep=0)


@pytest.mark.django_db
def test_a_backup_from_a_newer_version_or_another_engine_is_refused(tmp_path):
    from ventanilla.operations.archive import DATABASE_MEMBERS
    from ventanilla.operations.restore import restore_check

    engine = connection.vendor
    other = "postgresql" if engine == "sqlite" else "sqlite"
    newer = {DATABASE_MEMBERS[engine]: b"db"}
    manifest = {"format": 1, "application": "ventanilla", "engine": engine,
                "migrations": {"tickets": ["0001_initial", "9999_from_the_future"]},
                "row_counts": {}, "members": {DATABASE_MEMBERS[engine]: {
                    "size": 2, "sha256": hashlib.sha256(b"db").hexdigest()}}}
    with pytest.raises(BackupError, match=r"versión más nueva.*tickets\.9999_from_the_future"):
        restore_check(path=_archive(tmp_path / "newer.tar.gz", newer, manifest), force=True)
    foreign = {DATABASE_MEMBERS[other]: b"db"}
    manifest = {**manifest, "engine": other, "migrations": {}, "members": {
        DATABASE_MEMBERS[other]: {"size": 2, "sha256": hashlib.sha256(b"db").hexdigest()}}}
    with pytest.raises(BackupError, match="entre motores distintos"):
        restore_check(path=_archive(tmp_path / "other.tar.gz", foreign, manifest), force=True)
