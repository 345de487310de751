"""Case projections (办件视图): each touched case is re-folded with ``casework.fold`` from its events in central
order (central_seq), so every node that folds the same log gets the same picture.

Events fold in causal order (hybrid logical clock, then station and position), so the projection does not depend
on which station's batch arrived first; ``version`` names the central_seq of the causally last event.

A ``rehome`` event re-issues content after a fork; its content is folded once: skipped when the original or an
earlier rehome of it is already in the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from casework.caseview import CaseView, fold
from casework.events import CaseEvent
from casework.wire import casework_type
from sync_protocol.events import REHOME, Event, parse_event

from ..models import CaseRecord, LogEvent, utcnow

CASE_KIND = "case"


# Bounded IN lists: SQLite and PostgreSQL both cap the bound parameters of one statement.
_CHUNK = 500


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def case_events(case_id: str) -> list[tuple[int, Event]]:
    """The station events that count for a case: central's own resolution events and events held out by an
    unresolved (or lost) conflict are not folded."""
    return cases_events([case_id]).get(case_id, [])


def cases_events(
    case_ids: Iterable[str], parsed: Mapping[str, Event] | None = None
) -> dict[str, list[tuple[int, Event]]]:
    """``case_events`` for many cases with three queries per chunk of cases, not three per case. ``parsed``
    holds events the caller already parsed (by id): their stored bodies are not parsed again."""
    known = parsed or {}
    from .conflicts import CENTRAL

    ids = sorted(set(case_ids))
    held_out = _not_applied_by_case(ids)
    decided_by_case = _resolution_clocks_by_case(ids)
    by_case: dict[str, list[tuple[int, Event]]] = {case_id: [] for case_id in ids}
    for chunk in _chunks(ids):
        rows = (
            LogEvent.select(LogEvent.aggregate_id, LogEvent.central_seq, LogEvent.event_id, LogEvent.body)
            .where(
                LogEvent.aggregate_kind == CASE_KIND,
                LogEvent.aggregate_id.in_(chunk),
                LogEvent.station_code != CENTRAL,
            )
            .order_by(LogEvent.aggregate_id, LogEvent.central_seq)
            .tuples()
        )
        for case_id, seq, event_id, body in rows:
            if event_id not in held_out.get(case_id, ()):
                event = known.get(event_id) or parse_event(bytes(body))
                by_case[case_id].append((seq, event))
    # Causal order, not arrival order: the same events fold to the same case whichever station's batch came
    # first. HLCs are monotonic per station and advance past what a station learned; ties break by station and
    # position, so the order is a pure function of the events.
    # An event a person chose to apply after a conflict takes effect when the decision was made, not at its own
    # clock: it must come after what it competed with.
    for case_id, events in by_case.items():
        decided_at = decided_by_case.get(case_id, {})

        def causal(
            item: tuple[int, Event], decided_at: dict[str, str] = decided_at
        ) -> tuple[str, str, tuple[int, int]]:
            event = item[1]
            return (
                decided_at.get(event.event_id, event.effective_hlc),
                event.station_id,
                event.effective_position,
            )

        events.sort(key=causal)
    return by_case


def _not_applied_by_case(case_ids: list[str]) -> dict[str, set[str]]:
    from ..models import Conflict

    held: dict[str, set[str]] = {}
    for chunk in _chunks(case_ids):
        rows = (
            Conflict.select(Conflict.aggregate_id, Conflict.incoming_event_id)
            .where(Conflict.aggregate_id.in_(chunk), Conflict.incoming_applied == False)  # noqa: E712
            .tuples()
        )
        for case_id, event_id in rows:
            held.setdefault(case_id, set()).add(event_id)
    return held


def _resolution_clocks_by_case(case_ids: list[str]) -> dict[str, dict[str, str]]:
    from ..models import Conflict

    clocks: dict[str, dict[str, str]] = {}
    for chunk in _chunks(case_ids):
        rows = (
            Conflict.select(Conflict.aggregate_id, Conflict.incoming_event_id, LogEvent.hlc)
            .join(LogEvent, on=(LogEvent.event_id == Conflict.resolution_event_id))
            .where(
                Conflict.aggregate_id.in_(chunk),
                Conflict.status == "resolved",
                Conflict.incoming_applied == True,  # noqa: E712
            )
            .tuples()
        )
        for case_id, event_id, hlc in rows:
            clocks.setdefault(case_id, {})[event_id] = hlc
    return clocks


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
    target = custody.get("to") or custody.get(
        "to_station"
    )  # casework keeps the dispatch's destination as "to"
    if target:
        return str(target)
    return events[-1][1].station_id


def _summary(view: CaseView) -> dict[str, Any]:
    return {
        "decision": view.decision,
        "document_no": view.document_no,
        "open_gaps": {k: v.isoformat() for k, v in view.open_gaps.items()},
        "anomalies": [{"zh": m.text("zh"), "en": m.text("en")} for m in view.anomalies],
        "merged_into": view.merged_into,
    }


_PROJECTED = (
    CaseRecord.case_number,
    CaseRecord.item_code,
    CaseRecord.state,
    CaseRecord.origin_station,
    CaseRecord.owner_station,
    CaseRecord.version,
    CaseRecord.updated_at,
    CaseRecord.data,
)


def refresh_cases(case_ids: Iterable[str], parsed: Mapping[str, Event] | None = None) -> int:
    """Re-fold and upsert every named case; returns how many were written.

    The touched cases' events come in one query per chunk and the rows go back in one upsert per chunk
    (``INSERT … ON CONFLICT (case_id) DO UPDATE``, the same on SQLite and PostgreSQL). ``parsed``: events the
    caller already holds parsed, by id (ingest passes the batch's)."""
    rows = []
    now = utcnow()
    for case_id, case_events_ in sorted(cases_events(case_ids, parsed).items()):
        events = _effective(case_events_)
        if not events:
            continue
        view = fold(_case_event(e) for _, e in events)
        rows.append(
            {
                "case_id": case_id,
                "case_number": view.case_no,
                "item_code": view.item_code,
                "state": view.state.value if view.state else "",
                "origin_station": view.station or events[0][1].station_id,
                "owner_station": _owner(view, events),
                "version": events[-1][0],
                "updated_at": now,
                "data": json.dumps(_summary(view), ensure_ascii=False, sort_keys=True),
            }
        )
    for i in range(0, len(rows), _CHUNK // 10):  # nine parameters a row
        (
            CaseRecord.insert_many(rows[i : i + _CHUNK // 10])
            .on_conflict(conflict_target=[CaseRecord.case_id], preserve=list(_PROJECTED))
            .execute()
        )
    return len(rows)
