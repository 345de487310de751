"""Case projections (办件视图): each case's row is what ``casework.fold`` makes of its events, so every node that
folds the same log gets the same picture.

Events fold in causal order (hybrid logical clock, then station and position), so the projection does not depend
on which station's batch arrived first; ``version`` names the central_seq of the causally last event.

A row keeps the folded view it was made from (``fold_state``, casework.foldstate): when a case's new events all
come causally after what it was folded from, ingest folds only them onto that view instead of re-reading and
re-folding the case from its first event. Anything else — a conflict that holds an event out or moves it, a
rehome, an event that sorts before what was folded (a late batch from another station), a state made by other
code — is folded from all its events.

A ``rehome`` event re-issues content after a fork; its content is folded once: skipped when the original or an
earlier rehome of it is already in the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peewee import fn

from casework.caseview import CaseView, fold
from casework.events import CaseEvent
from casework.foldstate import FOLD_FINGERPRINT, view_from_state, view_state
from casework.wire import case_event
from sync_protocol.events import REHOME, Event, parse_event

from ..db import database
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
    # Stations log "case.received"; casework folds "received" (casework.wire is the one mapping, rehome included).
    return case_event(event)


def _owner(view: CaseView, last: Event) -> str:
    """Where the folder is going (casework keeps the dispatch's destination as "to"), else the station of the
    causally last event."""
    custody = view.custody or {}
    target = custody.get("to") or custody.get("to_station")
    if target:
        return str(target)
    return last.station_id


def _summary(view: CaseView) -> dict[str, Any]:
    return {
        "decision": view.decision,
        "document_no": view.document_no,
        "open_gaps": {k: v.isoformat() for k, v in view.open_gaps.items()},
        "anomalies": [{"zh": m.text("zh"), "en": m.text("en")} for m in view.anomalies],
        "merged_into": view.merged_into,
    }


PROJECTED = ("case_number", "item_code", "state", "origin_station", "owner_station", "version", "updated_at",
             "data", "fold_state")  # fmt: skip
"""The columns a refresh writes; ``item_name`` and ``applicant_masked`` are left as they are."""
_INSERTED = ("case_id", "item_name", "applicant_masked", *PROJECTED)


def _upsert_sql() -> str:
    marks = ", ".join([database.param] * len(_INSERTED))
    updates = ", ".join(f"{column} = excluded.{column}" for column in PROJECTED)
    return (
        f"INSERT INTO cases ({', '.join(_INSERTED)}) VALUES ({marks}) "
        f"ON CONFLICT (case_id) DO UPDATE SET {updates}"
    )


def _fold_key() -> str:
    """casework's fingerprint of its folding code plus this module's (how events become casework events and in
    which order they fold): a stored fold state made under other code is not continued."""
    digest = hashlib.sha256(FOLD_FINGERPRINT.encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


FOLD_KEY = _fold_key()

CausalKey = tuple[str, str, int, int]


def _causal_key(event: Event) -> CausalKey:
    position = event.effective_position
    return (event.effective_hlc, event.station_id, position[0], position[1])


@dataclass
class _Folded:
    """A case folded up to some event: the view, the station of its causally first event, the causally last
    event's key and its central_seq."""

    view: CaseView
    first_station: str
    last: CausalKey
    version: int

    def state(self) -> str | None:
        try:
            return json.dumps(
                {"key": FOLD_KEY, "view": view_state(self.view), "first": self.first_station,
                 "last": list(self.last)},
                ensure_ascii=False, sort_keys=True, separators=(",", ":"),
            )  # fmt: skip
        except (TypeError, ValueError):  # a view value JSON cannot hold: fold from the events next time
            return None


def _stored(state: str | None, version: int) -> _Folded | None:
    """A fold state as stored, if it was made by this code; None means: fold from the events."""
    if not state:
        return None
    try:
        raw = json.loads(state)
        if raw.get("key") != FOLD_KEY:
            return None
        hlc, station, epoch, seq = raw["last"]
        return _Folded(view_from_state(raw["view"]), raw["first"], (hlc, station, epoch, seq), version)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _row(case_id: str, folded: _Folded, owner: str, now_value: Any) -> tuple[Any, ...]:
    view = folded.view
    return (
        case_id,
        "",
        "",
        view.case_no,
        view.item_code,
        view.state.value if view.state else "",
        view.station or folded.first_station,
        owner,
        folded.version,
        now_value,
        json.dumps(_summary(view), ensure_ascii=False, sort_keys=True),
        folded.state(),
    )


def _stored_rows(case_ids: list[str]) -> dict[str, tuple[str | None, int]]:
    found: dict[str, tuple[str | None, int]] = {}
    for chunk in _chunks(case_ids):
        query = CaseRecord.select(CaseRecord.case_id, CaseRecord.fold_state, CaseRecord.version).where(
            CaseRecord.case_id.in_(chunk)
        )
        for case_id, state, version in query.tuples():
            found[case_id] = (state, version)
    return found


def _fold_affecting_conflicts(case_ids: list[str]) -> set[str]:
    """Cases with a conflict that changes their fold: an event held out (not applied), or one a person applied
    (it folds at the decision's clock). Conflicts that leave their event applied where it is (class D custody
    notes, automatic resolutions) do not; a person's later resolution refolds the case from its events."""
    from ..models import Conflict

    found: set[str] = set()
    for chunk in _chunks(case_ids):
        query = (
            Conflict.select(Conflict.aggregate_id)
            .where(
                Conflict.aggregate_id.in_(chunk),
                (Conflict.incoming_applied == False) | (Conflict.status == "resolved"),  # noqa: E712
            )
            .distinct()
        )
        found.update(row[0] for row in query.tuples())
    return found


def _central_seqs(event_ids: list[str], logged_after: int | None) -> dict[str, int]:
    """Where these events stand in the log. ``logged_after``: a central_seq they all come after (ingest reads the
    log's top before it appends), so one range read of the primary key finds them."""
    found: dict[str, int] = {}
    if logged_after is not None:
        query = LogEvent.select(LogEvent.event_id, LogEvent.central_seq).where(
            LogEvent.central_seq > logged_after
        )
        found.update(query.tuples())
        return found
    for chunk in _chunks(event_ids):
        query = LogEvent.select(LogEvent.event_id, LogEvent.central_seq).where(LogEvent.event_id.in_(chunk))
        found.update(query.tuples())
    return found


def _logged_counts(case_ids: list[str]) -> dict[str, int]:
    """How many station events the log holds for each case (the batch's own included)."""
    from .conflicts import CENTRAL

    counts: dict[str, int] = {}
    for chunk in _chunks(case_ids):
        query = (
            LogEvent.select(LogEvent.aggregate_id, fn.COUNT(LogEvent.central_seq))
            .where(
                LogEvent.aggregate_kind == CASE_KIND,
                LogEvent.aggregate_id.in_(chunk),
                LogEvent.station_code != CENTRAL,
            )
            .group_by(LogEvent.aggregate_id)
        )
        counts.update(query.tuples())
    return counts


def _continued(ids: list[str], new_events: Mapping[str, Event]) -> dict[str, tuple[_Folded, list[Event]]]:
    """The cases that can fold only their new events, in causal order, onto their stored state — or onto an
    empty view when the log holds no other event of theirs (a case new in this batch). A case qualifies when it
    has no conflict that changes its fold (``_fold_affecting_conflicts``: which events count and in what order),
    no new event is a rehome (its content may be folded already), and either its stored state was made by this
    code and every new event comes causally after the last one folded, or it has no row and its new events are all
    the log holds of it — then folding the new events onto that view is folding all of them from the start."""
    from .conflicts import CENTRAL

    new_by_case: dict[str, list[Event]] = {}
    for event in new_events.values():
        if event.aggregate_kind == CASE_KIND and event.station_id != CENTRAL:
            new_by_case.setdefault(event.aggregate_id, []).append(event)
    conflicted = _fold_affecting_conflicts([case_id for case_id in ids if case_id in new_by_case])
    candidates = [
        case_id
        for case_id in ids
        if case_id in new_by_case
        and case_id not in conflicted
        and not any(e.type == REHOME for e in new_by_case[case_id])
    ]
    stored = _stored_rows(candidates)
    counts = _logged_counts([case_id for case_id in candidates if case_id not in stored])
    out: dict[str, tuple[_Folded, list[Event]]] = {}
    for case_id in candidates:
        events = sorted(new_by_case[case_id], key=_causal_key)
        row = stored.get(case_id)
        if row is None:
            if counts.get(case_id) == len(events):
                out[case_id] = (_Folded(CaseView(), events[0].station_id, _causal_key(events[0]), 0), events)
            continue
        folded = _stored(*row)
        if folded is not None and _causal_key(events[0]) > folded.last:
            out[case_id] = (folded, events)
    return out


def _folded_from_events(
    case_ids: list[str], parsed: Mapping[str, Event] | None, now_value: Any
) -> list[tuple[Any, ...]]:
    rows = []
    for case_id, case_events_ in cases_events(case_ids, parsed).items():
        events = _effective(case_events_)
        if not events:
            continue
        view = fold((_case_event(e) for _, e in events), timeline=False)
        first, (version, last) = events[0][1], events[-1]
        folded = _Folded(view, first.station_id, _causal_key(last), version)
        rows.append(_row(case_id, folded, _owner(view, last), now_value))
    return rows


def rows_from_scratch(case_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What every named case's row must hold (its ``PROJECTED`` columns but ``updated_at``), folded from all its
    events without any stored state — the definition ``refresh_cases`` keeps to. Writes nothing."""
    rows = _folded_from_events(sorted(set(case_ids)), None, None)
    kept = [c for c in PROJECTED if c != "updated_at"]
    return {row[0]: {c: v for c, v in zip(_INSERTED, row, strict=True) if c in kept} for row in rows}


def refresh_cases(
    case_ids: Iterable[str], parsed: Mapping[str, Event] | None = None, *, logged_after: int | None = None
) -> int:
    """Bring every named case's row up to date; returns how many were written.

    ``parsed``: events the caller just appended to the log, by id (ingest passes the batch's), all after
    central_seq ``logged_after`` when that is given. A case whose new events all come after what its row was
    folded from folds only those onto its stored view (``_continued``); every other case is folded from all its
    events (``cases_events``: one query per chunk of cases, events the caller parsed are not parsed again).
    Either way the row is what folding all its events from the start gives (tests/central/test_projection_fold.py).
    The rows go back with one upsert statement (``INSERT … ON CONFLICT (case_id) DO UPDATE``, the same on SQLite
    and PostgreSQL)."""
    ids = sorted(set(case_ids))
    continued = _continued(ids, parsed or {})
    seqs = _central_seqs([events[-1].event_id for _, events in continued.values()], logged_after)
    now_value = CaseRecord.updated_at.db_value(utcnow())
    rows = []
    for case_id, (folded, events) in continued.items():
        fold((_case_event(e) for e in events), view=folded.view, timeline=False)
        folded.last, folded.version = _causal_key(events[-1]), seqs[events[-1].event_id]
        rows.append(_row(case_id, folded, _owner(folded.view, events[-1]), now_value))
    rows.extend(_folded_from_events([c for c in ids if c not in continued], parsed, now_value))
    if rows:
        rows.sort()
        database.cursor().executemany(_upsert_sql(), rows)
    return len(rows)
