"""Conflict detection and resolution (冲突检测与处理), SYNC-DESIGN §9.

One mechanism decides *whether* an incoming case event is concurrent (``sync_protocol.concurrency``); casework's
merge policy decides *what it means* (class, automatic or not, winner). Detection runs inside the ingest
transaction, against central's state before the batch. Every resolution — automatic or by a person — is a
central event appended to the central log (station ``central``, ``central_log``), so it reaches the stations
concerned through their downstream bundles; a person's choices live in ``resolutions``, class C tokens in
``duplicates``. This module re-exports the names the views, ingest and custody use.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from casework.catalog import Level, demo_catalog, load_catalog
from casework.errors import CaseworkError
from casework.events import action_of
from casework.lifecycle import CaseState
from casework.merge import (
    ConflictClass,
    Resolution,
    classify_field_edit,
    classify_integrity,
    classify_late_event,
    classify_stale_catalog,
    classify_transitions,
    commute,
)
from casework.wire import casework_type
from sync_protocol.concurrency import AppliedEvent, check_concurrency
from sync_protocol.events import EPOCH_OPEN, REHOME, Event, parse_event
from sync_protocol.hlc import HLC

from ..models import CaseRecord, Conflict, LogEvent, Publication, Station, utcnow
from .central_log import CENTRAL, FLAG_EVENT, RESOLUTION_EVENT, append_flag, append_resolution
from .duplicates import MERGING_OUTCOMES, merged_into, register
from .resolutions import (
    CHOICES_BY_CLASS,
    HUMAN_CHOICES,
    choices_for,
    conflict_sides,
    is_epoch_review,
    list_conflicts,
    resolve,
)

LETTER = {c: c.name for c in ConflictClass}


def local_type(event: Event) -> str:
    """The casework event type an event carries (stations log ``case.accepted``; casework says ``accepted``)."""
    wire = event.effective_type
    return casework_type(wire) or wire


def _action(event: Event) -> str | None:
    return action_of(local_type(event), event.effective_payload)


@dataclass(frozen=True)
class Detected:
    conflict_id: int
    applied: bool


def _level(station_code: str) -> Level:
    if station_code == CENTRAL:
        return Level.CENTRAL
    station = Station.get_or_none(Station.code == station_code)
    try:
        return Level(station.level) if station else Level.VILLAGE
    except ValueError:
        return Level.VILLAGE


def _deciding_level(case: CaseRecord | None) -> Level:
    if case is None or not case.item_code:
        return Level.COUNTY
    row = (
        Publication.select().where(Publication.kind == "catalog").order_by(Publication.version.desc()).first()
    )
    try:
        catalog = load_catalog(bytes(row.data)) if row is not None else demo_catalog()
        return catalog.item(case.item_code).decision_level
    except (CaseworkError, ValueError):
        return Level.COUNTY


def _epoch_links(station_code: str) -> dict[int, tuple[int, int]]:
    # Only the station's epoch.open events, found through the (station_code, event_type) index (m0008): never a
    # scan of the station's whole log.
    rows = LogEvent.select(LogEvent.body).where(
        LogEvent.station_code == station_code, LogEvent.event_type == EPOCH_OPEN
    )
    links = {}
    for (body,) in rows.tuples():
        event = parse_event(bytes(body))
        if event.payload["prev_epoch"]:
            links[event.epoch] = (event.payload["prev_epoch"], event.payload["prev_seq"])
    return links


_DETECTION_COLUMNS = [
    f for f in CaseRecord._meta.sorted_fields if f.name != "fold_state"
]  # not the fold: large


def _case_records(events: list[Event]) -> dict[str, CaseRecord]:
    """The batch's case rows as central held them before the batch, in one ``IN`` query per chunk."""
    ids = sorted({e.aggregate_id for e in events if e.aggregate_kind == "case" and e.aggregate_id})
    found: dict[str, CaseRecord] = {}
    for i in range(0, len(ids), 500):
        for case in CaseRecord.select(*_DETECTION_COLUMNS).where(CaseRecord.case_id.in_(ids[i : i + 500])):
            found[case.case_id] = case
    return found


def _applied_by_case(case_ids: list[str]) -> dict[str, list[AppliedEvent]]:
    """Every station event central applied to each case, in central order, as the concurrency check needs it —
    read from the log's columns in one query per chunk of cases; only a rehome's body is parsed (its original's
    position). Events that turn out to compete are parsed later (``_events_by_id``)."""
    out: dict[str, list[AppliedEvent]] = {}
    rehomes: dict[str, tuple[int, int]] = {}
    for i in range(0, len(case_ids), 500):
        chunk = case_ids[i : i + 500]
        for event_id, body in (
            LogEvent.select(LogEvent.event_id, LogEvent.body)
            .where(LogEvent.event_type == REHOME, LogEvent.aggregate_id.in_(chunk))
            .tuples()
        ):
            rehomes[event_id] = parse_event(bytes(body)).effective_position
        rows = (
            LogEvent.select(
                LogEvent.aggregate_id,
                LogEvent.central_seq,
                LogEvent.station_code,
                LogEvent.epoch,
                LogEvent.seq,
                LogEvent.event_id,
            )
            .where(
                LogEvent.aggregate_kind == "case",
                LogEvent.aggregate_id.in_(chunk),
                LogEvent.station_code != CENTRAL,
            )
            .order_by(LogEvent.central_seq)
            .tuples()
        )
        for case_id, central_seq, station, epoch, seq, event_id in rows:
            position = rehomes.get(event_id, (epoch, seq))
            out.setdefault(case_id, []).append(AppliedEvent(central_seq, station, position, event_id))
    return out


