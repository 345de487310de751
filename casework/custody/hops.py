"""Hop times of a case's 代办 route for the KPIs (trips, days held at the village, transit times)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from casework.calendar import WorkingCalendar
from casework.events import CaseEvent

from .anomalies import working_age
from .common import Direction, local_day
from .handover import custody_from_events, pair_custody

# --- hop times for the KPIs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One carried leg: dispatched, and (when matched) received; times in minutes and working days."""

    manifest_id: str
    from_station: str
    to_station: str
    direction: Direction
    dispatched_at: dt.datetime
    received_at: dt.datetime | None
    minutes: int | None
    working_days: int | None


@dataclass(frozen=True)
class RouteTimes:
    """A case's 代办 route for the KPIs: hops, agent trips, days held at the village, transit days."""

    case_id: str
    hops: tuple[Hop, ...]
    agent_trips: int
    village_hold_days: int | None
    transit_working_days: int | None  # sum over received hops; None when a calendar year is missing

    @property
    def carried_by_agent(self) -> bool:
        return self.agent_trips > 0


def route_times(case_id: str, events: Sequence[CaseEvent], calendar: WorkingCalendar) -> RouteTimes:
    """Hop times of one case from every station's events (dispatches paired with their receipts)."""
    dispatches, receipts = custody_from_events(
        replace(e, extra={**e.extra, "case_id": case_id}) for e in events
    )
    hops: list[Hop] = []
    for record in pair_custody(dispatches, receipts):
        d, r = record.dispatch, record.matched_receipt
        if d is None:
            continue
        minutes = None if r is None else int((r.at - d.at).total_seconds() // 60)
        days = None if r is None else working_age(calendar, local_day(d.at), local_day(r.at))[0]
        hops.append(
            Hop(
                d.manifest_id,
                d.from_station,
                d.to_station,
                d.direction,
                d.at,
                None if r is None else r.at,
                minutes,
                days,
            )
        )
    hops.sort(key=lambda h: h.dispatched_at)
    first_up = next((h for h in hops if h.direction is Direction.UP), None)
    hold = None
    for e in events:
        if e.type == "received" and e.payload.get("to") == "village_received" and first_up is not None:
            start = local_day(e.payload.get("received_on") or e.at)
            hold = working_age(calendar, start, local_day(first_up.dispatched_at))[0]
            break
    hop_days = [h.working_days for h in hops if h.received_at is not None]
    transit = None if None in hop_days else sum(d for d in hop_days if d is not None)
    return RouteTimes(case_id, tuple(hops), len(hops), hold, transit)
