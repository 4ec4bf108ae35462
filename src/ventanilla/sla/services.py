"""Deadline bookkeeping on tickets. (Being built: see issue 3.)"""

from __future__ import annotations

from datetime import datetime, timedelta


def sla_apply_on_open(*, ticket) -> None:
    """Choose the policy and store every stage's deadline on a new ticket (saves it)."""
    ticket.due_at = ticket.received_at + timedelta(hours=ticket.ticket_type.target_hours)
    ticket.next_due_at = ticket.due_at
    ticket.save(update_fields=["due_at", "next_due_at"])


def sla_stage_reached(*, ticket, stage: str, at: datetime) -> None:
    """Record that ``stage`` was answered at ``at`` and move the clock to the next stage."""


def sla_pause(*, ticket, at: datetime) -> None:
    """Stop the clock while the ticket waits on the citizen."""


def sla_resume(*, ticket, at: datetime) -> None:
    """Restart the clock; pending deadlines move by the paused (working) time."""
