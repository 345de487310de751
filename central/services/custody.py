"""代办 custody at central: pair the stations' dispatch and receipt events, raise class-D conflicts for every anomaly.

Custody events reach central from different stations in any order (a township may register a folder before the
village's batch, carried on the same USB trip, arrives). Central reads them from its log after a cursor, keeps one
row per (manifest, folder) and per holding, and recomputes the anomalies with ``casework.custody``: an issue is
opened for every anomaly, closes by itself when the anomaly disappears (the dispatch arrived, the folder was
received), and stays closed once a human resolved it. Open issues are routed back to every station concerned.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from casework.calendar import WorkingCalendar
from casework.custody import (
    CONFLICT_CLASS,
    CustodyAnomaly,
    CustodyLimits,
    CustodyStatus,
    Direction,
    Dispatch,
    Holding,
    HoldingKind,
    Receipt,
    custody_anomalies,
    holding_anomalies,
    holdings_from_events,
    pair_custody,
    to_moment,
)
from sync_protocol.canonical import canonical_bytes
from sync_protocol.events import REHOME, Event, parse_event

from ..db import write_transaction
from ..models import (
    CaseRecord,
    Conflict,
    CustodyCursor,
    CustodyHolding,
    CustodyIssue,
    CustodyPair,
    LogEvent,
    Station,
    utcnow,
)
from .audit import record_audit
from .conflicts import append_resolution
from .projections import _case_event, case_events
from .report_summaries import reference_calendar

RECEIVED_NOTICE_DAYS = 60  # how long a station keeps hearing that a folder it sent arrived
CHINA = dt.timezone(dt.timedelta(hours=8))
_CUSTODY = ("custody_dispatched", "custody_received")
# Types that start or end a holding (paper waiting at a station).
_HOLDING = frozenset(
    {"received", "result_ready", "delivered", "withdrawn", "terminated", "not_accepted", *_CUSTODY}
)
_WIRE_TYPES = sorted({*_HOLDING, *(f"case.{t}" for t in _HOLDING), REHOME})


def _local_type(event: Event) -> str:
    kind = event.effective_type
    return kind[len("case.") :] if kind.startswith("case.") else kind


def _cursor() -> CustodyCursor:
    cursor = CustodyCursor.get_or_none(CustodyCursor.id == 1)
    return cursor if cursor is not None else CustodyCursor.create(id=1, central_seq=0, revision=0)


def _read_new_events(cursor: CustodyCursor) -> set[str]:
    """Fold custody events logged after the cursor into the pairs; returns the cases whose holdings may change."""
    touched: set[str] = set()
    rows = (
        LogEvent.select(LogEvent.central_seq, LogEvent.body)
        .where((LogEvent.central_seq > cursor.central_seq) & LogEvent.event_type.in_(_WIRE_TYPES))
        .order_by(LogEvent.central_seq)
        .tuples()
    )
    last = cursor.central_seq
    folded = False
    for central_seq, body in rows:
        last = max(last, central_seq)
        event = parse_event(bytes(body))
        kind = _local_type(event)
        if kind not in _HOLDING or event.aggregate_kind != "case":
            continue
        touched.add(event.aggregate_id)
        if kind in _CUSTODY:
            _fold_custody(event, kind)
            folded = True
    top = LogEvent.select(LogEvent.central_seq).order_by(LogEvent.central_seq.desc()).scalar() or 0
    cursor.central_seq = max(last, top)
    if folded:  # a receipt changes the stations' "received" lists: the custody part's version must move
        cursor.revision += 1
    cursor.save()
    return touched


def has_unread_custody_events() -> bool:
    """Whether the log holds a dispatch or a receipt after the cursor (holdings alone wait for the schedule)."""
    cursor = CustodyCursor.get_or_none(CustodyCursor.id == 1)
    after = cursor.central_seq if cursor is not None else 0
    wire = [*_CUSTODY, *(f"case.{t}" for t in _CUSTODY), REHOME]  # a rehome may re-issue a hand-over
    return (
        LogEvent.select(LogEvent.central_seq)
        .where((LogEvent.central_seq > after) & LogEvent.event_type.in_(wire))
        .exists()
    )


def _fold_custody(event: Event, kind: str) -> None:
    p = event.effective_payload
    pair = CustodyPair.get_or_none(
        (CustodyPair.manifest_id == p["manifest_id"]) & (CustodyPair.case_id == event.aggregate_id)
    )
    if pair is None:
        pair = CustodyPair.create(
            manifest_id=p["manifest_id"], case_id=event.aggregate_id, direction=p["direction"]
        )
    if kind == "custody_dispatched":
        if not pair.dispatch_event:
            pair.from_station, pair.to_station, pair.agent = event.station_id, p["to_station"], p["carrier"]
            pair.dispatched_at, pair.dispatch_event = str(p["at"]), event.event_id
            pair.direction = p["direction"]
    else:
        receipts = json.loads(pair.receipts)
        if all(r["station"] != event.station_id for r in receipts):
            receipts.append(
                {
                    "station": event.station_id,
                    "at": str(p["at"]),
                    "by": p["received_by"],
                    "event": event.event_id,
                }
            )
            pair.receipts = json.dumps(receipts, sort_keys=True)
            # Re-paired by the refresh: a receipt arriving late can reopen a closed pair.
            pair.status = CustodyStatus.DISPUTED.value
    pair.save()


def _refresh_holdings(case_ids: Iterable[str]) -> None:
    for case_id in case_ids:
        events = [_case_event(e) for _seq, e in case_events(case_id)]
        number = _case_number(case_id)
        CustodyHolding.delete().where(CustodyHolding.case_id == case_id).execute()
        for h in holdings_from_events(case_id, events, number):
            CustodyHolding.create(
                case_id=case_id,
                kind=h.kind.value,
                station_code=h.station,
                since=h.since.isoformat(),
                case_number=number,
            )


def _case_number(case_id: str) -> str:
    record = CaseRecord.get_or_none(CaseRecord.case_id == case_id)
    return record.case_number if record is not None else ""


def _levels() -> dict[str, str]:
    """Every registered station's level, read once per refresh (not one query per pair)."""
    return dict(Station.select(Station.code, Station.level).tuples())


