"""Routing on entry, triage and assignment. (Being built: see issue 3.)"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoutingDecision:
    area: object | None  # catalog.Area
    priority: str = ""
    rule: object | None = None  # routing.RoutingRule


def routing_decide(*, draft) -> RoutingDecision | None:
    """The first active rule of the draft's institution whose conditions all hold, or None
    (then the topic's default area applies)."""
    return None
