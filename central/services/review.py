"""Read models for the review pages: batches by station and status, their events, cases and their timelines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from casework.caseview import fold
from casework.errors import Message
from casework.events import CaseEvent
from casework.wire import casework_type
from sync_protocol.errors import ProtocolError
from sync_protocol.events import parse_event

from ..errors import NotFoundError
from ..models import Batch, CaseRecord, HeldEvent, LogEvent

BATCH_STATUSES = ("stored", "applied", "pending_gap", "quarantined", "rejected", "duplicate")


@dataclass(frozen=True)
class EventView:
    """One event as a reviewer reads it."""

    event_id: str
    station_code: str
    epoch: int
    seq: int
    event_type: str
    aggregate_id: str
    hlc: str
    wall: str
    actor: str
    payload: dict[str, Any]
    held: bool = False
    summary: Message | None = None


def event_view(body: bytes, held: bool = False) -> EventView:
    try:
        event = parse_event(bytes(body))
    except ProtocolError:
        return EventView("?", "?", 0, 0, "unreadable", "", "", "", "", {}, held)
    return EventView(
        event_id=event.event_id,
        station_code=event.station_id,
        epoch=event.epoch,
        seq=event.seq,
        event_type=event.type,
        aggregate_id=event.aggregate_id or "",
        hlc=event.hlc,
        wall=_wall_text(event.wall_ms),
        actor=event.actor,
        payload=dict(event.effective_payload),
        held=held,
        summary=_summary(event.effective_type, event.effective_payload),
    )


def _summary(event_type: str, payload: dict[str, Any]) -> Message | None:
    """casework's own words for a domain event (the same the station shows), or None for protocol events.
    Stations log wire types (``case.decided``); casework folds its own names (``decided``)."""
    view = fold([CaseEvent(type=casework_type(event_type) or event_type, payload=payload)])
    return view.timeline[0].summary if view.timeline else None


def _wall_text(wall_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(wall_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def list_batches(station_code: str | None, status: str | None, limit: int, offset: int) -> list[Batch]:
    query = Batch.select().order_by(Batch.id.desc())
    if station_code:
        query = query.where(Batch.station_code == station_code)
    if status in BATCH_STATUSES:
        query = query.where(Batch.status == status)
    return list(query.limit(limit).offset(offset))


def get_batch(batch_id: int) -> Batch:
    batch = Batch.get_or_none(Batch.id == batch_id)
    if batch is None:
        raise NotFoundError(f"batch {batch_id} does not exist")
    return batch


def batch_events(batch: Batch, limit: int = 1000) -> list[EventView]:
    applied = [
        event_view(row.body)
        for row in LogEvent.select(LogEvent.body)
        .where(LogEvent.batch_id == batch.id)
        .order_by(LogEvent.seq)
        .limit(limit)
    ]
    held = [
        event_view(row.body, held=True)
        for row in HeldEvent.select(HeldEvent.body)
        .where(HeldEvent.batch_id == batch.id)
        .order_by(HeldEvent.seq)
    ]
    return applied + held


def batch_detail(batch: Batch) -> dict[str, Any]:
    try:
        return json.loads(batch.detail) if batch.detail else {}
    except ValueError:
        return {"text": batch.detail}


def list_cases(station_code: str | None, state: str | None, limit: int, offset: int) -> list[CaseRecord]:
    query = CaseRecord.select().order_by(CaseRecord.updated_at.desc(), CaseRecord.case_id)
    if station_code:
        query = query.where(
            (CaseRecord.owner_station == station_code) | (CaseRecord.origin_station == station_code)
        )
    if state:
        query = query.where(CaseRecord.state == state)
    return list(query.limit(limit).offset(offset))


def get_case(case_id: str) -> CaseRecord:
    case = CaseRecord.get_or_none(CaseRecord.case_id == case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return case


def case_timeline(case_id: str) -> list[EventView]:
    rows = (
        LogEvent.select(LogEvent.body)
        .where(LogEvent.aggregate_id == case_id)
        .order_by(LogEvent.hlc, LogEvent.central_seq)
    )
    return [event_view(row.body) for row in rows]