def _sender_of(pair: CustodyPair) -> str:
    """The sending station: from the dispatch when central has it, else the station whose manifest numbering
    the id carries (``<station code>-<date>-Mnn``), when that is a registered station, else the case's origin."""
    if pair.from_station:
        return str(pair.from_station)
    prefix = pair.manifest_id.split("-", 1)[0]
    if len(prefix) == 12 and prefix.isdigit() and Station.get_or_none(Station.code == prefix) is not None:
        return prefix
    record = CaseRecord.get_or_none(CaseRecord.case_id == pair.case_id)
    return record.origin_station if record is not None else ""


def _case_numbers(case_ids: list[str]) -> dict[str, str]:
    numbers: dict[str, str] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        query = CaseRecord.select(CaseRecord.case_id, CaseRecord.case_number).where(
            CaseRecord.case_id.in_(chunk)
        )
        numbers.update(query.tuples())
    return numbers


def _records(rows: Iterable[CustodyPair]) -> list[tuple[CustodyPair, Any]]:
    out = []
    rows = list(rows)
    # The number, once the case has reached central: a receipt may come before the case's own events do. Read in
    # one query per 500 pairs: a refresh runs after every batch with custody events and reads every open pair.
    numbers = _case_numbers(sorted({row.case_id for row in rows if not row.case_number}))
    for row in rows:
        number = row.case_number or numbers.get(row.case_id, "")
        dispatch = None
        if row.dispatch_event:
            dispatch = Dispatch(
                row.manifest_id, row.case_id, row.from_station, row.to_station, row.agent, to_moment(row.dispatched_at),
                Direction(row.direction), number, row.dispatch_event,
            )  # fmt: skip
        receipts = [
            Receipt(
                row.manifest_id,
                row.case_id,
                r["station"],
                r["by"],
                to_moment(r["at"]),
                sending_station=_sender_of(row),
                case_number=number,
                ref=r["event"],
            )
            for r in json.loads(row.receipts)
        ]
        [record] = pair_custody([dispatch] if dispatch else [], receipts)
        out.append((row, record))
    return out


@dataclass(frozen=True)
class RefreshResult:
    opened: list[str]
    cleared: list[str]


