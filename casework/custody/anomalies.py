"""Custody anomalies as class-D conflicts, and holdings: paper sitting at a station too long."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from casework.calendar import WorkingCalendar
from casework.deadlines import VILLAGE_TRANSFER_DAYS
from casework.errors import CalendarMissingError, Message
from casework.events import CaseEvent

from .common import (
    CONFLICT_CLASS,
    DEFAULT_TRANSIT_DAYS,
    RESULT_HOLD_DAYS,
    CustodyError,
    Direction,
    local_day,
    text,
    to_moment,
)
from .handover import CustodyRecord

# --- anomalies (conflict class D) ----------------------------------------------------------------------------


class AnomalyKind(Enum):
    RECEIPT_WITHOUT_DISPATCH = "receipt_without_dispatch"
    DOUBLE_RECEIPT = "double_receipt"
    WRONG_STATION = "wrong_station"
    TRANSIT_OVERDUE = "transit_overdue"
    RESULT_NOT_DELIVERED = "result_not_delivered"
    VILLAGE_HOLDING_OVERDUE = "village_holding_overdue"


@dataclass(frozen=True)
class CustodyLimits:
    """How long paper may sit or travel, in working days; per-hop limits by station pair or by level pair."""

    hop_days: Mapping[tuple[str, str], int] = field(
        default_factory=lambda: {("village", "township"): DEFAULT_TRANSIT_DAYS}
    )
    default_transit_days: int = DEFAULT_TRANSIT_DAYS
    result_hold_days: int = RESULT_HOLD_DAYS
    village_hold_days: int = VILLAGE_TRANSFER_DAYS
    receipt_grace_days: int = 0  # how long a receipt may wait for its dispatch to arrive by sync

    def transit_days(self, from_station: str, to_station: str, level_of: Callable[[str], str | None]) -> int:
        if (from_station, to_station) in self.hop_days:
            return self.hop_days[(from_station, to_station)]
        levels = (level_of(from_station) or "", level_of(to_station) or "")
        return self.hop_days.get(levels, self.default_transit_days)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> CustodyLimits:
        """Limits from a node's settings (``CUSTODY_*``; any missing one keeps its default).

        ``CUSTODY_HOP_DAYS`` lists per-hop limits, by level or by station code:
        ``"village>township=3; township>county=5; 990101101201>990101101000=2"``.

        Raises:
            CustodyError: a hop rule or a number that cannot be read (code ``bad_custody_setting``).
        """
        defaults = cls()
        hops = dict(defaults.hop_days)
        hops.update(parse_hop_days(str(settings.get("CUSTODY_HOP_DAYS") or "")))
        return cls(
            hop_days=hops,
            default_transit_days=_days(settings, "CUSTODY_TRANSIT_DAYS", defaults.default_transit_days),
            result_hold_days=_days(settings, "CUSTODY_RESULT_HOLD_DAYS", defaults.result_hold_days),
            village_hold_days=_days(settings, "CUSTODY_VILLAGE_HOLD_DAYS", defaults.village_hold_days),
            receipt_grace_days=_days(settings, "CUSTODY_RECEIPT_GRACE_DAYS", defaults.receipt_grace_days),
        )


_HOP_RULE = re.compile(r"\s*([a-z0-9]+)\s*>\s*([a-z0-9]+)\s*=\s*(\d{1,3})\s*")


def parse_hop_days(spec: str) -> dict[tuple[str, str], int]:
    """``"village>township=3; township>county=5"`` → {("village", "township"): 3, ("township", "county"): 5}."""
    hops: dict[tuple[str, str], int] = {}
    for rule in filter(None, (r.strip() for r in re.split(r"[;,\n]", spec))):
        match = _HOP_RULE.fullmatch(rule)
        if match is None:
            raise CustodyError(text("bad_custody_setting", setting="CUSTODY_HOP_DAYS", value=rule))
        hops[(match.group(1), match.group(2))] = int(match.group(3))
    return hops


def _days(settings: Mapping[str, Any], name: str, default: int) -> int:
    raw = settings.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool) or not str(raw).strip().isdigit():
        raise CustodyError(text("bad_custody_setting", setting=name, value=raw))
    return int(str(raw).strip())


@dataclass(frozen=True)
class CustodyAnomaly:
    """One custody issue: a class-D conflict with a bilingual description and the stations it concerns."""

    kind: AnomalyKind
    case_id: str
    manifest_id: str
    stations: tuple[str, ...]
    since: dt.date
    message: Message
    case_number: str = ""
    age_days: int | None = None  # working days since ``since``; None when the calendar is missing
    limit_days: int | None = None
    calendar_warning: Message | None = None

    conflict_class = CONFLICT_CLASS

    @property
    def key(self) -> str:
        """Stable identity: raising the same anomaly again is the same conflict record."""
        return f"custody:{self.kind.value}:{self.manifest_id or '-'}:{self.case_id}"

    def to_conflict(self) -> dict[str, Any]:
        """The conflict record (class D) in plain, canonical-friendly form."""
        return {
            "class": CONFLICT_CLASS,
            "kind": self.kind.value,
            "key": self.key,
            "case_id": self.case_id,
            "case_number": self.case_number,
            "manifest_id": self.manifest_id,
            "stations": list(self.stations),
            "since": self.since.isoformat(),
            "age_days": self.age_days,
            "limit_days": self.limit_days,
            "description": {"zh": self.message.text("zh"), "en": self.message.text("en")},
            "calendar_warning": None if self.calendar_warning is None else self.calendar_warning.to_dict(),
        }


def working_age(
    calendar: WorkingCalendar, since: dt.date, today: dt.date
) -> tuple[int | None, Message | None]:
    """Working days from ``since`` to ``today``, or None and the calendar warning when a year is missing."""
    try:
        return calendar.working_days_between(since, today), None
    except CalendarMissingError as missing:
        return None, missing.message


def _past_limit(
    calendar: WorkingCalendar, since: dt.date, limit: int, today: dt.date
) -> tuple[bool, Message | None]:
    """Is ``today`` after the limit-th working day after ``since``? (A missing year: the labelled estimate.)"""
    result = calendar.add_working_days_checked(since, limit)
    deadline = result.date or result.estimate
    assert deadline is not None
    return today > deadline, result.warning


def _anomaly(
    kind: AnomalyKind,
    case_id: str,
    manifest_id: str,
    stations: tuple[str, ...],
    since: dt.date,
    msg: Message,
    case_number: str,
    today: dt.date,
    calendar: WorkingCalendar,
    limit: int | None = None,
    warning: Message | None = None,
) -> CustodyAnomaly:
    age, age_warning = working_age(calendar, since, today)
    return CustodyAnomaly(
        kind, case_id, manifest_id, stations, since, msg, case_number, age, limit, warning or age_warning
    )


def custody_anomalies(
    records: Iterable[CustodyRecord],
    *,
    today: dt.date,
    calendar: WorkingCalendar,
    level_of: Callable[[str], str | None] = lambda _code: None,
    limits: CustodyLimits | None = None,
) -> list[CustodyAnomaly]:
    """Every anomaly among paired custody records, as of ``today`` (a local date)."""
    limits = limits or CustodyLimits()
    found: list[CustodyAnomaly] = []
    for record in records:
        found.extend(_record_anomalies(record, today, calendar, level_of, limits))
    return found


def _record_anomalies(
    record: CustodyRecord,
    today: dt.date,
    calendar: WorkingCalendar,
    level_of: Callable[[str], str | None],
    limits: CustodyLimits,
) -> list[CustodyAnomaly]:
    def raise_(
        kind: AnomalyKind,
        since: dt.date,
        msg: Message,
        limit: int | None = None,
        warning: Message | None = None,
    ) -> None:
        number = record.case_number
        out.append(
            _anomaly(
                kind, record.case_id, record.manifest_id, record.stations, since, msg, number, today, calendar,
                limit, warning,
            )
        )  # fmt: skip

    out: list[CustodyAnomaly] = []
    case, manifest, dispatch = record.case_number or record.case_id, record.manifest_id, record.dispatch
    if dispatch is None:
        first = record.receipts[0]
        since = local_day(first.at)
        late, warning = _past_limit(calendar, since, limits.receipt_grace_days, today)
        if late or limits.receipt_grace_days == 0:
            msg = text(
                "custody_receipt_without_dispatch", case=case, station=first.station, manifest=manifest
            )
            raise_(AnomalyKind.RECEIPT_WITHOUT_DISPATCH, since, msg, warning=warning)
    stations = record.receiving_stations
    if len(stations) > 1:
        msg = text("custody_double_receipt", case=case, manifest=manifest, stations=", ".join(stations))
        raise_(AnomalyKind.DOUBLE_RECEIPT, local_day(record.receipts[1].at), msg)
    if dispatch is None:
        return out
    wrong = [r for r in record.receipts if r.station != dispatch.to_station]
    if wrong:
        msg = text(
            "custody_wrong_station",
            case=case,
            expected=dispatch.to_station,
            actual=wrong[0].station,
            manifest=manifest,
        )
        raise_(AnomalyKind.WRONG_STATION, local_day(wrong[0].at), msg)
    if record.matched_receipt is None:
        limit = limits.transit_days(dispatch.from_station, dispatch.to_station, level_of)
        since = local_day(dispatch.at)
        late, warning = _past_limit(calendar, since, limit, today)
        if late:
            msg = text(
                "custody_transit_overdue",
                case=case, agent=dispatch.agent, since=since.isoformat(), to=dispatch.to_station, limit=limit,
            )  # fmt: skip
            raise_(AnomalyKind.TRANSIT_OVERDUE, since, msg, limit, warning)
    return out


# --- holdings: paper sitting at a station --------------------------------------------------------------------


class HoldingKind(Enum):
    VILLAGE_FORWARDING = "village_forwarding"  # received at the village, not yet sent up
    RESULT_DELIVERY = "result_delivery"  # result at a station, not yet handed to the applicant (送达)


@dataclass(frozen=True)
class Holding:
    """A case's paper waiting at ``station`` since ``since`` for its next step."""

    kind: HoldingKind
    case_id: str
    station: str
    since: dt.datetime
    case_number: str = ""


