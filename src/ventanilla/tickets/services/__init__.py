"""The only writers of tickets, their timeline and attachments (see ARCHITECTURE.md).

``intake`` opens tickets; ``lifecycle`` changes them afterwards. Import from here.
"""

from ventanilla.tickets.services.intake import TicketDraft, folio_allocate, ticket_open
from ventanilla.tickets.services.lifecycle import (
    ALLOWED_TRANSITIONS,
    interaction_record_tracking,
    ticket_add_citizen_message,
    ticket_add_note,
    ticket_change_area,
    ticket_change_status,
    ticket_reply,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "TicketDraft",
    "folio_allocate",
    "interaction_record_tracking",
    "ticket_add_citizen_message",
    "ticket_add_note",
    "ticket_change_area",
    "ticket_change_status",
    "ticket_open",
    "ticket_reply",
]