def _events_by_id(event_ids: set[str]) -> dict[str, Event]:
    rows = LogEvent.select(LogEvent.body).where(LogEvent.event_id.in_(sorted(event_ids))).tuples()
    return {event.event_id: event for event in (parse_event(bytes(body)) for (body,) in rows)}


def _merging_cases(case_ids: list[str]) -> set[str]:
    """Of these cases, those a class C resolution merged into another (``merged_into`` names the survivor)."""
    found: set[str] = set()
    for i in range(0, len(case_ids), 500):
        rows = Conflict.select(Conflict.aggregate_id).where(
            Conflict.conflict_class == "C",
            Conflict.aggregate_id.in_(case_ids[i : i + 500]),
            Conflict.status != "open",
            Conflict.outcome.in_(MERGING_OUTCOMES),
        )
        found.update(row[0] for row in rows.tuples())
    return found


def _record(
    resolution: Resolution,
    event: Event,
    competing: list[Event],
    batch_id: int | None,
    *,
    keep_applied: bool = False,
) -> Conflict:
    applied = keep_applied or (
        resolution.automatic and resolution.winner != "applied" and resolution.outcome != "quarantine"
    )
    conflict = Conflict.create(
        conflict_class=LETTER[resolution.conflict_class],
        status="auto_resolved" if resolution.automatic else "open",
        outcome=resolution.outcome,
        reason_zh=resolution.reason.text("zh"),
        reason_en=resolution.reason.text("en"),
        station_code=event.station_id,
        aggregate_id=event.aggregate_id,
        incoming_event_id=event.event_id,
        applied_event_ids=json.dumps([e.event_id for e in competing]),
        incoming_applied=applied,
        batch_id=batch_id,
    )
    if resolution.automatic:
        conflict.resolution_event_id = append_resolution(
            conflict, resolution.outcome, "central", automatic=True
        )
        conflict.resolved_at = utcnow()
        conflict.save()
    else:
        append_flag(conflict, event)
    return conflict


def classify(event: Event, case: CaseRecord | None, competing: list[Event]) -> Resolution | None:
    """The merge policy's verdict for an incoming event against the applied events it did not see."""
    payload = event.effective_payload
    kind = local_type(event)
    incoming_action = _action(event)
    state = CaseState(case.state) if case is not None and case.state else None
    if incoming_action is not None:
        transitions = [e for e in competing if _action(e) is not None]
        if not transitions:
            return None
        if incoming_action == "receive_custody" and all(
            commute(_action(e) or "", incoming_action) for e in transitions
        ):
            return None  # paper that outran the sync: custody pairs are class D's business, nothing to merge
        applied = transitions[-1]
        return classify_transitions(
            _action(applied) or "",
            _level(applied.station_id),
            incoming_action,
            _level(event.station_id),
            state,
            deciding_level=_deciding_level(case),
        )
    if kind == "field_edited":
        edits = [
            e
            for e in competing
            if local_type(e) == "field_edited" and e.effective_payload["field"] == payload["field"]
        ]
        if not edits:
            return None
        applied = edits[-1]
        return classify_field_edit(
            payload["field"],
            payload["old"],
            applied.effective_payload["new"],
            payload["new"],
            applied_clock=(HLC.from_string(applied.effective_hlc).wall_ms, applied.station_id),
            incoming_clock=(HLC.from_string(event.effective_hlc).wall_ms, event.station_id),
        )
    return None


def _stale_catalog(event: Event, newest_catalog: Callable[[], Publication | None]) -> Resolution | None:
    """Class E: an application accepted under an older catalog than central's newest one."""
    if local_type(event) != "received" or event.catalog_version <= 0:
        return None
    newest = newest_catalog()
    if newest is None or event.catalog_version >= newest.version:
        return None
    payload = event.effective_payload
    catalog = load_catalog(bytes(newest.data))
    try:
        current = catalog.item(payload["item_code"])
        withdrawn = False
    except CaseworkError:
        current, withdrawn = None, True
    changed = current is not None and current.version != payload["item_version"]
    return classify_stale_catalog(
        event.catalog_version, newest.version, item_withdrawn=withdrawn, eligibility_changed=changed
    )


