"""代办 custody of paper folders (DOMAIN.md §6, SPEC.md §3.4): manifests, two-phase custody, anomalies, hop times.

A 交接单 (handover manifest) lists the folders one 代办员 carries from one station to another. Custody has two
phases recorded at two places: *dispatch* at the sender, *receive* at the receiver (by scanning the folder's signed
label). Records are paired by (manifest, case); a matched pair closes by itself. Everything the software cannot
explain — a receipt without a dispatch, a folder received twice or by the wrong station, a folder in transit past
its limit, a village holding a case too long, a result held without 送达 — is a :class:`CustodyAnomaly`, a
conflict of class D (SYNC-DESIGN.md §9): always for a human, because only people know where paper is.

The 代办委托书 (authorization) lists its powers one by one and never grants 全权; an item that
``requires_personal_appearance`` (行政许可法 §29) cannot be fully proxied.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from casework.calendar import WorkingCalendar
from casework.catalog import Item
from casework.deadlines import VILLAGE_TRANSFER_DAYS
from casework.errors import CalendarMissingError, CaseworkError, Message, message
from casework.events import AUTHORIZATION_POWERS, CaseEvent

CONFLICT_CLASS = "D"
DEFAULT_TRANSIT_DAYS = 3  # 村 → 乡镇 报送 within 3 working days
RESULT_HOLD_DAYS = 5  # a result waiting at a station without 送达
CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
_LABEL_ID = re.compile(r"[\x21-\x7e]{1,64}")

# code → (Chinese, English): every text this module shows a clerk, parameters in braces.
TEXTS: Mapping[str, tuple[str, str]] = {
    "bad_time": ("时间格式无效", "Invalid time value"),
    "bad_sequence": ("交接单序号从 1 开始", "Manifest numbers start at 1"),
    "bad_manifest_id": (
        "交接单编号须为 1–64 个可打印 ASCII 字符",
        "A manifest id is 1–64 printable ASCII characters",
    ),
    "empty_manifest": ("交接单至少要有一份卷宗", "A manifest lists at least one folder"),
    "same_station": ("移交站点与接收站点不能相同", "The sending and receiving stations must differ"),
    "no_agent": ("请指定代办员", "Name the agent who carries the folders"),
    "folder_twice": ("办件 {case} 在交接单上出现了两次", "Case {case} is listed twice on the manifest"),
    "negative_count": ("材料份数和页数不能为负", "Counts cannot be negative"),
    "custody_receipt_without_dispatch": (
        "卷宗 {case} 已由 {station} 签收（交接单 {manifest}），但没有移交记录",
        "Folder {case} was received by {station} (manifest {manifest}) but no dispatch was recorded",
    ),
    "custody_double_receipt": (
        "卷宗 {case}（交接单 {manifest}）被多个站点签收：{stations}",
        "Folder {case} (manifest {manifest}) was received at more than one station: {stations}",
    ),
    "custody_wrong_station": (
        "卷宗 {case} 应送往 {expected}，却由 {actual} 签收（交接单 {manifest}）",
        "Folder {case} was sent to {expected} but received by {actual} (manifest {manifest})",
    ),
    "custody_transit_overdue": (
        "卷宗 {case} 由代办员 {agent} 于 {since} 送往 {to}，超过 {limit} 个工作日仍未签收",
        "Folder {case} left with agent {agent} on {since} for {to} and is still not received after {limit} "
        "working days",
    ),
    "custody_village_holding": (
        "办件 {case} 自 {since} 在村站收件后，超过 {limit} 个工作日仍未报送乡镇",
        "Case {case} was received at the village on {since} and has not been sent up within {limit} working days",
    ),
    "custody_result_not_delivered": (
        "办件 {case} 的结果自 {since} 存放在 {station}，超过 {limit} 个工作日仍未送达申请人",
        "The result of case {case} has been at {station} since {since} and has not been delivered within "
        "{limit} working days",
    ),
    "authorization_no_items": ("委托书须列明委托事项", "The authorization must name the entrusted items"),
    "authorization_no_powers": ("委托权限须逐项列明", "List the entrusted powers one by one"),
    "authorization_blanket_power": (
        "委托书不得使用“全权”等概括授权，请逐项勾选权限（如提交材料、领取告知书、签收结果）",
        "A blanket power ('{power}') is not allowed: tick the powers one by one (submit materials, collect "
        "notices, sign for the result…)",
    ),
    "authorization_unknown_power": ("未知的委托权限：{power}", "Unknown power: {power}"),
    "authorization_power_twice": ("同一权限列了两次", "A power is listed twice"),
    "authorization_dates": ("委托期限不能早于签署日期", "The authorization cannot end before it is signed"),
    "personal_appearance_required": (
        "事项“{item}”依法须申请人本人到场，代办员只能代为递交材料和领取结果，不能全程代办",
        "Item '{item_en}' requires the applicant to appear in person: the agent can carry the file and bring "
        "the result back, but cannot handle it from start to end",
    ),
}


def text(code: str, /, **params: Any) -> Message:
    """The bilingual message ``code`` of :data:`TEXTS` with its parameters."""
    zh, en = TEXTS[code]
    return message(code, zh, en, **params)


class CustodyError(CaseworkError):
    """A manifest or custody record that cannot describe a real hand-over."""

    code = "custody_invalid"


class AuthorizationError(CustodyError):
    """A 代办委托书 that may not be recorded (blanket powers, an item that needs the applicant in person…)."""

    code = "authorization_invalid"


class Direction(Enum):
    """up: village → township → county (the file); down: results coming back."""

    UP = "up"
    DOWN = "down"


def to_moment(at: dt.datetime | str | int) -> dt.datetime:
    """An aware datetime from an event time (ISO text, integer ms, or a datetime); naive means China time."""
    if isinstance(at, dt.datetime):
        moment = at
    elif isinstance(at, int) and not isinstance(at, bool):
        moment = dt.datetime.fromtimestamp(at / 1000, tz=dt.UTC)
    elif isinstance(at, str):
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    else:
        raise CustodyError(text("bad_time"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA_TIME)


def local_day(at: dt.datetime | str | int) -> dt.date:
    """The date in China (UTC+8) on which something happened: working days are counted on local dates."""
    return to_moment(at).astimezone(CHINA_TIME).date()


# --- manifests (交接单) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Folder:
    """One case folder on a manifest: what its signed label carries (case, item, masked applicant, materials)."""

    case_id: str
    case_number: str
    item_code: str
    masked_applicant: str
    material_count: int
    pages: int = 0

    def label_fields(self, sending_station: str, manifest_id: str) -> dict[str, Any]:
        """The fields of the folder's custody QR (sync_protocol.receipts kind ``c``)."""
        return {
            "case_id": self.case_id,
            "case_number": self.case_number,
            "item_code": self.item_code,
            "sending_station": sending_station,
            "masked_applicant": self.masked_applicant,
            "material_count": self.material_count,
            "manifest_id": manifest_id,
        }


