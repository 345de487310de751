"""The agent's folders (我携带的卷宗) and the custody issues on the home page, local and routed from central."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import fn

from casework.custody import (
    HOLDING_EVENT_TYPES,
    AnomalyKind,
    CustodyLimits,
    Holding,
    holding_anomalies,
    holdings_from_events,
    local_day,
)
from casework.errors import Message, message
from casework.events import CaseEvent
from casework.lifecycle import CaseState
from casework.wire import case_event, effective_casework_type, wire_type
from sync_protocol.errors import ProtocolError
from sync_protocol.events import REHOME, Event, parse_event
from sync_protocol.registry import parse_registry

from ...db import database, write_transaction
from ...models import CaseRecord, EventLog, NodeState, StationIdentity
from ..cases import CASE, counted_once, station
from ..reference import current_calendar
from .common import REGISTRY_KEY, CustodyFolder, CustodyIssue, CustodyManifest, _iso, _now
from .labels import note_received_elsewhere
from .manifests import folder_here_in

# --- the agent's folders and the home page's custody issues ------------------------------------------------


def level_of_station(identity: StationIdentity) -> Callable[[str], str | None]:
    """Station code → level, from this station, its parent, and the registry central sent."""
    levels: dict[str, str] = {}
    stored = NodeState.read(REGISTRY_KEY)
    if isinstance(stored, str):
        with contextlib.suppress(ProtocolError, UnicodeEncodeError):
            registry = parse_registry(stored.encode("ascii"))
            levels.update({code: entry.level for code, entry in registry.stations.items()})
    levels[identity.station_code] = identity.level
    above = {"village": "township", "township": "county"}.get(identity.level)
    if identity.parent_code and above:
        levels.setdefault(identity.parent_code, above)
    return levels.get


@dataclass(frozen=True)
class CarriedFolder:
    """A folder an agent has taken and nobody has registered yet: where it goes, since when, when it is due."""

    manifest_id: str
    case_id: str
    case_number: str
    item_name: str
    masked_applicant: str
    to_station: str
    direction: str
    since: datetime
    due: dt.date | None
    overdue: bool
    warning: Message | None
    item_code: str = ""  # names the item in the page's language


def carried_by(
    agent_username: str, today: dt.date, limits: CustodyLimits | None = None
) -> list[CarriedFolder]:
    """我携带的卷宗: folders dispatched from here with this agent and not known to be received."""
    limits = limits or CustodyLimits()
    identity = station()
    level_of = level_of_station(identity)
    calendar = current_calendar()
    rows = (
        CustodyFolder.select(CustodyFolder, CustodyManifest)
        .join(CustodyManifest, on=(CustodyFolder.manifest_id == CustodyManifest.id))
        .where(
            (CustodyManifest.agent == agent_username)
            & CustodyManifest.dispatched_at.is_null(False)
            & CustodyFolder.received_at.is_null()
        )  # fmt: skip
        .order_by(CustodyManifest.dispatched_at, CustodyFolder.case_number)
    )
    carried = []
    for row in rows:
        manifest = row.custodymanifest
        since = datetime.fromisoformat(manifest.dispatched_at)
        limit = limits.transit_days(manifest.from_station, manifest.to_station, level_of)
        due = calendar.add_working_days_checked(local_day(since), limit)
        deadline = due.date or due.estimate
        carried.append(
            CarriedFolder(
                manifest.id, row.case_id, row.case_number, row.item_name, row.masked_applicant, manifest.to_station,
                manifest.direction, since, deadline, deadline is not None and today > deadline, due.warning,
                item_code=row.item_code,
            )
        )  # fmt: skip
    return carried


@dataclass(frozen=True)
class StationIssue:
    """A custody issue shown on the home page: found here, or raised by central for this station."""

    key: str
    kind: str
    case_id: str
    case_number: str
    since: str
    message: Message
    source: str  # "local" or "central"


def _case_events(events: list[Event]) -> list[CaseEvent]:
    return [case_event(e) for e in events]


HOLDING_WIRE_TYPES = tuple(sorted(wire_type(t) for t in HOLDING_EVENT_TYPES))
"""The log's types of the events that decide a holding, the custody hand-overs (where the folder is) among them."""
_HOLDING_LOG_TYPES = (*HOLDING_WIRE_TYPES, REHOME)
"""… and ``rehome``: fork recovery re-issues such an event under that type, and it counts as what it re-issues."""
_CHUNK = 500  # ids per IN (…) list, well under SQLite's variable limit


