"""How a stored upload goes back to a browser (attachments, paper pages).

Files are never served from a URL of their own (MEDIA_URL is not routed): permission-checked
views open them and answer through ``attachment_response``. By default the browser must
download the file (``Content-Disposition: attachment``). Images may be shown inline, and
then only with ``nosniff`` (the declared type is the one checked at upload) and a
``sandbox`` policy, so that even a file that somehow holds markup runs with no origin, no
scripts and no forms.
"""

from __future__ import annotations

from django.http import FileResponse

from ventanilla.tickets.uploads import IMAGE_FORMATS, safe_display_name

INLINE_TYPES = frozenset(content_type for content_type, _ext in IMAGE_FORMATS.values())
SERVED_TYPES = INLINE_TYPES | {"application/pdf"}
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def attachment_response(handle, *, filename: str, content_type: str,
                        inline: bool = False) -> FileResponse:
    """A FileResponse for a stored upload. ``inline`` is honoured for images only."""
    if content_type not in SERVED_TYPES:
        content_type = "application/octet-stream"
    response = FileResponse(
        handle, as_attachment=not (inline and content_type in INLINE_TYPES),
        filename=safe_display_name(filename), content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_POLICY
    response["Cache-Control"] = "private, no-store"
    return response