@dataclass(frozen=True)
class Manifest:
    """交接单: the folders one agent carries from one station to another, in one direction."""

    manifest_id: str
    from_station: str
    to_station: str
    agent: str
    direction: Direction
    folders: tuple[Folder, ...]
    created_at: dt.datetime

    @property
    def case_ids(self) -> tuple[str, ...]:
        return tuple(f.case_id for f in self.folders)


def manifest_number(station_code: str, day: dt.date, sequence: int) -> str:
    """A readable manifest id unique without central: station code + date + daily sequence (…-20261123-M01)."""
    if sequence < 1:
        raise CustodyError(text("bad_sequence"))
    return f"{station_code}-{day:%Y%m%d}-M{sequence:02d}"


def new_manifest(
    manifest_id: str,
    *,
    from_station: str,
    to_station: str,
    agent: str,
    folders: Sequence[Folder],
    created_at: dt.datetime,
    direction: Direction = Direction.UP,
) -> Manifest:
    """Validate and build a 交接单.

    Raises:
        CustodyError: no folders, a case listed twice, sender = receiver, no agent, or an id a label cannot carry.
    """
    problem = None
    if not _LABEL_ID.fullmatch(manifest_id):
        problem = text("bad_manifest_id")
    elif not folders:
        problem = text("empty_manifest")
    elif from_station == to_station:
        problem = text("same_station")
    elif not agent.strip():
        problem = text("no_agent")
    elif any(f.material_count < 0 or f.pages < 0 for f in folders):
        problem = text("negative_count")
    else:
        seen: set[str] = set()
        for folder in folders:
            if folder.case_id in seen:
                problem = text("folder_twice", case=folder.case_number)
            seen.add(folder.case_id)
    if problem is not None:
        raise CustodyError(problem)
    return Manifest(
        manifest_id, from_station, to_station, agent.strip(), direction, tuple(folders), created_at
    )


# --- two-phase custody ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dispatch:
    """移交: the sending station handed a folder to an agent for ``to_station``."""

    manifest_id: str
    case_id: str
    from_station: str
    to_station: str
    agent: str
    at: dt.datetime
    direction: Direction = Direction.UP
    case_number: str = ""
    ref: str = ""  # the event id that recorded it