@dataclass(frozen=True)
class _Held:
    newest: str  # the case's newest event id in the log: any event appended to the case changes it
    holdings: tuple[Holding, ...]  # the folder's open holdings here; empty when the folder is not here


_held_lock = threading.Lock()
_held: dict[tuple[str, str, str], _Held] = {}
"""(database, station code, case id) → what the case's events said when its newest event was ``newest``. Events
are immutable and each id names one content (a hash over the chain), so an entry stays true until the case gets a
new event; for each database and station only the cases asked about last are kept."""


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    return (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK))


def held_here(cases: list[tuple[str, str]], station_code: str) -> list[Holding]:
    """The open holdings at this station of the cases ``(id, number)`` whose folder is here, from their events in
    the log: one covering query for each case's newest event; only a case with a new event since the last call
    has its events read again, and then only those of the types that decide holdings (``HOLDING_WIRE_TYPES``)."""
    where = str(database.database)
    ids = [case_id for case_id, _ in cases]
    newest: dict[str, str] = {}
    for part in _chunks(ids):
        rows = (
            EventLog.select(EventLog.aggregate_id, EventLog.event_id, fn.MAX(EventLog.id))
            .where((EventLog.aggregate_kind == CASE) & EventLog.aggregate_id.in_(part))
            .group_by(EventLog.aggregate_id)
            .tuples()
        )
        newest.update((case_id, event_id) for case_id, event_id, _ in rows)
    with _held_lock:
        known = {case_id: _held.get((where, station_code, case_id)) for case_id in ids}
    fresh = {
        case_id: entry
        for case_id, entry in known.items()
        if entry and entry.newest == newest.get(case_id, "")
    }
    stale = [(case_id, number) for case_id, number in cases if case_id not in fresh]
    events = _holding_events([case_id for case_id, _ in stale])
    for case_id, number in stale:
        mine = events.get(case_id, [])
        here = folder_here_in(mine, station_code)
        found = holdings_from_events(case_id, _case_events(mine), number) if here else []
        fresh[case_id] = _Held(newest.get(case_id, ""), tuple(found))
    with _held_lock:
        for key in [key for key in _held if key[0] == where and key[1] == station_code]:
            del _held[key]
        _held.update(((where, station_code, case_id), entry) for case_id, entry in fresh.items())
    return [holding for case_id in ids for holding in fresh[case_id].holdings]


def _holding_events(ids: list[str]) -> dict[str, list[Event]]:
    """Each case's events of the holding types, in log order."""
    rows: list[tuple[str, int, int, bytes]] = []
    for part in _chunks(ids):
        rows.extend(
            EventLog.select(EventLog.aggregate_id, EventLog.epoch, EventLog.seq, EventLog.body)
            .where(
                (EventLog.aggregate_kind == CASE)
                & EventLog.aggregate_id.in_(part)
                & EventLog.event_type.in_(_HOLDING_LOG_TYPES)
            )  # fmt: skip
            .tuples()
        )
    events: dict[str, list[Event]] = {}
    for case_id, _, _, body in sorted(rows, key=lambda row: (row[1], row[2])):
        event = parse_event(bytes(body))
        if effective_casework_type(event) in HOLDING_EVENT_TYPES:
            events.setdefault(case_id, []).append(event)
    return {case_id: counted_once(mine) for case_id, mine in events.items()}


