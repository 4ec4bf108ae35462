"""The only writers of tickets, their timeline and attachments (see ARCHITECTURE.md).

``intake`` opens tickets; ``lifecycle`` changes them afterwards. Import from here.
"""

from ventanilla.tickets.services.answers import (
    answer_draft,
    answer_review,
    answer_send,
    answer_submit,
    ticket_set_root_cause,
)
from ventanilla.tickets.services.assisted import interaction_record_attended  # noqa: F401
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
from ventanilla.tickets.services.links import ticket_link, ticket_merge, ticket_split

__all__ = [
    "ALLOWED_TRANSITIONS",
    "TicketDraft",
    "answer_draft",
    "answer_review",
    "answer_send",
    "answer_submit",
    "folio_allocate",
    "interaction_record_tracking",
    "ticket_add_citizen_message",
    "ticket_add_note",
    "ticket_change_area",
    "ticket_change_status",
    "ticket_link",
    "ticket_merge",
    "ticket_open",
    "ticket_reply",
    "ticket_set_root_cause",
    "ticket_split",
]
