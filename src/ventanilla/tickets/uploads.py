"""Checks an uploaded file by its content before anything is stored.

The name a person gives a file is never trusted: the type comes from the bytes (images
are decoded with Pillow, PDFs must carry their header and end marker), the extension
must agree with it, and the stored name is generated (see ``attachment_path``).
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

# Pillow format → (content type, accepted extensions; the first is the canonical one)
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
    """A file name fit for display and Content-Disposition: no path, no control chars."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if ch.isprintable())
    base = base.strip().strip(".") or "archivo"
    return base[-150:]


def _extension(name: str) -> str:
    suffix = PurePath(name).suffix.lower().lstrip(".")
    return suffix


def check_upload(uploaded) -> CheckedUpload:
    """Validate one uploaded file; raise ValidationError with a message for the person."""
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

    extension = _extension(name)
    detected = _detect(content)
    if detected is None:
        raise ValidationError(
            _("«%(name)s» no es una imagen (JPG, PNG, WEBP, GIF) ni un PDF válido.")
            % {"name": name},
            code="file_type",
        )
    content_type, extensions = detected
    if extension not in extensions:
        raise ValidationError(
            _("El contenido de «%(name)s» no corresponde a su extensión: parece un archivo "
              "%(kind)s. Adjunte solo fotos (JPG, PNG, WEBP, GIF) o PDF.")
            % {"name": name, "kind": extensions[0].upper()},
            code="file_extension_mismatch",
        )
    return CheckedUpload(
        original_name=name, extension=extensions[0], content_type=content_type, content=content,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _detect(content: bytes) -> tuple[str, tuple[str, ...]] | None:
    if content.startswith(b"%PDF-"):
        # A truncated or fake PDF lacks the end-of-file marker near its end.
        return ("application/pdf", PDF_EXTENSIONS) if b"%%EOF" in content[-2048:] else None
    try:
        with Image.open(io.BytesIO(content)) as image:
            image_format = image.format
            image.verify()  # checks the structure without decoding every pixel
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return IMAGE_FORMATS.get(image_format or "")


def check_upload_list(files) -> list[CheckedUpload]:
    """Validate a whole list: the count limit first, then each file. Collects every error."""
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
        except ValidationError as exc:
            errors.extend(exc.error_list)
    if errors:
        raise ValidationError(errors)
    return checked