def detect(events: list[Event], batch_id: int) -> dict[str, Detected]:
    """Check every incoming case event against central's view before this batch; record each conflict."""
    found: dict[str, Detected] = {}
    links_by_station: dict[str, dict[int, tuple[int, int]]] = {}
    cases = _case_records(events)  # detection never changes case rows: read once, before the loop
    # Also read once per batch: what each case's row says, which cases were merged away, the events applied to
    # the cases whose incoming events declare a base, and central's newest catalog.
    summaries = {case_id: json.loads(case.data or "{}") for case_id, case in cases.items()}
    merging = _merging_cases(sorted(cases))
    based = sorted(
        {e.aggregate_id for e in events if e.aggregate_id in cases and (e.base_version or e.base_own_event)}
    )
    applied_by_case = _applied_by_case(based)
    newest_catalog = functools.cache(
        lambda: (
            Publication.select()
            .where(Publication.kind == "catalog")
            .order_by(Publication.version.desc())
            .first()
        )
    )
    for event in events:
        if event.aggregate_kind != "case" or not event.aggregate_id:
            continue
        stale = _stale_catalog(event, newest_catalog)
        if stale is not None:
            # The application itself stands (the case exists); a reviewer checks it under the new rules.
            conflict = _record(stale, event, [], batch_id, keep_applied=True)
            found[event.event_id] = Detected(conflict.id, True)
        if local_type(event) == "received":
            # Class C: the same person and item received at another station too (network duplicate token).
            for verdict, other in register(event, event.effective_payload):
                conflict = _record(verdict, event, [other], batch_id, keep_applied=True)
                found[event.event_id] = Detected(conflict.id, True)
                merging.add(event.aggregate_id)  # a dedup merges it at once: its later events see that
        case = cases.get(event.aggregate_id)
        if case is None:
            continue
        transition = _action(event) is not None
        summary = summaries[event.aggregate_id]
        merged = summary.get("merged_into") or (
            merged_into(event.aggregate_id) if event.aggregate_id in merging else None
        )
        closed = bool(case.state) and CaseState(case.state).terminal
        if merged or (closed and transition):
            resolution = classify_late_event(merged_into=merged, closed=closed, changes_outcome=transition)
            conflict = _record(resolution, event, [], batch_id)
            found[event.event_id] = Detected(conflict.id, conflict.incoming_applied)
            continue
        if event.base_version == 0 and not event.base_own_event:
            # No base at all (bv 0, bo ""): a station from before bases were tracked, or a station's very first
            # act on a case it never heard of from central (a folder signed for before the case's events arrived).
            # Such an event fast-forwards: "concurrent with everything" would flag every ordinary hand-over.
            # With bo set, bv 0 means the station acted on its own events only: others' events are concurrent.
            continue
        if event.station_id not in links_by_station:
            links_by_station[event.station_id] = _epoch_links(event.station_id)
        links = links_by_station[event.station_id]
        since = [
            a for a in applied_by_case.get(event.aggregate_id, []) if a.central_version > event.base_version
        ]
        newest = max((a.central_version for a in since), default=0)
        check = check_concurrency(
            event,
            aggregate_version=max(newest, event.base_version),
            applied_since_base=since,
            epoch_links=links,
        )
        if not check.concurrent:
            continue
        competing_ids = {c.event_id for c in check.competing}
        parsed = _events_by_id(competing_ids)
        competing = [parsed[a.event_id] for a in since if a.event_id in competing_ids]
        resolution = classify(event, case, competing)
        if resolution is None:
            continue  # concurrent but commuting by nature (a note, a rating): nothing to merge
        conflict = _record(resolution, event, competing, batch_id)
        found[event.event_id] = Detected(conflict.id, conflict.incoming_applied)
    return found


def record_integrity(station_code: str, reason: str, event: Event | None, batch_id: int | None) -> Conflict:
    """Class G (fork, revoked or unknown key, unauthorised epoch): never automatic."""
    resolution = classify_integrity(reason)
    conflict = Conflict.create(
        conflict_class=LETTER[resolution.conflict_class],
        status="open",
        outcome=resolution.outcome,
        reason_zh=resolution.reason.text("zh"),
        reason_en=resolution.reason.text("en"),
        station_code=station_code,
        aggregate_id=event.aggregate_id if event is not None else "",
        incoming_event_id=event.event_id if event is not None else "",
        batch_id=batch_id,
    )
    # No flag event: the station concerned learns of its fork, revoked key or epoch under review from its ack.
    return conflict


def not_applied_event_ids(case_id: str) -> set[str]:
    return {
        row[0]
        for row in Conflict.select(Conflict.incoming_event_id)
        .where(Conflict.aggregate_id == case_id, Conflict.incoming_applied == False)  # noqa: E712
        .tuples()
    }


__all__ = [
    "CENTRAL",
    "CHOICES_BY_CLASS",
    "FLAG_EVENT",
    "HUMAN_CHOICES",
    "RESOLUTION_EVENT",
    "append_flag",
    "append_resolution",
    "choices_for",
    "classify",
    "conflict_sides",
    "detect",
    "is_epoch_review",
    "list_conflicts",
    "local_type",
    "not_applied_event_ids",
    "record_integrity",
    "resolve",
]
