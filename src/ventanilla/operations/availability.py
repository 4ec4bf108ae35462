"""Availability arithmetic over probe records: pure functions, no database.

The rules (the tender asks for 99 % a month, at most 12 outages a year, none over 4 h):

- A successful probe vouches for the service from its time until the next probe, but for
  ``valid_for`` seconds at most (3 probe intervals by default). Beyond that the time is
  **unknown**: the worker that probes was not running, which is no evidence that the
  service was up.
- A failing probe starts an **outage** that lasts until a probe succeeds again. Silence
  after a failure does not end it: the service was last seen down, so it counts as down
  (the conservative reading for the 4-hour limit).
- Planned maintenance windows are taken out of everything: neither up, down nor unknown,
  and an outage (or the part of it) inside a window does not count.
- The monthly availability is up ÷ (elapsed - maintenance): unknown time counts against it.
  The share of the *observed* time that was up is reported too, and the unknown time apart.
- An outage belongs to the year and month it started in for the counts; the minutes it
  spends in each month count in that month's availability.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Probe:
    at: datetime
    ok: bool
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outage:
    start: datetime
    end: datetime
    causes: tuple[str, ...]
    ongoing: bool = False  # no successful probe yet: ``end`` is "now"

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def outages_from(probes: Sequence[Probe], *, until: datetime) -> list[Outage]:
    """Maximal runs of failing probes, each ending at the next successful probe (or
    ``until`` while none has succeeded). ``probes`` sorted by time; only the failing ones
    and the first success after each run matter."""
    outages: list[Outage] = []
    start: datetime | None = None
    causes: list[str] = []
    for probe in probes:
        if probe.at >= until:
            break
        if not probe.ok:
            if start is None:
                start, causes = probe.at, []
            causes.extend(cause for cause in probe.failed if cause not in causes)
        elif start is not None:
            outages.append(Outage(start, probe.at, tuple(causes)))
            start = None
    if start is not None and start < until:
        outages.append(Outage(start, until, tuple(causes), ongoing=True))
    return outages


def up_intervals(probes: Sequence[Probe], *, valid_for: timedelta,
                 until: datetime) -> list[Interval]:
    """The time each successful probe vouches for (see the module's rules)."""
    intervals: list[Interval] = []
    for index, probe in enumerate(probes):
        if not probe.ok or probe.at >= until:
            continue
        end = probe.at + valid_for
        if index + 1 < len(probes):
            end = min(end, probes[index + 1].at)
        end = min(end, until)
        if end > probe.at:
            intervals.append((probe.at, end))
    return merge(intervals)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if s < end and e > start]


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    holes = merge(holes)
    result: list[Interval] = []
    for start, end in merge(intervals):
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def total(intervals: Iterable[Interval]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta())


def outages_outside(outages: Iterable[Outage], maintenance: Iterable[Interval]) -> list[Outage]:
    """The outages without the parts inside planned maintenance (a window in the middle
    of one leaves two)."""
    maintenance = merge(maintenance)
    pieces: list[Outage] = []
    for outage in outages:
        parts = subtract([(outage.start, outage.end)], maintenance)
        for index, (start, end) in enumerate(parts):
            pieces.append(Outage(start, end, outage.causes,
                                 ongoing=outage.ongoing and index == len(parts) - 1
                                 and end == outage.end))
    return pieces


def gaps(covered: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of [start, end) that no interval of ``covered`` touches."""
    return subtract([(start, end)], covered)
