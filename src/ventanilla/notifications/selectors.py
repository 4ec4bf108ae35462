"""Reads of the outbox for the staff console."""

from __future__ import annotations

from django.db.models import QuerySet

from ventanilla.notifications.models import OutboundMessage

ERROR_PREVIEW = 160  # characters of the last error shown in the console


def outbound_for_ticket(ticket) -> QuerySet[OutboundMessage]:
    """The ticket's outbound messages, oldest first, in one query and without their bodies.

    For staff who may view the ticket (the caller has checked it): recipients are the
    citizen's or the team's addresses.
    """
    return (OutboundMessage.objects.filter(ticket_id=ticket.pk)
            .only("pk", "ticket_id", "channel", "recipient", "subject", "status", "attempts",
                  "last_error", "created_at", "next_attempt_at", "sent_at", "cancel_reason",
                  "delivery_status", "delivery_updated_at", "delivery_error")
            .order_by("created_at", "pk"))
