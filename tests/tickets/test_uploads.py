import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from tests.tickets.helpers import PDF_BYTES, image_bytes, upload
from ventanilla.tickets.uploads import (
    ACCEPT_ATTRIBUTE,
    check_upload,
    check_upload_list,
    safe_display_name,
)

ELF_BYTES = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


@pytest.mark.parametrize(("fmt", "name", "content_type", "extension"), [
    ("JPEG", "foto.jpg", "image/jpeg", "jpg"),
    ("JPEG", "foto.JPEG", "image/jpeg", "jpg"),
    ("JPEG", "foto.jpeg", "image/jpeg", "jpg"),
    ("PNG", "captura.PNG", "image/png", "png"),
    ("WEBP", "imagen.webp", "image/webp", "webp"),
    ("GIF", "anima.gif", "image/gif", "gif"),
])
def test_images_accepted_with_canonical_extension(fmt, name, content_type, extension):
    content = image_bytes(fmt)
    checked = check_upload(upload(name, content, content_type="text/plain"))
    assert checked.content_type == content_type  # from the bytes, not the browser's claim
    assert checked.extension == extension
    assert checked.original_name == name
    # Images are re-encoded (metadata stripped); what is stored is a valid image of the
    # same format and size, and its hash is the stored content's.
    with Image.open(io.BytesIO(checked.content)) as stored:
        assert stored.format == fmt and stored.size == (4, 4)
    assert checked.size == len(checked.content)
    assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()


def test_pdf_accepted():
    checked = check_upload(upload("Carta.PDF", PDF_BYTES, content_type="image/png"))
    assert checked.content_type == "application/pdf"
    assert checked.extension == "pdf"


def _error(uploaded) -> ValidationError:
    with pytest.raises(ValidationError) as exc_info:
        check_upload(uploaded)
    return exc_info.value


@pytest.mark.parametrize("content", [ELF_BYTES, WINDOWS_EXE, b"#!/bin/sh\nrm -rf /\n"])
def test_executable_renamed_jpg_rejected(content):
    error = _error(upload("foto.jpg", content, content_type="image/jpeg"))
    assert error.code == "file_type"
    assert "no es una imagen" in error.messages[0]
    assert "foto.jpg" in error.messages[0]


def test_png_renamed_pdf_rejected():
    error = _error(upload("documento.pdf", image_bytes("PNG")))
    assert error.code == "file_extension_mismatch"
    assert "no corresponde a su extensión" in error.messages[0]
    assert "PNG" in error.messages[0]


def test_pdf_renamed_png_rejected():
    error = _error(upload("foto.png", PDF_BYTES))
    assert error.code == "file_extension_mismatch"
    assert "PDF" in error.messages[0]


def test_jpeg_renamed_png_rejected():
    error = _error(upload("foto.png", image_bytes("JPEG")))
    assert error.code == "file_extension_mismatch"


def test_file_without_extension_rejected():
    error = _error(upload("foto", image_bytes("PNG")))
    assert error.code == "file_extension_mismatch"


def test_truncated_pdf_rejected():
    truncated = PDF_BYTES.replace(b"%%EOF", b"")
    error = _error(upload("carta.pdf", truncated))
    assert error.code == "file_type"


def test_truncated_image_rejected():
    content = image_bytes("PNG", size=(64, 64))
    error = _error(upload("foto.png", content[: len(content) // 2]))
    assert error.code == "file_type"


def test_empty_file_rejected():
    error = _error(upload("vacio.pdf", b""))
    assert error.code == "file_empty"
    assert "está vacío" in error.messages[0]


def test_file_over_the_limit_rejected(settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    content = PDF_BYTES + b"0" * 1000
    error = _error(upload("grande.pdf", content))
    assert error.code == "file_too_large"
    assert "máximo" in error.messages[0]


def test_file_over_the_limit_with_lying_size_rejected(settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    uploaded = upload("grande.pdf", PDF_BYTES + b"0" * 1000)
    uploaded.size = 10  # a size attribute that lies; the bytes read decide
    error = _error(uploaded)
    assert error.code == "file_too_large"


def test_file_exactly_at_the_limit_accepted(settings):
    content = PDF_BYTES
    settings.ATTACHMENT_MAX_BYTES = len(content)
    assert check_upload(upload("justo.pdf", content)).size == len(content)


def test_more_than_five_files_rejected():
    files = [upload(f"f{i}.pdf", PDF_BYTES) for i in range(6)]
    with pytest.raises(ValidationError) as exc_info:
        check_upload_list(files)
    assert exc_info.value.error_list[0].code == "too_many_files"
    assert "hasta 5 archivos" in exc_info.value.messages[0]
    assert len(check_upload_list(files[:5])) == 5


def test_empty_entries_are_ignored():
    assert check_upload_list([None, upload("a.pdf", PDF_BYTES), None])[0].extension == "pdf"
    assert check_upload_list([]) == []


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\windows\\system32\\foto.jpg", "foto.jpg"),
    ("/abs/path/carta.pdf", "carta.pdf"),
    ("nombre\x00con\x1fcontrol.pdf", "nombreconcontrol.pdf"),
    ("..", "archivo"),
    ("", "archivo"),
    (None, "archivo"),
    ("Cotización año 2026.pdf", "Cotización año 2026.pdf"),
])
def test_safe_display_name(raw, expected):
    assert safe_display_name(raw) == expected


def test_long_names_are_cut_keeping_the_extension():
    name = safe_display_name("a" * 400 + ".pdf")
    assert len(name) == 150
    assert name.endswith(".pdf")


def test_path_traversal_name_is_reduced_to_its_base():
    checked = check_upload(upload("../../etc/passwd.png", image_bytes("PNG")))
    assert checked.original_name == "passwd.png"
    assert "/" not in checked.original_name


def test_list_collects_errors_from_several_files():
    files = [
        upload("bien.png", image_bytes("PNG")),
        upload("malo.jpg", ELF_BYTES),
        upload("vacio.pdf", b""),
        upload("cambiado.pdf", image_bytes("GIF")),
    ]
    with pytest.raises(ValidationError) as exc_info:
        check_upload_list(files)
    codes = [error.code for error in exc_info.value.error_list]
    assert codes == ["file_type", "file_empty", "file_extension_mismatch"]
    messages = exc_info.value.messages
    assert any("malo.jpg" in m for m in messages)
    assert any("vacio.pdf" in m for m in messages)
    assert any("cambiado.pdf" in m for m in messages)


def test_accept_attribute_lists_every_accepted_type():
    for token in (".jpg", ".jpeg", ".png", ".webp", ".gif", ".pdf", "application/pdf"):
        assert token in ACCEPT_ATTRIBUTE.split(",")
