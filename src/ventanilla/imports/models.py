"""Bulk import of historical tickets (issue 7)."""
