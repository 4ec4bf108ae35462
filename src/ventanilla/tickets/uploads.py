"""Checks an uploaded file by its content before anything is stored.

The name a person gives a file is never trusted: the type comes from the first bytes (the
signatures of JPEG, PNG, WEBP, GIF and PDF), the extension must agree with it, and the
stored name is generated (see ``tickets.models.attachment_path``). Then:

- images are decoded with Pillow (refused above ``ATTACHMENT_MAX_IMAGE_PIXELS`` before any
  pixel is decoded) and **re-encoded**: EXIF (GPS position, camera, dates), XMP, comments
  and any bytes hidden after the image are dropped, the EXIF orientation is applied to the
  pixels, and an animated GIF/WEBP keeps only its first frame (evidence is a still image,
  and every extra frame is decode work an attacker controls). Only the colour profile is
  kept. What is stored is the re-encoded file, so a polyglot (an image that is also a
  script, a ZIP or an HTML page) loses its second life;
- PDFs must be parsable by pypdf, not encrypted, and free of active content: JavaScript,
  launch/submit/import actions, embedded files, XFA forms or rich media. An "open at this
  page" destination (what office suites write as /OpenAction) is allowed;
- when clamd is configured every file is scanned (``tickets.antivirus``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from ventanilla.tickets import antivirus

logger = logging.getLogger("ventanilla.security")

# Sniffed kind → (content type, accepted extensions; the first is the canonical one)
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", ("jpg", "jpeg")),
    "PNG": ("image/png", ("png",)),
    "WEBP": ("image/webp", ("webp",)),
    "GIF": ("image/gif", ("gif",)),
}
PDF_EXTENSIONS = ("pdf",)
ACCEPT_ATTRIBUTE = (
    ".jpg,.jpeg,.png,.webp,.gif,.pdf,image/jpeg,image/png,image/webp,image/gif,application/pdf"
)
# PDF names that only exist to run code, carry files or hide forms from the reader.
PDF_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/EF",
                             "/XFA", "/RichMedia", "/Launch"})
# Action types (/S) that run code, start programs or send data somewhere.
PDF_ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData",
                                "/GoToE", "/RichMediaExecute"})
PDF_MAX_OBJECTS = 200_000  # objects visited while looking for active content


class UploadUnavailable(ValidationError):
    """A temporary failure around an upload (storage full or failing, virus scanner down):
    nothing was stored and the same submission may be retried later. A ValidationError so
    that forms show it like any other, but callers that can (the API: 503) tell it apart."""

    def __init__(self, message=None, code="upload_unavailable", params=None):
        super().__init__(
            message or _("No pudimos guardar sus archivos por un problema técnico. Su "
                         "solicitud no se registró: inténtelo nuevamente en unos minutos."),
            code=code, params=params,
        )


@dataclass(frozen=True)
class CheckedUpload:
    original_name: str
    extension: str
    content_type: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def safe_display_name(name: str) -> str:
    """A file name fit for display and Content-Disposition: no path, no control or format
    characters (a right-to-left override would disguise ``gpj.exe`` as ``exe.jpg``)."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base)
                   if ch.isprintable() and unicodedata.category(ch) != "Cf")
    base = base.strip().strip(".").strip() or "archivo"
    if len(base) > 150:  # keep the extension, which is what people recognise
        stem, dot, suffix = base.rpartition(".")
        base = (stem[:149 - len(suffix)] + dot + suffix) if dot and len(suffix) <= 9 \
            else base[:150]
    return base