_ENDS_EVERYTHING = frozenset({"withdrawn", "terminated", "not_accepted", "delivered"})
HOLDING_EVENT_TYPES = (
    frozenset({"received", "custody_dispatched", "custody_received", "result_ready"}) | _ENDS_EVERYTHING
)
"""The only event types :func:`holdings_from_events` looks at: a reader may pass a case's events of these types
alone (every other event leaves the holdings as they are)."""


def holdings_from_events(case_id: str, events: Iterable[CaseEvent], case_number: str = "") -> list[Holding]:
    """The holdings still open after ``events`` (one case, in log order)."""
    held: dict[HoldingKind, Holding] = {}
    for e in events:
        p = e.payload
        # The business date the payload records wins over the event's clock (a late-synced or back-entered act).
        at = p.get("at") or p.get("received_on") or p.get("ready_on") or e.at
        if e.type == "received" and p.get("to") == "village_received":
            kind, station = HoldingKind.VILLAGE_FORWARDING, p.get("station") or e.station
            held[kind] = Holding(kind, case_id, station, to_moment(at), case_number)
        elif e.type == "custody_dispatched":
            up = p["direction"] == Direction.UP.value
            held.pop(HoldingKind.VILLAGE_FORWARDING if up else HoldingKind.RESULT_DELIVERY, None)
        elif e.type == "result_ready" or (
            e.type == "custody_received" and p["direction"] == Direction.DOWN.value
        ):
            kind = HoldingKind.RESULT_DELIVERY
            held[kind] = Holding(kind, case_id, e.station, to_moment(at), case_number)
        elif e.type in _ENDS_EVERYTHING:
            held.clear()
    return list(held.values())