def refresh_custody(
    today: dt.date | None = None, calendar: WorkingCalendar | None = None, limits: CustodyLimits | None = None
) -> RefreshResult:
    """Read new custody events, pair them, and bring the class-D issues up to date, in one transaction."""
    today = today or dt.datetime.now(CHINA).date()
    calendar = calendar or reference_calendar()
    with write_transaction():
        cursor = _cursor()
        touched = _read_new_events(cursor)
        _refresh_holdings(touched)
        records = _records(CustodyPair.select().where(CustodyPair.status != CustodyStatus.CLOSED.value))
        for row, record in records:
            if record.status.value != row.status:
                CustodyPair.update(status=record.status.value).where(CustodyPair.id == row.id).execute()
        anomalies = custody_anomalies(
            [r for _, r in records], today=today, calendar=calendar, level_of=_levels().get, limits=limits
        )
        holdings = [
            Holding(HoldingKind(h.kind), h.case_id, h.station_code, to_moment(h.since), h.case_number)
            for h in CustodyHolding.select()
        ]
        anomalies += holding_anomalies(holdings, today=today, calendar=calendar, limits=limits)
        result = _sync_issues(anomalies, cursor)
        return result


CLEARED_OUTCOME = "custody_cleared"  # the missing half arrived: the anomaly closed by itself
SETTLED_OUTCOME = "custody_settled"  # a person established where the paper is


def _open_conflict(anomaly: CustodyAnomaly) -> int:
    """The issue's record in central's conflict queue (class D, owned by the first station concerned)."""
    conflict = Conflict.create(
        conflict_class=CONFLICT_CLASS, status="open", outcome=anomaly.kind.value[:32],
        reason_zh=anomaly.message.text("zh"), reason_en=anomaly.message.text("en"),
        station_code=anomaly.stations[0] if anomaly.stations else "", aggregate_id=anomaly.case_id,
        incoming_applied=True,  # custody events always count; only people can say where the paper is
    )  # fmt: skip
    return int(conflict.id)


def _close_conflict(conflict_id: int | None, outcome: str, actor: str, *, automatic: bool) -> None:
    """Close the conflict with a central resolution event in the log (it reaches the stations downstream)."""
    conflict = Conflict.get_or_none(Conflict.id == conflict_id) if conflict_id else None
    if conflict is None or conflict.status != "open":
        return
    conflict.status = "auto_resolved" if automatic else "resolved"
    conflict.outcome = outcome
    conflict.resolved_at = utcnow()
    conflict.resolved_by = "" if automatic else actor[:64]
    conflict.resolution_event_id = append_resolution(conflict, outcome, actor, automatic=automatic)
    conflict.save()


def _adopt_resolutions_made_in_the_queue(cursor: CustodyCursor) -> bool:
    """A person may settle a class-D conflict from the general conflict queue: the issue follows."""
    changed = False
    rows = list(
        CustodyIssue.select().where((CustodyIssue.status == "open") & CustodyIssue.conflict_id.is_null(False))
    )
    resolved = {  # one query, not one per open issue: a refresh runs after every batch with custody events
        conflict.id: conflict
        for conflict in Conflict.select().where(
            Conflict.id.in_(sorted({row.conflict_id for row in rows})), Conflict.status == "resolved"
        )
    } if rows else {}  # fmt: skip
    for row in rows:
        conflict = resolved.get(row.conflict_id)
        if conflict is not None:
            CustodyIssue.update(
                status="resolved", closed_at=conflict.resolved_at or utcnow(), resolved_by=conflict.resolved_by,
                resolution=conflict.outcome, revision=cursor.revision + 1,
            ).where(CustodyIssue.key == row.key).execute()  # fmt: skip
            changed = True
    return changed