def _extension(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def sniff(content: bytes) -> str | None:
    """The kind announced by the file's signature: JPEG, PNG, WEBP, GIF, PDF or None."""
    if content.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "WEBP"
    if content.startswith(b"%PDF-"):
        return "PDF"
    return None


def check_upload(uploaded) -> CheckedUpload:
    """Validate one uploaded file; raise ValidationError with a message for the person.
    The returned content is what gets stored (images re-encoded)."""
    name = safe_display_name(getattr(uploaded, "name", ""))
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    size = getattr(uploaded, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(
            _("«%(name)s» pesa %(size)s; el máximo por archivo es %(max)s.")
            % {"name": name, "size": filesizeformat(size), "max": filesizeformat(max_bytes)},
            code="file_too_large",
        )
    uploaded.seek(0)
    content = uploaded.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ValidationError(
            _("«%(name)s» supera el máximo de %(max)s por archivo.")
            % {"name": name, "max": filesizeformat(max_bytes)},
            code="file_too_large",
        )
    if not content:
        raise ValidationError(_("«%(name)s» está vacío.") % {"name": name}, code="file_empty")

    kind = sniff(content)
    if kind is None:
        raise ValidationError(
            _("«%(name)s» no es una imagen (JPG, PNG, WEBP, GIF) ni un PDF válido.")
            % {"name": name},
            code="file_type",
        )
    content_type, extensions = (("application/pdf", PDF_EXTENSIONS) if kind == "PDF"
                                else IMAGE_FORMATS[kind])
    if _extension(name) not in extensions:
        raise ValidationError(
            _("El contenido de «%(name)s» no corresponde a su extensión: parece un archivo "
              "%(kind)s. Adjunte solo fotos (JPG, PNG, WEBP, GIF) o PDF.")
            % {"name": name, "kind": extensions[0].upper()},
            code="file_extension_mismatch",
        )
    if kind == "PDF":
        _check_pdf(content, name)
        stored = content
    else:
        stored = _reencode_image(content, kind, name)
    _scan(content, name)
    return CheckedUpload(
        original_name=name, extension=extensions[0], content_type=content_type,
        content=stored, sha256=hashlib.sha256(stored).hexdigest(),
    )


def _scan(content: bytes, name: str) -> None:
    """Refuse an infected file; with clamd down, refuse (default) or let it through."""
    if not antivirus.clamd_configured():
        return
    digest = hashlib.sha256(content).hexdigest()
    try:
        result = antivirus.clamd_scan(content)
    except antivirus.ClamdUnavailable as exc:
        # No personal data in the log: the file's hash, never its name or content.
        logger.error("upload.scan_unavailable", extra={"sha256": digest, "error": str(exc),
                                                       "fail_open": settings.CLAMD_FAIL_OPEN})
        if settings.CLAMD_FAIL_OPEN:
            return
        raise UploadUnavailable(
            _("No pudimos revisar «%(name)s» en busca de virus en este momento. No se guardó "
              "nada: inténtelo nuevamente más tarde.") % {"name": name},
            code="scan_unavailable",
        ) from None
    if result.infected:
        logger.warning("upload.infected", extra={"sha256": digest,
                                                 "signature": result.signature})
        raise ValidationError(
            _("«%(name)s» contiene un virus o software malicioso y no se aceptó. Revise su "
              "equipo con un antivirus y adjunte una copia limpia.") % {"name": name},
            code="file_infected",
        )


# --- images ----------------------------------------------------------------------------------

def _not_an_image(name: str) -> ValidationError:
    return ValidationError(
        _("«%(name)s» no es una imagen válida o está dañada.") % {"name": name},
        code="file_type",
    )


def _reencode_image(content: bytes, kind: str, name: str) -> bytes:
    try:
        with Image.open(io.BytesIO(content), formats=[kind]) as image:
            if image.format != kind:  # signature of one format, body of another
                raise _not_an_image(name)
            if image.width * image.height > settings.ATTACHMENT_MAX_IMAGE_PIXELS:
                raise ValidationError(
                    _("«%(name)s» tiene demasiados píxeles (%(width)d × %(height)d). Envíe "
                      "una foto de menor resolución.")
                    % {"name": name, "width": image.width, "height": image.height},
                    code="image_too_large",
                )
            icc_profile = image.info.get("icc_profile")
            transparency = image.info.get("transparency")
            image.seek(0)  # animations: the first frame only
            frame = ImageOps.exif_transpose(image)  # a copy with no EXIF left in .info
            return _encode(frame, kind, icc_profile=icc_profile, transparency=transparency)
    except ValidationError:
        raise
    except Image.DecompressionBombError:  # Pillow's own ceiling, above ours
        raise ValidationError(
            _("«%(name)s» tiene demasiados píxeles. Envíe una foto de menor resolución.")
            % {"name": name}, code="image_too_large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError,
            IndexError):
        raise _not_an_image(name) from None


def _encode(frame: Image.Image, kind: str, *, icc_profile, transparency) -> bytes:
    # Pillow writes some of ``info`` back by default (a JPEG comment, for one): start empty
    # and pass only what is kept on purpose.
    frame.info = {}
    out = io.BytesIO()
    options: dict = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if kind == "JPEG":
        if frame.mode not in ("RGB", "L", "CMYK"):
            frame = frame.convert("RGB")
        frame.save(out, "JPEG", quality=90, **options)
    elif kind == "PNG":
        if frame.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            frame = frame.convert("RGBA")
        if transparency is not None and frame.mode in ("P", "L", "RGB"):
            options["transparency"] = transparency
        frame.save(out, "PNG", **options)
    elif kind == "WEBP":
        if frame.mode not in ("RGB", "RGBA"):
            frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
        frame.save(out, "WEBP", quality=90, **options)
    else:  # GIF
        if frame.mode not in ("P", "L", "1"):
            frame = frame.convert("P")
        if transparency is not None and frame.mode == "P":
            options["transparency"] = transparency
        options.pop("icc_profile", None)
        frame.save(out, "GIF", **options)
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------

def _check_pdf(content: bytes, name: str) -> None:
    from pypdf import PdfReader

    unreadable = ValidationError(
        _("«%(name)s» no es un PDF válido o está dañado.") % {"name": name}, code="file_type")
    if b"%%EOF" not in content[-2048:]:  # truncated upload, or not a PDF at all
        raise ValidationError(
            _("«%(name)s» no es una imagen (JPG, PNG, WEBP, GIF) ni un PDF válido.")
            % {"name": name},
            code="file_type",
        )
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        encrypted = reader.is_encrypted
        root = None if encrypted else reader.trailer["/Root"].get_object()
    except Exception:
        raise unreadable from None
    if encrypted:
        raise ValidationError(
            _("«%(name)s» está protegido con contraseña o cifrado. Adjunte una copia sin "
              "protección.") % {"name": name},
            code="pdf_encrypted",
        )
    try:
        active = _pdf_active_content(root)
    except Exception:
        raise unreadable from None
    if active:
        logger.info("upload.pdf_active_content", extra={"pdf_feature": active})
        raise ValidationError(
            _("«%(name)s» contiene contenido activo (JavaScript, acciones automáticas, archivos "
              "incrustados o formularios XFA), que no aceptamos por seguridad. Ábralo, use "
              "«Imprimir» → «Guardar como PDF» y adjunte esa copia.") % {"name": name},
            code="pdf_active_content",
        )


def _pdf_active_content(root) -> str:
    """The first active feature found walking the document from its catalog, or ""."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    stack, seen, visited = [root], set(), 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            node = node.get_object()
        visited += 1
        if visited > PDF_MAX_OBJECTS:
            return "too_many_objects"
        if isinstance(node, DictionaryObject):
            for key in node:
                if key in PDF_ACTIVE_KEYS:
                    return str(key)
            action = node.get("/S")
            if action in PDF_ACTIVE_ACTIONS:
                return str(action)
            # (stream contents are not decoded: page drawings cannot run anything)
            stack.extend(node.values())
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return ""


def check_upload_list(files) -> list[CheckedUpload]:
    """Validate a whole list: the count limit first, then each file. Collects every error;
    a temporary failure (scanner unreachable) stops at once."""
    files = [f for f in files if f]
    max_files = settings.ATTACHMENT_MAX_FILES
    if len(files) > max_files:
        raise ValidationError(
            _("Puede adjuntar hasta %(max)d archivos; seleccionó %(count)d.")
            % {"max": max_files, "count": len(files)},
            code="too_many_files",
        )
    checked, errors = [], []
    for uploaded in files:
        try:
            checked.append(check_upload(uploaded))
        except UploadUnavailable:
            raise
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    return checked
