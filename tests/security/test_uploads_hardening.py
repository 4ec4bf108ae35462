"""Uploads: type by signature, re-encoded images, checked PDFs, untrusted names, and how the
files are served back (issue 8, abuse)."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import Resolver404, resolve, reverse
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

from tests.factories import make_catalog, open_ticket
from ventanilla.tickets.models import Attachment
from ventanilla.tickets.services.common import store_attachments
from ventanilla.tickets.uploads import check_upload, check_upload_list, safe_display_name, sniff


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def image_bytes(fmt: str, size=(8, 6), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color=(10, 120, 200) if mode == "RGB" else 1).save(
        buffer, fmt, **save)
    return buffer.getvalue()


def pdf_bytes(configure=None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if configure:
        configure(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def error_of(uploaded) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check_upload(uploaded)
    return caught.value


# --- type by signature -------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "kind"), [
    (b"\xff\xd8\xff\xe0rest", "JPEG"), (b"\x89PNG\r\n\x1a\nrest", "PNG"),
    (b"GIF89a....", "GIF"), (b"GIF87a....", "GIF"), (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "WEBP"),
    (b"%PDF-1.7\n", "PDF"), (b"<html><script>", None), (b"PK\x03\x04", None),
    (b"MZ\x90\x00", None), (b"RIFF\x10\x00\x00\x00AVI ", None), (b"", None),
])
def test_sniff_reads_the_signature(content, kind):
    assert sniff(content) == kind


def test_png_signature_with_a_jpeg_body_is_refused():
    # A PNG signature glued on another format's body: the decoder must agree with the bytes.
    forged = b"\x89PNG\r\n\x1a\n" + image_bytes("JPEG")[3:]
    assert error_of(upload("foto.png", forged)).code == "file_type"


def test_html_named_as_image_is_refused_with_a_clear_message():
    error = error_of(upload("foto.jpg", b"<html><script>alert(1)</script></html>"))
    assert error.code == "file_type"
    assert "no es una imagen (JPG, PNG, WEBP, GIF) ni un PDF válido" in error.messages[0]


def test_jpeg_named_png_is_a_mismatch():
    error = error_of(upload("foto.png", image_bytes("JPEG")))
    assert error.code == "file_extension_mismatch"
    assert "parece un archivo JPG" in error.messages[0]


def test_truncated_image_is_refused():
    content = image_bytes("PNG", size=(200, 200))
    assert error_of(upload("foto.png", content[: len(content) // 2])).code == "file_type"


# --- images are re-encoded ---------------------------------------------------------------------

def _jpeg_with_gps_and_orientation() -> bytes:
    image = Image.new("RGB", (40, 20), color=(200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "CámaraSecreta"  # make
    exif[0x8825] = {1: "S", 2: (33.0, 26.0, 0.0), 3: "W", 4: (70.0, 39.0, 0.0)}  # GPS
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=b"secreto-en-comentario")
    return buffer.getvalue()


def test_jpeg_loses_exif_gps_and_comments_and_keeps_its_orientation():
    original = _jpeg_with_gps_and_orientation()
    assert b"Exif" in original and b"secreto-en-comentario" in original
    checked = check_upload(upload("foto.jpg", original))
    assert b"Exif" not in checked.content
    assert b"secreto-en-comentario" not in checked.content
    with Image.open(io.BytesIO(checked.content)) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (20, 40)  # the rotation was applied to the pixels
        assert not stored.getexif()
    assert checked.size == len(checked.content)


def test_png_text_chunks_are_dropped():
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text("Author", "Juana Soto 12.345.678-5")
    original = image_bytes("PNG", pnginfo=info)
    assert b"Juana Soto" in original
    checked = check_upload(upload("captura.png", original))
    assert b"Juana Soto" not in checked.content
    assert Image.open(io.BytesIO(checked.content)).size == (8, 6)


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "a.png"), ("JPEG", "a.jpg"),
                                           ("GIF", "a.gif"), ("WEBP", "a.webp")])
def test_bytes_hidden_after_the_image_are_not_stored(fmt, name):
    payload = b"PK\x03\x04<html><script>alert(document.domain)</script>"
    checked = check_upload(upload(name, image_bytes(fmt) + payload))
    assert b"<script>" not in checked.content and b"PK\x03\x04" not in checked.content
    assert Image.open(io.BytesIO(checked.content)).format == fmt


def test_animated_gif_keeps_only_its_first_frame():
    frames = [Image.new("P", (10, 10), color=index) for index in range(5)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    checked = check_upload(upload("anim.gif", buffer.getvalue()))
    with Image.open(io.BytesIO(checked.content)) as stored:
        assert getattr(stored, "n_frames", 1) == 1


def test_too_many_pixels_is_refused_before_decoding(settings):
    settings.ATTACHMENT_MAX_IMAGE_PIXELS = 100
    error = error_of(upload("grande.png", image_bytes("PNG", size=(20, 20))))
    assert error.code == "image_too_large"
    assert "20 × 20" in error.messages[0]


def test_decompression_bomb_header_is_refused_with_a_clear_message():
    # A tiny file whose header claims 60000 x 60000 pixels (3.6 Gpx): IHDR rewritten.
    small = image_bytes("PNG", size=(8, 8))
    header = b"IHDR" + struct.pack(">II", 60000, 60000) + small[24:29]
    bomb = small[:12] + header + struct.pack(">I", zlib.crc32(header)) + small[33:]
    error = error_of(upload("bomba.png", bomb))
    assert error.code == "image_too_large"
    assert "demasiados píxeles" in error.messages[0]


# --- PDFs --------------------------------------------------------------------------------------

def test_plain_pdf_is_accepted_unchanged():
    content = pdf_bytes()
    checked = check_upload(upload("Carta.PDF", content))
    assert (checked.content_type, checked.extension, checked.content) == (
        "application/pdf", "pdf", content)


def test_pdf_opening_at_a_page_is_accepted():
    def open_at_first_page(writer):
        page = writer.pages[0].indirect_reference
        writer._root_object[NameObject("/OpenAction")] = ArrayObject(
            [page, NameObject("/Fit")])
    assert check_upload(upload("a.pdf", pdf_bytes(open_at_first_page))).extension == "pdf"


def _action(kind: str, **extra) -> DictionaryObject:
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"),
                               NameObject("/S"): NameObject(kind)})
    action.update({NameObject(key): value for key, value in extra.items()})
    return action


def _open_action(action):
    def configure(writer):
        writer._root_object[NameObject("/OpenAction")] = action
    return configure


@pytest.mark.parametrize("configure", [
    pytest.param(_open_action(_action("/JavaScript", **{"/JS": TextStringObject("app.alert(1)")})),
                 id="javascript-open-action"),
    pytest.param(_open_action(_action("/Launch", **{"/F": TextStringObject("cmd.exe")})),
                 id="launch"),
    pytest.param(_open_action(_action("/SubmitForm")), id="submit-form"),
    pytest.param(lambda writer: writer._root_object.__setitem__(
        NameObject("/Names"), DictionaryObject({NameObject("/JavaScript"): DictionaryObject({
            NameObject("/Names"): ArrayObject([TextStringObject("x"), _action("/JavaScript")]),
        })})), id="names-javascript"),
    pytest.param(lambda writer: writer.add_attachment("virus.exe", b"MZ\x90\x00"),
                 id="embedded-file"),
    pytest.param(lambda writer: writer._root_object.__setitem__(
        NameObject("/AcroForm"), DictionaryObject({NameObject("/XFA"): ArrayObject()})),
        id="xfa"),
    pytest.param(lambda writer: writer.pages[0].__setitem__(
        NameObject("/AA"), DictionaryObject({NameObject("/O"): _action("/JavaScript")})),
        id="page-open-javascript"),
])
def test_pdf_with_active_content_is_refused(configure):
    error = error_of(upload("formulario.pdf", pdf_bytes(configure)))
    assert error.code == "pdf_active_content"
    assert "contenido activo" in error.messages[0]
    assert "Guardar como PDF" in error.messages[0]


def test_pdf_names_written_with_hex_escapes_are_still_found():
    content = pdf_bytes(_open_action(_action("/JavaScript")))
    disguised = content.replace(b"/JavaScript", b"/J#61vaScript")
    assert b"/JavaScript" not in disguised
    assert error_of(upload("a.pdf", disguised)).code in ("pdf_active_content", "file_type")


def test_encrypted_pdf_is_refused():
    def encrypt(writer):
        writer.encrypt(user_password="clave", owner_password="dueño", algorithm="RC4-128")
    error = error_of(upload("protegido.pdf", pdf_bytes(encrypt)))
    assert error.code == "pdf_encrypted"
    assert "contraseña" in error.messages[0]


@pytest.mark.parametrize("content", [
    b"%PDF-1.4\nnada que ver\n%%EOF\n",  # no structure at all
    b"%PDF-1.4\n" + b"\x00" * 500,  # no end marker (truncated)
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\nstartxref\n999999\n%%EOF\n",  # broken xref
])
def test_unparsable_pdf_is_refused(content):
    error = error_of(upload("roto.pdf", content))
    assert error.code == "file_type"
    assert "PDF válido" in error.messages[0]


# --- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\boot.ini\\foto.png", "foto.png"),
    ("foto\r\nContent-Type: text.png", "fotoContent-Type: text.png"),
    ("foto\x00.php.png", "foto.php.png"),
    ("\u202egnp.exe", "gnp.exe"),
    ("factura\u202efdp.exe", "facturafdp.exe"),
    ("  .  ", "archivo"),
])
def test_untrusted_names_are_neutralised(raw, expected):
    name = safe_display_name(raw)
    assert name == expected
    assert "/" not in name and "\\" not in name and "\u202e" not in name
    assert all(ch.isprintable() for ch in name)


def test_right_to_left_override_cannot_disguise_an_executable_as_an_image():
    # "\u202egnp.exe" displays as "exe.png"; the real extension is .exe.
    error = error_of(upload("\u202egnp.exe", image_bytes("PNG")))
    assert error.code == "file_extension_mismatch"
    assert "\u202e" not in error.messages[0]


def test_very_long_name_is_cut_and_keeps_its_extension():
    checked = check_upload(upload("á" * 1000 + ".png", image_bytes("PNG")))
    assert len(checked.original_name) == 150
    assert checked.original_name.endswith(".png")


# --- limits ------------------------------------------------------------------------------------

def test_count_and_size_limits(settings):
    settings.ATTACHMENT_MAX_FILES = 2
    settings.ATTACHMENT_MAX_BYTES = 2000
    files = [upload(f"{n}.png", image_bytes("PNG")) for n in range(3)]
    with pytest.raises(ValidationError) as caught:
        check_upload_list(files)
    assert caught.value.error_list[0].code == "too_many_files"
    big = upload("grande.png", image_bytes("PNG", size=(300, 300)) + b"\x00" * 3000)
    assert error_of(big).code == "file_too_large"


@pytest.mark.django_db
def test_portal_form_refuses_a_sixth_file(client):
    catalog = make_catalog()
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    from tests.portal.helpers import request_payload
    files = [upload(f"{n}.png", image_bytes("PNG"), "image/png") for n in range(6)]
    response = client.post(url, request_payload(catalog, attachments=files))
    assert response.status_code == 200
    assert "Puede adjuntar hasta 5 archivos" in response.content.decode()


# --- storage and serving -----------------------------------------------------------------------

def test_media_is_not_routed_and_not_under_static():
    with pytest.raises(Resolver404):
        resolve(settings.MEDIA_URL + "attachments/1/2026/01/x.png")
    media, static = settings.MEDIA_ROOT.resolve(), settings.STATIC_ROOT.resolve()
    assert static not in media.parents and media != static


@pytest.mark.django_db
def test_stored_name_is_generated_and_inside_media_root():
    catalog = make_catalog()
    ticket = open_ticket(catalog)
    checked = check_upload(upload("../../../etc/cron.d/x.png", image_bytes("PNG")))
    store_attachments(ticket, None, [checked])
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.original_name == "x.png"
    assert ".." not in attachment.file.name and "cron" not in attachment.file.name
    path = (settings.MEDIA_ROOT / attachment.file.name).resolve()
    assert settings.MEDIA_ROOT.resolve() in path.parents
    assert path.read_bytes() == checked.content


@pytest.mark.django_db
@pytest.mark.parametrize(("inline", "content_type", "disposition"), [
    (False, "image/png", "attachment"),
    (True, "image/png", "inline"),
    (True, "application/pdf", "attachment"),  # PDFs are never shown inline
    (True, "text/html", "attachment"),
])
def test_attachment_response_headers(tmp_path, inline, content_type, disposition):
    from ventanilla.tickets.serving import attachment_response
    path = tmp_path / "f"
    path.write_bytes(b"x")
    response = attachment_response(path.open("rb"), filename="\u202eevil\r\n.png",
                                   content_type=content_type, inline=inline)
    assert response["Content-Disposition"].startswith(disposition)
    assert "\r" not in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Type"] in ("image/png", "application/pdf",
                                        "application/octet-stream")
    response.close()


@pytest.mark.django_db
def test_portal_download_is_an_attachment_with_sandbox(client):
    from tests.portal.helpers import request_payload
    catalog = make_catalog()
    url = reverse("portal:request-new", kwargs={"institution_slug": catalog["institution"].slug})
    png = upload("foto.png", image_bytes("PNG"), "image/png")
    assert client.post(url, request_payload(catalog, attachments=[png])).status_code == 302
    attachment = Attachment.objects.get()
    response = client.get(reverse("portal:track-attachment",
                                  args=[attachment.ticket.folio, attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert b"".join(response.streaming_content) == attachment.file.open("rb").read()
