"""Helpers shared by the ticket services (not use cases themselves)."""

from __future__ import annotations

from django.core.files.base import ContentFile

from ventanilla.tickets.models import Attachment, Ticket, TicketEvent
from ventanilla.tickets.uploads import CheckedUpload


def store_attachments(
    ticket: Ticket, event: TicketEvent | None, uploads: list[CheckedUpload]
) -> None:
    for upload in uploads:
        attachment = Attachment(
            ticket=ticket, event=event, original_name=upload.original_name,
            extension=upload.extension, content_type=upload.content_type, size=upload.size,
            sha256=upload.sha256,
        )
        # The storage writes the file before the row is inserted; if the transaction then
        # rolls back, an orphan file may remain, never a row without its file.
        attachment.file.save(f"upload.{upload.extension}", ContentFile(upload.content), save=False)
        attachment.save()


def locked_ticket(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)
