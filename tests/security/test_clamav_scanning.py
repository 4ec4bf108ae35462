"""Virus scanning with a real clamd (Debian's clamav-daemon), started by the test on a
temporary unix socket with a tiny signature database written here: no freshclam, no
internet. Skipped with a reason when clamd is not installed (``make clamav-deps``)."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter

from tests.factories import make_catalog
from tests.portal.helpers import request_payload
from ventanilla.tickets import antivirus
from ventanilla.tickets.models import Attachment, Ticket
from ventanilla.tickets.uploads import UploadUnavailable, check_upload

CLAMD = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
MARKER = b"VENTANILLA-TEST-MALWARE-MARKER"
START_TIMEOUT = 30.0


def pdf_with(extra: bytes = b"") -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    buffer = io.BytesIO()
    writer.write(buffer)
    content = buffer.getvalue()
    return content.replace(b"%PDF-1.3\n", b"%PDF-1.3\n%" + extra + b"\n", 1) if extra else content


def png_with_text(text: bytes) -> bytes:
    info = PngInfo()
    info.add_text("Comment", text.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def clamd_socket(tmp_path_factory):
    if CLAMD is None:
        pytest.skip("clamd is not installed (Debian's clamav-daemon: make clamav-deps)")
    base = tmp_path_factory.mktemp("clamd")
    database = base / "db"
    database.mkdir()
    import hashlib
    (database / "test.hdb").write_text(
        f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Ventanilla.Test.EICAR\n")  # noqa: S324
    (database / "test.ndb").write_text(f"Ventanilla.Test.Marker:0:*:{MARKER.hex()}\n")
    socket_path = base / "clamd.sock"
    config = base / "clamd.conf"
    config.write_text(
        "Foreground yes\n"
        f"LocalSocket {socket_path}\n"
        f"DatabaseDirectory {database}\n"
        f"TemporaryDirectory {base}\n"
        f"LogFile {base / 'clamd.log'}\n"
        f"PidFile {base / 'clamd.pid'}\n"
        "StreamMaxLength 20M\n"
    )
    started = time.monotonic()
    process = subprocess.Popen([CLAMD, "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() - started > START_TIMEOUT:
                log = (base / "clamd.log").read_text() if (base / "clamd.log").exists() else ""
                pytest.fail(f"clamd did not start: {log[-2000:]}")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        # Measured: about 0.1 s with this two-signature database.
        assert elapsed < 10, f"clamd took {elapsed:.1f}s to start"
        yield str(socket_path)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def scanning(settings, clamd_socket):
    settings.CLAMD_SOCKET = clamd_socket
    settings.CLAMD_HOST = ""
    settings.CLAMD_FAIL_OPEN = False
    return clamd_socket


def test_clamd_answers_ping_and_scans(scanning):
    assert antivirus.clamd_ping()
    assert antivirus.clamd_scan(b"hola") == antivirus.ScanResult(infected=False)
    result = antivirus.clamd_scan(EICAR)
    assert result.infected and "Ventanilla.Test.EICAR" in result.signature
    big = b"\x00" * (3 * antivirus.CHUNK_BYTES + 17) + MARKER  # several chunks
    assert antivirus.clamd_scan(big).infected


def test_clean_upload_passes(scanning):
    checked = check_upload(SimpleUploadedFile("carta.pdf", pdf_with()))
    assert checked.extension == "pdf"


@pytest.mark.parametrize(("name", "content"), [
    ("carta.pdf", pdf_with(MARKER)),
    ("foto.png", png_with_text(MARKER)),  # scanned as sent, before re-encoding
])
def test_infected_upload_is_refused_and_logged_without_personal_data(scanning, caplog, name,
                                                                     content):
    with caplog.at_level(logging.WARNING, logger="ventanilla.security"), \
            pytest.raises(ValidationError) as caught:
        check_upload(SimpleUploadedFile(name, content))
    assert caught.value.code == "file_infected"
    assert "contiene un virus" in caught.value.messages[0]
    record = next(r for r in caplog.records if r.getMessage() == "upload.infected")
    assert "Ventanilla.Test.Marker" in record.signature
    assert name not in str(record.__dict__)


@pytest.mark.django_db
def test_infected_file_in_the_portal_form_stores_nothing(client, scanning):
    catalog = make_catalog()
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    files = [SimpleUploadedFile("bien.pdf", pdf_with()),
             SimpleUploadedFile("mal.pdf", pdf_with(MARKER))]
    response = client.post(url, request_payload(catalog, attachments=files))
    assert response.status_code == 200
    assert "«mal.pdf» contiene un virus" in response.content.decode()
    assert Ticket.objects.count() == 0 and Attachment.objects.count() == 0


def test_unreachable_clamd_fails_closed_by_default(settings, tmp_path, caplog):
    settings.CLAMD_SOCKET = str(tmp_path / "no-existe.sock")
    settings.CLAMD_FAIL_OPEN = False
    with caplog.at_level(logging.ERROR, logger="ventanilla.security"), \
            pytest.raises(UploadUnavailable) as caught:
        check_upload(SimpleUploadedFile("carta.pdf", pdf_with()))
    assert caught.value.code == "scan_unavailable"
    assert "inténtelo nuevamente más tarde" in caught.value.messages[0]
    assert any(r.getMessage() == "upload.scan_unavailable" for r in caplog.records)


def test_unreachable_clamd_may_fail_open(settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "no-existe.sock")
    settings.CLAMD_FAIL_OPEN = True
    assert check_upload(SimpleUploadedFile("carta.pdf", pdf_with())).extension == "pdf"


def test_unreachable_tcp_clamd_fails_closed(settings):
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_HOST, settings.CLAMD_PORT, settings.CLAMD_TIMEOUT = "127.0.0.1", 9, 2
    with pytest.raises(UploadUnavailable):
        check_upload(SimpleUploadedFile("carta.pdf", pdf_with()))


@pytest.mark.django_db
def test_portal_form_with_clamd_down_says_try_later_and_stores_nothing(client, settings,
                                                                       tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "no-existe.sock")
    catalog = make_catalog()
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    data = request_payload(catalog, attachments=[SimpleUploadedFile("a.pdf", pdf_with())])
    response = client.post(url, data)
    assert response.status_code == 200
    assert "inténtelo nuevamente más tarde" in response.content.decode()
    assert Ticket.objects.count() == 0


def test_not_configured_means_no_scan(settings):
    settings.CLAMD_SOCKET = settings.CLAMD_HOST = ""
    assert not antivirus.clamd_configured()
    assert check_upload(SimpleUploadedFile("carta.pdf", pdf_with(MARKER))).extension == "pdf"
