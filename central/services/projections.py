"""Case projections (办件视图): each touched case is re-folded with ``casework.fold`` from its events in central
order (central_seq), so every node that folds the same log gets the same picture.

A ``rehome`` event re-issues content after a fork; its content is folded once: skipped when the original or an
earlier rehome of it is already in the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from casework.caseview import CaseView, fold
from casework.events import CaseEvent
from casework.wire import casework_type
from sync_protocol.events import REHOME, Event, parse_event

from ..models import CaseRecord, LogEvent, utcnow

CASE_KIND = "case"


def case_events(case_id: str) -> list[tuple[int, Event]]:
    """The station events that count for a case: central's own resolution events and events held out by an
    unresolved (or lost) conflict are not folded."""
    from .conflicts import CENTRAL, not_applied_event_ids

    held_out = not_applied_event_ids(case_id)
    rows = (
        LogEvent.select(LogEvent.central_seq, LogEvent.event_id, LogEvent.body)
        .where(
            LogEvent.aggregate_kind == CASE_KIND,
            LogEvent.aggregate_id == case_id,
            LogEvent.station_code != CENTRAL,
        )
        .order_by(LogEvent.central_seq)
        .tuples()
    )
    return [(seq, parse_event(bytes(body))) for seq, event_id, body in rows if event_id not in held_out]


def _effective(events: Iterable[tuple[int, Event]]) -> list[tuple[int, Event]]:
    seen: set[str] = set()
    out = []
    for central_seq, event in events:
        if event.type == REHOME:
            original = event.payload["of"]
            if original in seen:
                continue
            seen.add(original)
        seen.add(event.event_id)
        out.append((central_seq, event))
    return out


def _case_event(event: Event) -> CaseEvent:
    # Stations log "case.received"; casework folds "received" (casework.wire is the one mapping).
    wire = event.effective_type
    return CaseEvent(
        type=casework_type(wire) or wire,
        payload=event.effective_payload,
        at=event.wall_ms,
        actor=event.actor,
        station=event.station_id,
    )


def _owner(view: CaseView, events: list[tuple[int, Event]]) -> str:
    custody = view.custody or {}
    if custody.get("to_station"):
        return str(custody["to_station"])
    return events[-1][1].station_id


def _summary(view: CaseView) -> dict[str, Any]:
    return {
        "decision": view.decision,
        "document_no": view.document_no,
        "open_gaps": {k: v.isoformat() for k, v in view.open_gaps.items()},
        "anomalies": [{"zh": m.text("zh"), "en": m.text("en")} for m in view.anomalies],
        "merged_into": view.merged_into,
    }


def refresh_cases(case_ids: Iterable[str]) -> int:
    """Re-fold and upsert every named case; returns how many were written."""
    written = 0
    for case_id in sorted(set(case_ids)):
        events = _effective(case_events(case_id))
        if not events:
            continue
        view = fold(_case_event(e) for _, e in events)
        values = {
            "case_number": view.case_no,
            "item_code": view.item_code,
            "state": view.state.value if view.state else "",
            "origin_station": view.station or events[0][1].station_id,
            "owner_station": _owner(view, events),
            "version": events[-1][0],
            "updated_at": utcnow(),
            "data": json.dumps(_summary(view), ensure_ascii=False, sort_keys=True),
        }
        if CaseRecord.update(values).where(CaseRecord.case_id == case_id).execute() == 0:
            CaseRecord.create(case_id=case_id, **values)
        written += 1
    return written