def holding_anomalies(
    holdings: Iterable[Holding],
    *,
    today: dt.date,
    calendar: WorkingCalendar,
    limits: CustodyLimits | None = None,
) -> list[CustodyAnomaly]:
    """Village holding a case > 3 working days before forwarding; a result held > 5 working days without 送达."""
    limits = limits or CustodyLimits()
    out: list[CustodyAnomaly] = []
    for h in holdings:
        since = local_day(h.since)
        case = h.case_number or h.case_id
        if h.kind is HoldingKind.VILLAGE_FORWARDING:
            limit, kind = limits.village_hold_days, AnomalyKind.VILLAGE_HOLDING_OVERDUE
            msg = text("custody_village_holding", case=case, since=since.isoformat(), limit=limit)
        else:
            limit, kind = limits.result_hold_days, AnomalyKind.RESULT_NOT_DELIVERED
            msg = text(
                "custody_result_not_delivered",
                case=case,
                since=since.isoformat(),
                station=h.station,
                limit=limit,
            )
        late, warning = _past_limit(calendar, since, limit, today)
        if late:
            out.append(
                _anomaly(
                    kind,
                    h.case_id,
                    "",
                    (h.station,),
                    since,
                    msg,
                    h.case_number,
                    today,
                    calendar,
                    limit,
                    warning,
                )
            )
    return out
