"""Orphan files (stored, but no row points to them) older than a day are swept; files of
rows, young files and a dry run are left alone."""

from __future__ import annotations

import os
import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from tests.factories import open_ticket
from tests.tickets.helpers import PDF_BYTES
from ventanilla.notifications.management.commands import worker as worker_module
from ventanilla.operations.services import storage_orphans_sweep
from ventanilla.tickets.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _age(name: str, seconds: int) -> None:
    path = default_storage.path(name)
    past = time.time() - seconds
    os.utime(path, (past, past))


def _stored(name: str, *, age: int) -> str:
    saved = default_storage.save(name, ContentFile(b"contenido"))
    _age(saved, age)
    return saved


def test_only_old_orphans_go(catalog, media):
    ticket = open_ticket(catalog)
    attachment = Attachment(ticket=ticket, original_name="a.pdf", extension="pdf",
                            content_type="application/pdf", size=len(PDF_BYTES), sha256="0" * 64)
    attachment.file.save("upload.pdf", ContentFile(PDF_BYTES), save=True)
    _age(attachment.file.name, 3 * 86400)
    old_orphan = _stored("attachments/1/2026/01/huerfano.pdf", age=2 * 86400)
    young_orphan = _stored("attachments/1/2026/11/reciente.pdf", age=60)
    paper_orphan = _stored("paper/1/2026/01/pagina.png", age=5 * 86400)

    assert sorted(storage_orphans_sweep(dry_run=True)) == sorted([old_orphan, paper_orphan])
    assert default_storage.exists(old_orphan)  # a dry run deletes nothing

    assert sorted(storage_orphans_sweep(batch=1)) == sorted([old_orphan, paper_orphan])
    assert not default_storage.exists(old_orphan) and not default_storage.exists(paper_orphan)
    assert default_storage.exists(attachment.file.name)  # a row points to it
    assert default_storage.exists(young_orphan)  # may belong to an intake not yet committed
    assert storage_orphans_sweep() == []


def test_command_and_worker_job(catalog, media, settings):
    orphan = _stored("reports/1/2026/01/informe.pdf", age=2 * 86400)
    out = StringIO()
    call_command("sweep_storage", "--dry-run", stdout=out)
    assert orphan in out.getvalue() and default_storage.exists(orphan)
    assert worker_module._storage_sweep() == "storage sweep: 1 orphan file(s) deleted"
    assert not default_storage.exists(orphan)
    settings.STORAGE_SWEEP_EVERY = 86400
    names = [job.name for job in worker_module.default_jobs(replay_every=60, sweep_every=300)]
    assert "storage_sweep" in names