@dataclass(frozen=True)
class Receipt:
    """签收: ``station`` registered the folder (by its label), possibly before the case data reached it."""

    manifest_id: str
    case_id: str
    station: str
    received_by: str
    at: dt.datetime
    sending_station: str = ""  # from the signed label
    case_number: str = ""
    ref: str = ""


class CustodyStatus(Enum):
    IN_TRANSIT = "in_transit"  # dispatched, not yet received anywhere
    CLOSED = "closed"  # a matched pair: received by the station it was sent to, and only there
    UNMATCHED = "unmatched"  # received, no dispatch known (yet)
    DISPUTED = "disputed"  # received at a wrong station or at more than one


@dataclass(frozen=True)
class CustodyRecord:
    """Both phases of one folder's hand-over on one manifest."""

    manifest_id: str
    case_id: str
    dispatch: Dispatch | None
    receipts: tuple[Receipt, ...] = ()

    @property
    def case_number(self) -> str:
        if self.dispatch is not None and self.dispatch.case_number:
            return self.dispatch.case_number
        return next((r.case_number for r in self.receipts if r.case_number), "")

    @property
    def receiving_stations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.station for r in self.receipts))

    @property
    def matched_receipt(self) -> Receipt | None:
        """The first receipt at the station the folder was sent to."""
        if self.dispatch is None:
            return None
        return next((r for r in self.receipts if r.station == self.dispatch.to_station), None)

    @property
    def status(self) -> CustodyStatus:
        if self.dispatch is None:
            return CustodyStatus.UNMATCHED if self.receipts else CustodyStatus.IN_TRANSIT
        if not self.receipts:
            return CustodyStatus.IN_TRANSIT
        if len(self.receiving_stations) == 1 and self.matched_receipt is not None:
            return CustodyStatus.CLOSED
        return CustodyStatus.DISPUTED

    @property
    def stations(self) -> tuple[str, ...]:
        """Every station concerned (sender, intended receiver, actual receivers): where the issue is shown."""
        found = [self.dispatch.from_station, self.dispatch.to_station] if self.dispatch else []
        found += [r.sending_station for r in self.receipts] + [r.station for r in self.receipts]
        return tuple(dict.fromkeys(s for s in found if s))


def pair_custody(dispatches: Iterable[Dispatch], receipts: Iterable[Receipt]) -> list[CustodyRecord]:
    """Group both phases by (manifest, case); repeated deliveries of the same record count once.

    The same station registering the same label twice is one receipt (a re-scan); two stations are two.
    """
    by_key: dict[tuple[str, str], Dispatch] = {}
    for d in dispatches:
        by_key.setdefault((d.manifest_id, d.case_id), d)
    received: dict[tuple[str, str], dict[str, Receipt]] = {}
    for r in sorted(receipts, key=lambda r: (r.at, r.station)):
        received.setdefault((r.manifest_id, r.case_id), {}).setdefault(r.station, r)
    keys = sorted(set(by_key) | set(received))
    return [CustodyRecord(k[0], k[1], by_key.get(k), tuple(received.get(k, {}).values())) for k in keys]


def custody_from_events(events: Iterable[CaseEvent]) -> tuple[list[Dispatch], list[Receipt]]:
    """Read custody events (case id from ``extra["case_id"]`` or ``extra["aggregate_id"]``).

    A dispatch's sender and a receipt's receiver are the station that recorded the event.
    """
    dispatches: list[Dispatch] = []
    receipts: list[Receipt] = []
    for e in events:
        p, x = e.payload, e.extra
        case_id = str(x.get("case_id") or x.get("aggregate_id") or "")
        number, ref = str(x.get("case_number", "")), str(x.get("event_id", ""))
        if e.type == "custody_dispatched":
            dispatches.append(
                Dispatch(
                    p["manifest_id"], case_id, e.station, p["to_station"], p["carrier"], to_moment(p["at"]),
                    Direction(p["direction"]), number, ref,
                )
            )  # fmt: skip
        elif e.type == "custody_received":
            sender = str(p.get("sending_station") or x.get("sending_station") or "")
            receipts.append(
                Receipt(
                    p["manifest_id"],
                    case_id,
                    e.station,
                    p["received_by"],
                    to_moment(p["at"]),
                    sender,
                    number,
                    ref,
                )
            )
    return dispatches, receipts


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


def _age(calendar: WorkingCalendar, since: dt.date, today: dt.date) -> tuple[int | None, Message | None]:
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
    age, age_warning = _age(calendar, since, today)
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
        days = None if r is None else _age(calendar, local_day(d.at), local_day(r.at))[0]
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
            hold = _age(calendar, start, local_day(first_up.dispatched_at))[0]
            break
    hop_days = [h.working_days for h in hops if h.received_at is not None]
    transit = None if None in hop_days else sum(d for d in hop_days if d is not None)
    return RouteTimes(case_id, tuple(hops), len(hops), hold, transit)


