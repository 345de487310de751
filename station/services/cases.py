"""Cases (办件): the case aggregate — who acts, appending case events, folding them into the case view and
projecting it into the case tables. Intake is in services/intake.py; later actions in services/actions.py.
Every write is ONE transaction that appends the event(s) and rebuilds the case's projection rows from its events.

Wire event types are ``case.<casework type>`` (``case.received``, ``case.accepted`` …) on aggregate ``case``;
applicants are their own aggregate with ``applicant.created``. Payloads are validated by
``casework.events.validate_payload`` before they are appended.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from peewee import fn

from casework.caseview import CaseView
from casework.catalog import Item, Level
from casework.deadlines import ClockStatus, compute_clock
from casework.errors import TransitionError
from casework.events import SCHEMAS, CaseEvent, fold, validate_payload
from casework.lifecycle import CaseState, Role, check_transition
from casework.wire import case_event, casework_type, effective_casework_type, wire_type
from sync_protocol.events import Event, parse_event

from ..errors import ActionRefusedError
from ..models import (
    Applicant,
    CaseFollowup,
    CaseMaterial,
    CaseRecord,
    CentralCaseEvent,
    StationIdentity,
)
from .log import append_event, base_of, events_of
from .reference import current_calendar, current_catalog, today
from .search import index_case

CASE = "case"
APPLICANT = "applicant"
ID_CONTEXT = "applicant.id_number"
ID_LOOKUP_CONTEXT = "citizen_id"
# Which lifecycle role a login acts in at each station level, most specific first.
_ROLE_PREFERENCE = {
    "village": ("village_staff", "proxy_agent"),
    "township": ("township_clerk", "proxy_agent"),
    "county": ("county_clerk", "proxy_agent"),
}


@dataclass(frozen=True)
class Actor:
    """Who acts: the login and the lifecycle role it acts in at this station."""

    username: str
    role: str


def acting_role(roles: frozenset[str] | set[str], level: str) -> str | None:
    return next((r for r in _ROLE_PREFERENCE[level] if r in roles), None)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def station() -> StationIdentity:
    identity = StationIdentity.current()
    if identity is None:
        raise ActionRefusedError("the station identity is not set: run `yiciban-station init`")
    return identity


def append_case_event(actor: Actor, kind: str, aggregate_id: str, local_type: str, payload: Mapping[str, Any], key: str,
            catalog_version: int = 0, base_version: int | None = None) -> Event:  # fmt: skip
    """Validate and append one case/applicant event; its base is the station's current knowledge (log.base_of)
    unless ``base_version`` names one."""
    validate_payload(local_type, payload)
    return append_event(
        actor=actor.username,
        event_type=wire_type(local_type),
        aggregate_kind=kind,
        aggregate_id=aggregate_id,
        payload=payload,
        idempotency_key=key,
        catalog_version=catalog_version,
        base_version=base_version,
    ).event


# The older private name, still used by the documents and custody code.
_append = append_case_event


def _check(state: CaseState | None, action: str, level: Level, actor: Actor, *,
           acceptance_level: Level | None = None):  # fmt: skip
    """check_transition for this actor (and, when given, the item's acceptance level), refused in Chinese."""
    try:
        return check_transition(state, action, level, Role(actor.role), acceptance_level=acceptance_level)
    except TransitionError as e:
        raise ActionRefusedError(e.message.text("zh")) from e


RESOLVED_CONTENT_CLASSES = frozenset({"A", "B", "D", "F"})
"""Conflict classes whose resolution decides whether an event counts in the case (not C, E: both cases and the
application stand; not G: an integrity finding says nothing about the content)."""


def counted_once(logged: list[Event]) -> list[Event]:
    """A rehome re-issues an event (fork recovery); while the original is still among ``logged`` the user's act
    counts once, as the original. A rehome whose original is not there counts as the event it re-issues."""
    ids = {e.event_id for e in logged}
    return [e for e in logged if e.rehomed_from is None or e.rehomed_from[2] not in ids]


def case_events(case_id: str) -> list[Event]:
    """The station's own events of the case in log order, then central's events on it in clock order: central
    decides, and the station rebases on what central sent back (SYNC-DESIGN §1). A case other stations act on
    too (代办) is folded wholly in causal (clock) order, as central folds it."""
    own = counted_once(events_of(CASE, case_id))
    seen = {e.event_id for e in own}
    central = [
        parse_event(bytes(row.body))
        for row in CentralCaseEvent.select()
        .where(CentralCaseEvent.case_id == case_id)
        .order_by(CentralCaseEvent.hlc)
    ]
    # Central's resolutions that did not apply an event (the earlier act stood): the station rebases on them.
    rejected = {
        e.payload.get("incoming")
        for e in central
        if e.type == "conflict_resolved"
        and e.payload.get("class") in RESOLVED_CONTENT_CLASSES
        and e.payload.get("incoming_applied") is False
    }
    own = [e for e in own if e.event_id not in rejected]
    routed = [e for e in central if e.event_id not in seen and e.event_id not in rejected]
    if any(e.station_id != "central" for e in routed):
        # Other stations act on the case too (代办: the village received it, the township accepts, the county
        # decides, the village delivers): fold every station's events in the causal order central folds in, not
        # ours first; central's own events (resolutions) are not folded by central and stay last.
        stations = [e for e in own + routed if e.station_id != "central"]
        stations.sort(key=lambda e: (e.effective_hlc, e.station_id, e.effective_position))
        return stations + [e for e in routed if e.station_id == "central"]
    return own + routed


def casework_events(case_id: str) -> list[CaseEvent]:
    """The case's events (``case_events``) in casework form, as they are folded."""
    return [case_event(e) for e in case_events(case_id) if effective_casework_type(e) in SCHEMAS]


def case_view(case_id: str) -> CaseView:
    """Fold the case's events (casework rules) into its current view."""
    return fold(casework_events(case_id))


def central_notes(case_id: str) -> list[Event]:
    """Central's events on the case that are not case transitions (conflict resolutions …), for the case page:
    those on the case, and resolutions that name it among their cases (the other case of a duplicate)."""
    naming = CentralCaseEvent.event_type.in_(("conflict_resolved", "conflict_flagged")) & (
        fn.instr(CentralCaseEvent.body, f'"{case_id}"'.encode()) > 0
    )
    rows = (
        CentralCaseEvent.select()
        .where((CentralCaseEvent.case_id == case_id) | naming)
        .order_by(CentralCaseEvent.hlc)
    )
    events = [parse_event(bytes(row.body)) for row in rows]
    return [e for e in events if (casework_type(e.effective_type) or "") not in SCHEMAS]


@dataclass(frozen=True)
class DuplicateFlag:
    """A class C conflict central flagged on this case and has not resolved: the same person applied for the same
    item at another station (or here, twice); a person at central merges the cases or marks them distinct."""

    conflict: int
    other_case_id: str
    other_number: str
    other_station: str  # the receiving station's name as central knows it (its code when central sent none)
    other_station_code: str


def open_duplicate_flags(case_id: str, notes: list[Event] | None = None) -> list[DuplicateFlag]:
    """The class C flags on the case that no resolution has ended yet, each naming the other application (central's
    ``parties``), from ``central_notes`` (passed when the caller already read them)."""
    notes = central_notes(case_id) if notes is None else notes
    resolved = {e.payload.get("conflict") for e in notes if e.type == "conflict_resolved"}
    flags = []
    for event in notes:
        payload = event.payload
        if event.type != "conflict_flagged" or payload.get("class") != "C":
            continue
        if payload.get("conflict") in resolved or case_id not in (payload.get("cases") or []):
            continue
        parties = [p for p in payload.get("parties") or [] if isinstance(p, dict)]
        other = next((p for p in parties if p.get("case") != case_id), None)
        other_id = next((c for c in payload.get("cases") or [] if c != case_id), "")
        if other is None:  # a flag from before central named the parties: the case id is all there is
            other = {"case": other_id, "number": "", "station": "", "station_name": ""}
        flags.append(
            DuplicateFlag(
                conflict=int(payload.get("conflict") or 0),
                other_case_id=str(other.get("case") or other_id),
                other_number=str(other.get("number") or ""),
                other_station=str(other.get("station_name") or other.get("station") or ""),
                other_station_code=str(other.get("station") or ""),
            )
        )
    return flags


def clock_of(view: CaseView, item: Item, on: dt.date) -> ClockStatus:
    return compute_clock(
        current_calendar(), view.clock_inputs(item.promised_limit_days, item.legal_limit_days), on
    )


def project_case(case_id: str, created_by: str = "") -> CaseRecord:
    """Rebuild the case's rows from its events (inside the caller's transaction)."""
    view = case_view(case_id)
    item = current_catalog().item(view.item_code, view.item_version)
    clock = clock_of(view, item, today())
    applicant = Applicant.find(Applicant.id, view.applicant_id)
    if applicant is None:
        raise Applicant.DoesNotExist(f"the applicant {view.applicant_id} of case {case_id} is not stored")
    last = base_of(CASE, case_id).own_event  # the case's newest event in the log ("" if none)
    row = CaseRecord.find(CaseRecord.id, case_id)
    values = {
        "number": view.case_no,
        "station_code": view.station,
        "item_code": item.code,
        "item_version": item.version,
        "item_name": item.name_zh,
        "applicant_id": applicant.id,
        "applicant_name": applicant.name,
        "applicant_id_masked": applicant.id_masked,
        "state": view.state.value if view.state else "",
        "received_on": (view.village_received_on or view.received_on or today()).isoformat(),
        "accepted_on": view.accepted_on.isoformat() if view.accepted_on else None,
        "deadline": clock.deadline.isoformat() if clock.deadline else None,
        "light": clock.light.value,
        "calendar_missing": "calendar_missing" in clock.flags,
        "open_gaps": len(view.open_gaps),
        "version": len(view.timeline),
        "last_event_id": last,
        "updated_at": _now_iso(),
    }
    if row is None:
        row = CaseRecord.create(
            id=case_id, created_by=created_by or "system", created_at=_now_iso(), **values
        )
    else:
        CaseRecord.update(**values).where(CaseRecord.id == case_id).execute()
        for name, value in values.items():  # the row as stored, without reading it back
            setattr(row, name, value)
    CaseMaterial.delete().where(CaseMaterial.case_id == case_id).execute()
    names = {m.key: m.name_zh for m in item.materials}
    rows = [
        {"case_id": case_id, "material_key": k, "name": names.get(k, k), "status": s}
        for k, s in view.materials.items()
    ]
    if rows:
        CaseMaterial.insert_many(rows).execute()
    CaseFollowup.delete().where(CaseFollowup.case_id == case_id).execute()
    for followup_id, followup in view.followups.items():
        CaseFollowup.create(
            followup_id=followup_id,
            case_id=case_id,
            due_on=followup.get("due_on", ""),
            status=followup["status"],
        )
    index_case(row)
    return row


# Intake lives in services/intake.py; its names stay importable from here for the modules written against them.
from .intake import (  # noqa: E402
    INTAKE_DECISIONS,
    MATERIAL_CHOICES,
    IntakeForm,
    Person,
    case_for_token,
    decisions_for,
    find_applicant,
    form_problem,
    open_cases_of,
    receive_application,
    validate_intake,
)

__all__ = [
    "APPLICANT", "CASE", "INTAKE_DECISIONS", "MATERIAL_CHOICES", "Actor", "DuplicateFlag", "IntakeForm", "Person",
    "acting_role",
    "append_case_event", "case_events", "case_for_token", "case_view", "casework_type", "central_notes", "clock_of",
    "decisions_for", "find_applicant", "form_problem", "open_cases_of", "open_duplicate_flags", "project_case",
    "receive_application",
    "station", "validate_intake", "wire_type",
]  # fmt: skip