def station_issues(today: dt.date, limits: CustodyLimits | None = None) -> list[StationIssue]:
    """Custody issues for the home page: folders overdue in transit from here, a village holding a case too long,
    results not handed over, and every open issue central routed here."""
    limits = limits or CustodyLimits()
    identity = station()
    calendar = current_calendar()
    found: dict[str, StationIssue] = {}
    for folder in _overdue_from_here(identity, today, limits):
        found[folder.key] = folder
    held_states = [CaseState.VILLAGE_RECEIVED.value, CaseState.RESULT_READY.value]
    held = CaseRecord.select(CaseRecord.id, CaseRecord.number).where(CaseRecord.state.in_(held_states))
    holdings = held_here([(r.id, r.number) for r in held], identity.station_code)
    for anomaly in holding_anomalies(holdings, today=today, calendar=calendar, limits=limits):
        issue = StationIssue(
            anomaly.key, anomaly.kind.value, anomaly.case_id, anomaly.case_number, anomaly.since.isoformat(),
            anomaly.message, "local",
        )  # fmt: skip
        found[issue.key] = issue
    for row in CustodyIssue.select().where(CustodyIssue.status == "open").order_by(CustodyIssue.since):
        msg = Message(row.kind, row.description_zh, row.description_en)
        found[row.key] = StationIssue(
            row.key, row.kind, row.case_id, row.case_number, row.since, msg, "central"
        )
    return sorted(found.values(), key=lambda i: (i.since, i.case_number))


def _overdue_from_here(
    identity: StationIdentity, today: dt.date, limits: CustodyLimits
) -> list[StationIssue]:
    issues = []
    agents_seen = {
        m.agent
        for m in CustodyManifest.select(CustodyManifest.agent).where(
            CustodyManifest.dispatched_at.is_null(False)
        )
    }
    for agent in agents_seen:
        for folder in carried_by(agent, today, limits):
            if not folder.overdue:
                continue
            key = f"custody:{AnomalyKind.TRANSIT_OVERDUE.value}:{folder.manifest_id}:{folder.case_id}"
            msg = message(
                "custody_transit_overdue",
                "卷宗 {case} 由代办员 {agent} 于 {since} 送往 {to}，已超过时限仍未确认签收",
                "Folder {case} left with agent {agent} on {since} for {to} and is past its limit without a receipt",
                case=folder.case_number, agent=agent, since=local_day(folder.since).isoformat(), to=folder.to_station,
            )  # fmt: skip
            issues.append(
                StationIssue(key, AnomalyKind.TRANSIT_OVERDUE.value, folder.case_id, folder.case_number,
                             local_day(folder.since).isoformat(), msg, "local")
            )  # fmt: skip
    return issues


def record_central_issues(issues: Iterable[Mapping[str, Any]]) -> int:
    """Replace the custody issues central routed here (conflict records of class D, as ``to_conflict()``)."""
    now = _iso(_now())
    with write_transaction():
        keys = []
        for issue in issues:
            if issue.get("class") != "D":
                continue
            keys.append(issue["key"])
            CustodyIssue.insert(
                key=issue["key"], kind=issue["kind"], case_id=issue["case_id"], case_number=issue.get("case_number") or "",
                manifest_id=issue.get("manifest_id") or "", since=issue["since"],
                description_zh=issue["description"]["zh"], description_en=issue["description"]["en"], status="open",
                updated_at=now,
            ).on_conflict_replace().execute()  # fmt: skip
        CustodyIssue.update(status="resolved", updated_at=now).where(
            CustodyIssue.key.not_in(keys) & (CustodyIssue.status == "open")
        ).execute()
        return len(keys)


CUSTODY_PART_FORMAT = "yiciban.custody_issues/1"


def apply_custody_part(data: bytes) -> int:
    """Apply central's custody part of a downstream bundle (already verified with the bundle): the open class-D
    issues concerning this station, and the folders it sent that another station has received.

    Raises:
        ValueError: not a custody part for this station.
    """
    document = json.loads(data.decode("utf-8"))
    identity = station()
    if document.get("format") != CUSTODY_PART_FORMAT or document.get("station") != identity.station_code:
        raise ValueError("not a custody part for this station")
    with write_transaction():
        for folder in document.get("received", []):
            note_received_elsewhere(folder["manifest_id"], folder["case_id"], folder["received_at"])
        return record_central_issues(document.get("issues", []))