def _sync_issues(anomalies: list[CustodyAnomaly], cursor: CustodyCursor) -> RefreshResult:
    now = utcnow()
    current = {a.key: a for a in anomalies}
    opened, cleared = [], []
    changed = _adopt_resolutions_made_in_the_queue(cursor)
    keys = sorted(current)
    existing = {
        row.key: row
        for start in range(0, len(keys), 500)
        for row in CustodyIssue.select().where(CustodyIssue.key.in_(keys[start : start + 500]))
    }
    for key, anomaly in current.items():
        row = existing.get(key)
        values = {
            "kind": anomaly.kind.value, "case_id": anomaly.case_id, "case_number": anomaly.case_number,
            "manifest_id": anomaly.manifest_id, "stations": json.dumps(list(anomaly.stations)),
            "since": anomaly.since.isoformat(), "age_days": anomaly.age_days,
            "description_zh": anomaly.message.text("zh"), "description_en": anomaly.message.text("en"),
        }  # fmt: skip
        if row is None or row.status == "cleared":
            fresh = {**values, "status": "open", "closed_at": None, "revision": cursor.revision + 1,
                     "conflict_id": _open_conflict(anomaly)}  # fmt: skip
            if row is None:
                CustodyIssue.create(key=key, raised_at=now, **fresh)
            else:
                CustodyIssue.update(**fresh).where(CustodyIssue.key == key).execute()
            opened.append(key)
            changed = True
        elif row.status == "open" and (row.description_zh, row.stations) != (
            values["description_zh"],
            values["stations"],
        ):
            CustodyIssue.update(revision=cursor.revision + 1, **values).where(
                CustodyIssue.key == key
            ).execute()
            if row.conflict_id:
                Conflict.update(reason_zh=values["description_zh"], reason_en=values["description_en"]).where(
                    Conflict.id == row.conflict_id
                ).execute()
            changed = True
    for row in CustodyIssue.select().where(CustodyIssue.status == "open"):
        if row.key not in current:
            CustodyIssue.update(status="cleared", closed_at=now, revision=cursor.revision + 1).where(
                CustodyIssue.key == row.key
            ).execute()
            _close_conflict(row.conflict_id, CLEARED_OUTCOME, "central", automatic=True)
            cleared.append(row.key)
            changed = True
    if changed:
        cursor.revision += 1
        cursor.save()
    return RefreshResult(opened, cleared)


def resolve_issue(key: str, actor: str, note: str) -> CustodyIssue | None:
    """A person's resolution (where the paper really is): audited, and a central resolution event in the log."""
    with write_transaction():
        row = CustodyIssue.get_or_none(CustodyIssue.key == key)
        if row is None or row.status == "resolved":
            return row
        cursor = _cursor()
        cursor.revision += 1
        cursor.save()
        CustodyIssue.update(
            status="resolved", closed_at=utcnow(), resolved_by=actor[:64], resolution=note.strip()[:2000],
            revision=cursor.revision,
        ).where(CustodyIssue.key == key).execute()  # fmt: skip
        _close_conflict(row.conflict_id, SETTLED_OUTCOME, actor, automatic=False)
        record_audit(
            actor,
            "resolution",
            key,
            {"class": CONFLICT_CLASS, "kind": row.kind, "note": note.strip()[:500]},
        )
        return CustodyIssue.get_by_id(key)


def list_issues(
    status: str | None = "open", station: str | None = None, limit: int = 200
) -> list[CustodyIssue]:
    query = CustodyIssue.select().order_by(CustodyIssue.since, CustodyIssue.key)
    if status:
        query = query.where(CustodyIssue.status == status)
    rows = list(query.limit(limit * 5 if station else limit))
    if station:
        rows = [r for r in rows if station in r.station_codes][:limit]
    return rows


def open_issue_counts() -> dict[str, int]:
    """Open custody issues per station (station health)."""
    counts: dict[str, int] = {}
    for row in CustodyIssue.select(CustodyIssue.stations).where(CustodyIssue.status == "open"):
        for code in json.loads(row.stations):
            counts[code] = counts.get(code, 0) + 1
    return counts


def custody_issues_part(station_code: str) -> tuple[int, bytes]:
    """The downstream part for one station: its open class-D issues (canonical JSON) and the part's version.

    The version is the issues' revision counter, so it moves whenever any issue changes and never goes back.
    """
    cursor = CustodyCursor.get_or_none(CustodyCursor.id == 1)
    issues = [row.to_conflict() for row in list_issues("open", station_code, limit=10_000)]
    document = {
        "format": "yiciban.custody_issues/1",
        "station": station_code,
        "issues": issues,
        "received": _received_from(station_code),
    }
    return (cursor.revision if cursor else 0), canonical_bytes(document)


def _received_from(station_code: str, days: int = RECEIVED_NOTICE_DAYS) -> list[dict[str, str]]:
    """Folders this station sent that their destination received lately, so its agents stop carrying them."""
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).isoformat()
    out = []
    for pair in CustodyPair.select().where(
        (CustodyPair.from_station == station_code) & (CustodyPair.receipts != "[]")
    ):
        matched = [r for r in json.loads(pair.receipts) if r["station"] == pair.to_station]
        if matched and to_moment(matched[0]["at"]) >= to_moment(since):
            out.append(
                {"manifest_id": pair.manifest_id, "case_id": pair.case_id, "received_at": matched[0]["at"]}
            )
    return sorted(out, key=lambda r: (r["manifest_id"], r["case_id"]))