# --- 代办委托书 ------------------------------------------------------------------------------------------------

POWER_LABELS: Mapping[str, tuple[str, str]] = {
    "submit_materials": ("代为提交申请材料", "submit the application materials"),
    "supply_corrections": ("代为补正材料", "supply corrected or missing materials"),
    "receive_notices": ("代为领取告知书、通知书", "collect notices (correction, acceptance)"),
    "sign_for_result": ("代为签收办理结果", "sign for the result"),
    "withdraw": ("代为撤回申请", "withdraw the application"),
}
_BLANKET_ZH = ("全权", "一切", "所有", "全部")
_BLANKET_EN = frozenset({"all", "full", "any", "everything", "general"})


@dataclass(frozen=True)
class ItemScope:
    """How far one entrusted item can be proxied: fully, or only partly (the applicant must appear in person)."""

    item_code: str
    name_zh: str
    fully_proxiable: bool
    warning: Message | None = None


@dataclass(frozen=True)
class AuthorizationCheck:
    """A valid 代办委托书: the powers in print order and each item's scope, with warnings to show and print."""

    powers: tuple[str, ...]
    items: tuple[ItemScope, ...]

    @property
    def warnings(self) -> tuple[Message, ...]:
        return tuple(s.warning for s in self.items if s.warning is not None)

    def power_labels(self, locale: str = "zh") -> tuple[str, ...]:
        return tuple(POWER_LABELS[p][0 if locale.startswith("zh") else 1] for p in self.powers)


def personal_appearance_warning(item: Item) -> Message:
    return text("personal_appearance_required", item=item.name_zh, item_en=item.name_en)


def _power_problem(power: str) -> Message | None:
    if power in POWER_LABELS and power in AUTHORIZATION_POWERS:
        return None
    words = set(re.split(r"[^a-z]+", power.lower()))
    if any(word in power for word in _BLANKET_ZH) or words & _BLANKET_EN:
        return text("authorization_blanket_power", power=power)
    return text("authorization_unknown_power", power=power)


def check_authorization(
    items: Sequence[Item],
    powers: Sequence[str],
    *,
    signed_on: dt.date,
    valid_until: dt.date | None = None,
    full_proxy: bool = False,
) -> AuthorizationCheck:
    """Check a 代办委托书 before it is recorded and printed.

    Args:
        items: the entrusted items (委托事项).
        powers: codes of :data:`POWER_LABELS`, listed one by one; a blanket power (全权) is refused.
        full_proxy: the applicant asks for 全程代办 (never appearing); refused for an item that
            ``requires_personal_appearance``. Without it such items are accepted with a warning.

    Raises:
        AuthorizationError: codes ``authorization_no_items``, ``authorization_no_powers``,
            ``authorization_blanket_power``, ``authorization_unknown_power``, ``authorization_power_twice``,
            ``authorization_dates`` or ``personal_appearance_required``.
    """
    if not items:
        raise AuthorizationError(text("authorization_no_items"))
    if not powers:
        raise AuthorizationError(text("authorization_no_powers"))
    for power in powers:
        problem = _power_problem(power)
        if problem is not None:
            raise AuthorizationError(problem)
    if len(set(powers)) != len(powers):
        raise AuthorizationError(text("authorization_power_twice"))
    if valid_until is not None and valid_until < signed_on:
        raise AuthorizationError(text("authorization_dates"))
    scopes: list[ItemScope] = []
    for item in items:
        if not item.requires_personal_appearance:
            scopes.append(ItemScope(item.code, item.name_zh, True))
        elif full_proxy:
            raise AuthorizationError(personal_appearance_warning(item))
        else:
            scopes.append(ItemScope(item.code, item.name_zh, False, personal_appearance_warning(item)))
    order = list(POWER_LABELS)
    return AuthorizationCheck(tuple(sorted(powers, key=order.index)), tuple(scopes))


def authorization_payload(
    check: AuthorizationCheck,
    *,
    agent_id: str,
    signed_on: dt.date,
    valid_until: dt.date | None = None,
    document_ref: str | None = None,
) -> dict[str, Any]:
    """The ``authorization_recorded`` event payload for a checked 代办委托书."""
    return {
        "agent_id": agent_id,
        "powers": list(check.powers),
        "signed_on": signed_on.isoformat(),
        "valid_until": None if valid_until is None else valid_until.isoformat(),
        "document_ref": document_ref,
    }
