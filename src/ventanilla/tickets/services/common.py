"""Helpers shared by the ticket services (not use cases themselves)."""

from __future__ import annotations

import logging

from django.core.files.base import ContentFile

from ventanilla.tickets.models import Attachment, Ticket, TicketEvent
from ventanilla.tickets.uploads import CheckedUpload, UploadUnavailable

logger = logging.getLogger("ventanilla.tickets")


def store_attachments(
    ticket: Ticket, event: TicketEvent | None, uploads: list[CheckedUpload]
) -> None:
    """Write each file, then its row. If the storage fails (disk full, object store down)
    the files this call already wrote are deleted and ``UploadUnavailable`` is raised: the
    caller's transaction rolls back, so no ticket or message is left half-stored, and the
    person can send the same form again (its idempotency key was never used)."""
    written: list[str] = []
    storage = Attachment._meta.get_field("file").storage
    for upload in uploads:
        attachment = Attachment(
            ticket=ticket, event=event, original_name=upload.original_name,
            extension=upload.extension, content_type=upload.content_type, size=upload.size,
            sha256=upload.sha256,
        )
        try:
            # The storage writes the file before the row is inserted; if the transaction
            # then rolls back for another reason, an orphan file may remain, never a row
            # without its file.
            attachment.file.save(f"upload.{upload.extension}", ContentFile(upload.content),
                                 save=False)
        except Exception as exc:
            delete_stored_files(storage, written)
            logger.error("attachment.storage_failed", extra={
                "ticket_id": ticket.pk, "error": exc.__class__.__name__,
                "errno": getattr(exc, "errno", None)})
            raise UploadUnavailable() from exc
        written.append(attachment.file.name)
        attachment.save()


def delete_stored_files(storage, names: list[str]) -> None:
    """Best-effort removal of files written by a write that is failing."""
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # the storage is failing already; the orphan sweep can retry
            logger.warning("attachment.cleanup_failed", extra={"file": name})


def locked_ticket(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)
