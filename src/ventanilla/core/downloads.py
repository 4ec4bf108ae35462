"""A file the server has just generated (a CSV or XLSX export, a person's data ZIP) goes back
as a download for the person who asked only: saved, never shown inline, never sniffed into
another type, never kept by a shared cache."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import content_disposition_header


def download_response(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    return HttpResponse(content, content_type=content_type, headers={
        "Content-Disposition": content_disposition_header(True, filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    })
