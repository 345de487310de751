"""Folding a case's events into its current view: state, clock inputs, materials and gaps, timeline.

:func:`fold` is pure and total: it applies events in the order given (the log's order, as central settled it).
A transition whose ``from`` differs from the state reached so far is applied anyway — the log is the truth — and
recorded as an anomaly; an invalid payload is an anomaly and skipped (or raises when ``strict``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from casework.deadlines import ClockInputs, Pause
from casework.errors import EventPayloadError, Message, message
from casework.lifecycle import TERMINAL_STATES, CaseState, transitions_for


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the case page's timeline."""

    at: str | int
    event_type: str
    summary: Message
    actor: str = ""
    station: str = ""


@dataclass
class Gap:
    """A 容缺 material: when it must be supplied and when it was."""

    material: str
    supply_by: dt.date
    supplied_on: dt.date | None = None


@dataclass
class CaseView:
    """The current picture of one case, rebuilt from its events."""

    state: CaseState | None = None
    case_no: str = ""
    item_code: str = ""
    item_version: int = 0
    applicant_id: str = ""
    agent_id: str | None = None
    station: str = ""
    village_received_on: dt.date | None = None
    received_on: dt.date | None = None
    correction_notice_on: dt.date | None = None
    accepted_on: dt.date | None = None
    refused_on: dt.date | None = None
    forwarded_on: dt.date | None = None
    pauses: list[Pause] = field(default_factory=list)
    extension_days: int = 0
    gaps: dict[str, Gap] = field(default_factory=dict)
    materials: dict[str, str] = field(default_factory=dict)
    decision: str | None = None  # granted / refused
    decision_reasons: list[str] = field(default_factory=list)
    document_no: str | None = None
    decided_on: dt.date | None = None
    result_ready_on: dt.date | None = None
    delivered_on: dt.date | None = None
    delivery_method: str | None = None
    closed_on: dt.date | None = None
    close_reason: str | None = None
    review_steps: int = 0
    ratings: list[dict[str, Any]] = field(default_factory=list)
    followups: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    authorizations: list[dict[str, Any]] = field(default_factory=list)
    custody: dict[str, Any] | None = None  # the folder in transit: manifest, direction, since
    merged_into: str | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    anomalies: list[Message] = field(default_factory=list)

    @property
    def extended(self) -> bool:
        return self.extension_days > 0

    @property
    def open_gaps(self) -> dict[str, dt.date]:
        return {g.material: g.supply_by for g in self.gaps.values() if g.supplied_on is None}

    @property
    def paused(self) -> bool:
        return any(p.end is None for p in self.pauses)

    @property
    def is_open(self) -> bool:
        return self.state is not None and self.state not in TERMINAL_STATES and self.merged_into is None

    def clock_inputs(self, promised_days: int, legal_days: int | None = None) -> ClockInputs:
        """Inputs for :func:`casework.deadlines.compute_clock`, with the limits of the pinned item version."""
        return ClockInputs(
            promised_days=promised_days,
            legal_days=legal_days,
            village_received_on=self.village_received_on,
            received_on=self.received_on,
            correction_notice_on=self.correction_notice_on,
            accepted_on=self.accepted_on,
            refused_on=self.refused_on,
            pauses=tuple(self.pauses),
            extension_days=self.extension_days,
            result_ready_on=self.result_ready_on,
            closed=self.state in {CaseState.NOT_ACCEPTED, CaseState.WITHDRAWN, CaseState.TERMINATED}
            or self.merged_into is not None,
            open_gaps=self.open_gaps,
        )


def _d(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def fold(
    events: Iterable[Any], *, strict: bool = False, view: CaseView | None = None, timeline: bool = True
) -> CaseView:
    """Apply ``events`` (CaseEvent-like: type, payload, at, actor, station) in order to an empty view, or onto
    ``view`` (the result of folding the events before them; it is changed in place). ``timeline=False`` leaves
    the timeline alone (a projection that does not show it).

    Raises:
        EventPayloadError: only when ``strict`` and a payload is invalid.
    """
    from casework.events import action_of, validate_payload

    view = CaseView() if view is None else view
    for event in events:
        try:
            validate_payload(event.type, event.payload)
        except EventPayloadError as error:
            if strict:
                raise
            view.anomalies.append(error.message)
            continue
        p = event.payload
        if "to" in p:
            _apply_transition(view, event.type, p, action_of(event.type, p))
        _APPLY.get(event.type, _ignore)(view, p)
        if timeline:
            view.timeline.append(
                TimelineEntry(event.at, event.type, _summary(event.type, p), event.actor, event.station)
            )
    return view


# Hand-overs of the paper folder: they record where the paper is, and change the state only on the way up.
_CUSTODY_TYPES = frozenset({"custody_dispatched", "custody_received"})


def _apply_transition(view: CaseView, event_type: str, p: dict[str, Any], action: str | None) -> None:
    if event_type in _CUSTODY_TYPES and p.get("from") == p["to"] and view.state is not None:
        # A hand-over that moved no state (a result carried down, a relay hop) records the state as the station
        # saw it then, which may lag the case: an offline village signs for a returned result before the
        # decision reaches it by sync. It never moves the case back.
        return
    expected_from = None if p.get("from") is None else CaseState(p["from"])
    if expected_from != view.state:
        view.anomalies.append(
            message(
                "unexpected_from_state",
                "事件 {event} 记录的原状态为 {recorded}，而办件当时为 {actual}",
                "Event {event} says the case was {recorded}, but it was {actual}",
                event=event_type,
                recorded=p.get("from") or "new",
                actual=view.state.value if view.state else "new",
            )
        )
    view.state = CaseState(p["to"])


def _ignore(view: CaseView, p: dict[str, Any]) -> None:
    return None


def _received(view: CaseView, p: dict[str, Any]) -> None:
    view.case_no, view.item_code, view.item_version = p["case_no"], p["item_code"], p["item_version"]
    view.applicant_id, view.agent_id, view.station = p["applicant_id"], p.get("agent_id"), p["station"]
    day = _d(p["received_on"])
    if p["to"] == CaseState.VILLAGE_RECEIVED.value:
        view.village_received_on = day
    else:
        view.received_on = day
    view.materials = {m["key"]: m["status"] for m in p["materials"]}


_CHINA = dt.timezone(dt.timedelta(hours=8))


def day_of(at: str | int) -> dt.date:
    """The local (UTC+8) date of an ISO timestamp as written, or of integer milliseconds since the epoch."""
    if isinstance(at, int):
        return dt.datetime.fromtimestamp(at // 1000, tz=_CHINA).date()
    return dt.date.fromisoformat(at[:10])


def _custody_received(view: CaseView, p: dict[str, Any]) -> None:
    view.custody = None
    if p["to"] == CaseState.RECEIVED.value and view.received_on is None:
        view.received_on = day_of(p["at"])


def _accepted_with_gaps(view: CaseView, p: dict[str, Any]) -> None:
    view.accepted_on = _d(p["accepted_on"])
    for gap in p["gaps"]:
        view.gaps[gap["material"]] = Gap(gap["material"], dt.date.fromisoformat(gap["supply_by"]))
        view.materials[gap["material"]] = "deferred"


def _gap_supplied(view: CaseView, p: dict[str, Any]) -> None:
    gap = view.gaps.get(p["material"])
    if gap is None:
        view.anomalies.append(
            message(
                "unknown_gap",
                "补齐的材料 {m} 不在容缺清单中",
                "Supplied material {m} was not deferred",
                m=p["material"],
            )
        )
        return
    gap.supplied_on = _d(p["supplied_on"])
    view.materials[p["material"]] = "received"


def _paused(view: CaseView, p: dict[str, Any]) -> None:
    view.pauses.append(
        Pause(dt.date.fromisoformat(p["started_on"]), None, p["counts_toward_limit"], p["procedure"])
    )


def _resumed(view: CaseView, p: dict[str, Any]) -> None:
    for index, pause in enumerate(view.pauses):
        if pause.end is None:
            view.pauses[index] = Pause(
                pause.start, _d(p["resumed_on"]), pause.counts_toward_limit, pause.reason
            )
            return
    view.anomalies.append(message("resume_without_pause", "没有暂停却恢复计时", "Resumed without a pause"))


def _extended(view: CaseView, p: dict[str, Any]) -> None:
    if view.extension_days:
        view.anomalies.append(
            message("second_extension", "同一办件第二次延期", "A second extension of one case")
        )
    view.extension_days += p["days"]


def _decided(view: CaseView, p: dict[str, Any]) -> None:
    view.decision, view.decision_reasons = p["outcome"], list(p["reasons"])
    view.document_no, view.decided_on = p.get("document_no"), _d(p["decided_on"])
    view.review_steps += 1


def _closed(key: str, reason_key: str | None) -> Any:
    def apply(view: CaseView, p: dict[str, Any]) -> None:
        view.closed_on = _d(p[key])
        view.close_reason = p.get(reason_key) if reason_key else None

    return apply


def _set(attr: str, key: str) -> Any:
    def apply(view: CaseView, p: dict[str, Any]) -> None:
        setattr(view, attr, _d(p[key]))

    return apply


def _forwarded(view: CaseView, p: dict[str, Any]) -> None:
    view.forwarded_on = _d(p["forwarded_on"])
    view.review_steps += 1


def _review_note(view: CaseView, p: dict[str, Any]) -> None:
    view.review_steps += 1


def _delivered(view: CaseView, p: dict[str, Any]) -> None:
    view.delivered_on, view.delivery_method = _d(p["delivered_on"]), p["method"]


def _followup(step: str) -> Any:
    def apply(view: CaseView, p: dict[str, Any]) -> None:
        record = view.followups.setdefault(p["followup_id"], {"steps": []})
        record["steps"].append(step)
        record.update({k: v for k, v in p.items() if k != "followup_id"})
        record["status"] = step

    return apply


def _field_edited(view: CaseView, p: dict[str, Any]) -> None:
    current = view.fields.get(p["field"])
    if p["field"] in view.fields and current != p["old"]:
        view.anomalies.append(
            message(
                "stale_edit",
                "字段 {f} 的修改基于旧值",
                "The edit of {f} was based on an old value",
                f=p["field"],
            )
        )
    view.fields[p["field"]] = p["new"]


_APPLY: dict[str, Any] = {
    "received": _received,
    "correction_requested": _set("correction_notice_on", "notice_on"),
    "accepted": _set("accepted_on", "accepted_on"),
    "accepted_with_gaps": _accepted_with_gaps,
    "gap_supplied": _gap_supplied,
    "not_accepted": _set("refused_on", "decided_on"),
    "forwarded": _forwarded,
    "custody_dispatched": lambda v, p: setattr(
        v,
        "custody",
        {
            "manifest_id": p["manifest_id"],
            "direction": p["direction"],
            "since": p["at"],
            "to": p["to_station"],
        },
    ),
    "custody_received": _custody_received,
    "paused": _paused,
    "resumed": _resumed,
    "extended": _extended,
    "review_note": _review_note,
    "decided": _decided,
    "result_ready": _set("result_ready_on", "ready_on"),
    "delivered": _delivered,
    "withdrawn": _closed("withdrawn_on", "reason"),
    "terminated": _closed("terminated_on", "reason_code"),
    "rated": lambda v, p: v.ratings.append(dict(p)),
    "followup_opened": _followup("opened"),
    "followup_visited": _followup("visited"),
    "followup_verdict": _followup("verdict"),
    "followup_rectified": _followup("rectified"),
    "followup_closed": _followup("closed"),
    "field_edited": _field_edited,
    "note_added": lambda v, p: v.notes.append(p["text"]),
    "attachment_added": lambda v, p: v.attachments.append(p["sha256"]),
    "duplicate_merged": lambda v, p: setattr(v, "merged_into", p["into_case"]),
    "authorization_recorded": lambda v, p: v.authorizations.append(dict(p)),
}


def _summary(event_type: str, p: dict[str, Any]) -> Message:
    from casework.events import action_of

    action = action_of(event_type, p)
    rows = transitions_for(action) if action else []
    if rows:
        return message(event_type, rows[0].zh, rows[0].en)
    return message(event_type, _OTHER_ZH.get(event_type, event_type), event_type.replace("_", " "))


_OTHER_ZH = {
    "rated": "好差评",
    "followup_opened": "差评回访立项",
    "followup_visited": "回访",
    "followup_verdict": "核实结论",
    "followup_rectified": "整改",
    "followup_closed": "差评办结",
    "field_edited": "修改信息",
    "note_added": "备注",
    "attachment_added": "上传附件",
    "duplicate_merged": "重复件合并",
    "authorization_recorded": "代办委托",
}
