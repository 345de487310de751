"""交接单: which folders can go where, drafting with one signed label per folder, dispatch, the printed manifest."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from casework.catalog import Level
from casework.custody import (
    CustodyError,
    Direction,
    Folder,
    local_day,
    manifest_number,
    new_manifest,
)
from casework.errors import TransitionError
from casework.lifecycle import CaseState, check_transition
from casework.wire import effective_casework_type, wire_type
from printing.masking import mask_name
from sync_protocol import receipts
from sync_protocol.errors import ProtocolError
from sync_protocol.events import REHOME, Event, parse_event
from sync_protocol.keys import SigningKey
from sync_protocol.registry import parse_registry

from ...db import write_transaction
from ...models import CaseMaterial, CaseRecord, EventLog, NodeState, StationIdentity, User
from ..cases import Actor, project_case, station
from ..reference import CHINA
from .common import (
    FOLDER_STATUSES,
    REGISTRY_KEY,
    CustodyFolder,
    CustodyManifest,
    CustodyReceipt,
    CustodyRefusedError,
    _append,
    _iso,
    _issuer,
    _key,
    _now,
    _proxy_agent,
    _refuse,
    _role,
    station_name,
)

# --- who and where -------------------------------------------------------------------------------------------


def agents() -> list[User]:
    """Logins that can carry folders (代办员) at this station."""
    active = User.select().where(User.active == True).order_by(User.username)  # noqa: E712
    return [u for u in active if "proxy_agent" in u.role_set]


def _direction_to(identity: StationIdentity, destination: str) -> Direction:
    return Direction.UP if destination == identity.parent_code else Direction.DOWN


_HAND_OVERS = ("custody_dispatched", "custody_received")
_HAND_OVER_LOG_TYPES = (*(wire_type(t) for t in _HAND_OVERS), REHOME)
"""What a hand-over is logged as: its own type, or ``rehome`` when fork recovery re-issued it."""


def _is_hand_over(event: Event) -> bool:
    return effective_casework_type(event) in _HAND_OVERS


def _received(event: Event | None) -> bool:
    return event is not None and effective_casework_type(event) == "custody_received"


def _last_hand_over(case_id: str) -> Event | None:
    """This station's latest hand-over of the case's folder, in log order (times to the second can tie); one
    re-issued by fork recovery counts as the hand-over it re-issues (as the case's fold counts it)."""
    rows = (
        EventLog.select(EventLog.body)
        .where(
            (EventLog.aggregate_kind == "case")
            & (EventLog.aggregate_id == case_id)
            & EventLog.event_type.in_(_HAND_OVER_LOG_TYPES)
            & (EventLog.station == station().station_code)
        )
        .order_by(EventLog.epoch.desc(), EventLog.seq.desc())
        .tuples()
    )
    events = (parse_event(bytes(body)) for (body,) in rows.iterator())
    return next((e for e in events if _is_hand_over(e)), None)


def folder_here(case_id: str) -> bool:
    """Is the paper here? Not if the latest thing this station did with it was to hand it to an agent."""
    last = _last_hand_over(case_id)
    return last is None or _received(last)


def folder_here_in(events: list[Event], station_code: str) -> bool:
    """:func:`folder_here` answered from the case's events already read in log order (``events_of``), for a
    caller that needs them anyway — no query."""
    last = next((e for e in reversed(events) if _is_hand_over(e) and e.station_id == station_code), None)
    return last is None or _received(last)


def _on_open_draft(case_id: str) -> bool:
    return (
        CustodyFolder.select()
        .join(CustodyManifest, on=(CustodyFolder.manifest_id == CustodyManifest.id))
        .where((CustodyFolder.case_id == case_id) & CustodyManifest.dispatched_at.is_null())
        .exists()
    )


# Up to the parent: what a village received for the organ; at a township, what it examined and forwarded (上报)
# and what the county accepts — received here for it (代收) or signed for on its way there (a relay hop).
_UP_STATES = {
    "village": (CaseState.VILLAGE_RECEIVED,),
    "township": (CaseState.VILLAGE_RECEIVED, CaseState.IN_TRANSIT, CaseState.FORWARDED),
    "county": (),
}
_RETURN_STATES = (CaseState.DECIDED_GRANTED, CaseState.DECIDED_REFUSED, CaseState.RESULT_READY)


def _registry_parents() -> dict[str, str]:
    """Station code → parent code, from the registry central sent."""
    stored = NodeState.read(REGISTRY_KEY)
    if not isinstance(stored, str):
        return {}
    try:
        registry = parse_registry(stored.encode("ascii"))
    except (ProtocolError, UnicodeEncodeError):
        return {}
    return {code: entry.parent for code, entry in registry.stations.items() if entry.parent}


def return_destination(identity: StationIdentity, record: CaseRecord) -> str:
    """Where a result goes down from here: back the way the folder came up (county → township → village), to the
    station that sent it here; without such a receipt, one step down towards the station that received the case
    (the child of this station on its registry path), else straight to that station."""
    came_from = (
        CustodyReceipt.select(CustodyReceipt.sending_station)
        .where((CustodyReceipt.case_id == record.id) & (CustodyReceipt.direction == Direction.UP.value))
        .order_by(CustodyReceipt.received_at.desc())
        .scalar()
    )
    if came_from:
        return str(came_from)
    parents, code, seen = _registry_parents(), record.station_code, set()
    while code in parents and code not in seen:
        seen.add(code)
        if parents[code] == identity.station_code:
            return code
        code = parents[code]
    return str(record.station_code)


def _received_here(case_id: str) -> bool:
    return CustodyReceipt.select().where(CustodyReceipt.case_id == case_id).exists()


def _came_down(case_id: str) -> bool:
    """The folder's latest hand-over here was a result carried down to us."""
    last = _last_hand_over(case_id)
    return (
        _received(last)
        and last is not None
        and last.effective_payload.get("direction") == Direction.DOWN.value
    )


def _return_candidates(identity: StationIdentity) -> dict[str, list[CaseRecord]]:
    """Results whose paper is here and belongs to a case received elsewhere: decided here or above (the state
    says so), or carried down to here (the receipt says so, even before the decision reaches us by sync)."""
    down_here = CustodyReceipt.select(CustodyReceipt.case_id).where(
        CustodyReceipt.direction == Direction.DOWN.value
    )
    rows = CaseRecord.select().where(
        (CaseRecord.state.in_([s.value for s in _RETURN_STATES]) | CaseRecord.id.in_(down_here))
        & (CaseRecord.station_code != identity.station_code)
    )
    grouped: dict[str, list[CaseRecord]] = {}
    for row in rows.order_by(CaseRecord.received_on):
        if row.state in _TERMINAL or not _received_here(row.id):
            continue  # the paper never came here: nothing to send on
        if CaseState(row.state) not in _RETURN_STATES and not _came_down(row.id):
            continue
        grouped.setdefault(return_destination(identity, row), []).append(row)
    return grouped


_TERMINAL = frozenset(s.value for s in CaseState if s.terminal)


def manifest_candidates(identity: StationIdentity) -> dict[str, list[CaseRecord]]:
    """Cases whose paper is here and can go on a manifest, by destination station: up to the parent, results
    down the way they came."""
    grouped: dict[str, list[CaseRecord]] = {}
    up_states = [s.value for s in _UP_STATES[identity.level]]
    if identity.parent_code and up_states:
        rows = CaseRecord.select().where(CaseRecord.state.in_(up_states)).order_by(CaseRecord.received_on)
        grouped[identity.parent_code] = [r for r in rows if not _came_down(r.id)]  # a result goes on down
    for code, rows in _return_candidates(identity).items():
        listed = {r.id for r in grouped.get(code, [])}
        grouped.setdefault(code, []).extend(r for r in rows if r.id not in listed)
    return {
        code: [r for r in rows if folder_here(r.id) and not _on_open_draft(r.id)]
        for code, rows in grouped.items()
    }


# --- manifests -----------------------------------------------------------------------------------------------


def _material_count(case_id: str) -> int:
    return (
        CaseMaterial.select()
        .where((CaseMaterial.case_id == case_id) & CaseMaterial.status.in_(FOLDER_STATUSES))
        .count()
    )


def _next_manifest_id(identity: StationIdentity, on: dt.date) -> str:
    prefix = manifest_number(identity.station_code, on, 1)[:-2]
    taken = [
        row.id
        for row in CustodyManifest.select(CustodyManifest.id).where(CustodyManifest.id.startswith(prefix))
    ]
    highest = max((int(t[len(prefix) :]) for t in taken if t[len(prefix) :].isdigit()), default=0)
    return manifest_number(identity.station_code, on, highest + 1)


def create_manifest(
    signing_key: SigningKey, actor: Actor, case_ids: Iterable[str], to_station: str, agent_username: str,
    now: datetime | None = None,
) -> CustodyManifest:  # fmt: skip
    """Draft a 交接单 with one signed label per folder (nothing leaves until :func:`dispatch_manifest`)."""
    now = now or _now()
    identity = station()
    wanted = list(dict.fromkeys(case_ids))
    agent = User.get_or_none((User.username == agent_username) & (User.active == True))  # noqa: E712
    if agent is None or "proxy_agent" not in agent.role_set:
        raise _refuse("custody_agent_unknown", "请选择本站的代办员", "Choose an agent of this station")
    with write_transaction():
        eligible = {r.id: r for r in manifest_candidates(identity).get(to_station, [])}
        missing = [c for c in wanted if c not in eligible]
        if missing:
            raise _refuse(
                "custody_case_not_eligible",
                "有 {count} 件不在本站或不能送往 {to}，请刷新后重新选择",
                "{count} selected cases are not here or cannot go to {to}; reload and choose again",
                count=len(missing), to=to_station,
            )  # fmt: skip
        manifest_id = _next_manifest_id(identity, local_day(now))
        folders = [
            Folder(
                c,
                eligible[c].number,
                eligible[c].item_code,
                mask_name(eligible[c].applicant_name),
                _material_count(c),
            )
            for c in wanted
        ]
        try:
            new_manifest(
                manifest_id, from_station=identity.station_code, to_station=to_station, agent=agent.username,
                folders=folders, created_at=now, direction=_direction_to(identity, to_station),
            )  # fmt: skip
        except CustodyError as e:
            raise CustodyRefusedError(e.message) from e
        row = CustodyManifest.create(
            id=manifest_id, from_station=identity.station_code, to_station=to_station,
            direction=_direction_to(identity, to_station).value, agent=agent.username, agent_name=agent.display_name,
            created_by=actor.username, created_at=_iso(now),
        )  # fmt: skip
        for folder in folders:
            fields = folder.label_fields(identity.station_code, manifest_id)
            label = receipts.sign_qr_payload(
                receipts.CUSTODY, fields, signing_key.private_bytes(), signing_key.key_id
            )
            CustodyFolder.insert(
                manifest_id=manifest_id, case_id=folder.case_id, case_number=folder.case_number,
                item_code=folder.item_code, item_name=eligible[folder.case_id].item_name,
                masked_applicant=folder.masked_applicant, material_count=folder.material_count, label=label,
            ).execute()  # fmt: skip
        return row


def manifest_folders(manifest_id: str) -> list[CustodyFolder]:
    return list(
        CustodyFolder.select()
        .where(CustodyFolder.manifest_id == manifest_id)
        .order_by(CustodyFolder.case_number)
    )


def discard_manifest(manifest_id: str) -> None:
    """Throw away a draft that was never dispatched (nothing was recorded in the log for it)."""
    with write_transaction():
        row = CustodyManifest.get_or_none(CustodyManifest.id == manifest_id)
        if row is None or row.dispatched_at is not None:
            raise _refuse(
                "custody_not_draft",
                "只能作废尚未送出的交接单",
                "Only a manifest not yet dispatched can be discarded",
            )
        CustodyFolder.delete().where(CustodyFolder.manifest_id == manifest_id).execute()
        row.delete_instance()


def dispatch_manifest(actor: Actor, manifest_id: str, now: datetime | None = None) -> CustodyManifest:
    """移交: the agent takes the folders; one custody_dispatched event per folder, all in one transaction."""
    now = now or _now()
    with write_transaction():
        manifest = CustodyManifest.get_or_none(CustodyManifest.id == manifest_id)
        if manifest is None:
            raise _refuse("custody_no_manifest", "没有这张交接单", "No such manifest")
        if manifest.dispatched_at is not None:
            return manifest
        level = Level(station().level)
        for folder in manifest_folders(manifest_id):
            record = CaseRecord.get_or_none(CaseRecord.id == folder.case_id)
            state = CaseState(record.state) if record is not None else None
            try:
                intent = check_transition(state, "dispatch", level, _role(actor))
            except TransitionError as e:
                raise CustodyRefusedError(e.message) from e
            payload = {
                "from": state.value if state else None, "to": intent.to_state.value, "manifest_id": manifest_id,
                "carrier": manifest.agent, "to_station": manifest.to_station, "at": _iso(now),
                "direction": manifest.direction,
            }  # fmt: skip
            _append(
                actor,
                folder.case_id,
                "custody_dispatched",
                payload,
                _key("dispatch", manifest_id, folder.case_id),
            )
            project_case(folder.case_id)
        manifest.dispatched_at, manifest.dispatched_by = _iso(now), actor.username
        manifest.save()
        return manifest


def recent_manifests(limit: int = 30) -> list[CustodyManifest]:
    return list(CustodyManifest.select().order_by(CustodyManifest.created_at.desc()).limit(limit))


def manifest_document(manifest_id: str) -> Any:
    """The 交接单 as printing's HandoverManifest, one signed label per folder."""
    from printing.documents.proxy import HandoverManifest, ManifestFolder

    identity = station()
    manifest = CustodyManifest.get_or_none(CustodyManifest.id == manifest_id)
    if manifest is None:
        raise _refuse("custody_no_manifest", "没有这张交接单", "No such manifest")
    folders = tuple(
        ManifestFolder(
            case_number=f.case_number,
            applicant_name=f.masked_applicant,
            item_name=f.item_name,
            material_count=f.material_count,
            pages=f.pages,
            qr_payload=f.label,
        )  # fmt: skip
        for f in manifest_folders(manifest_id)
    )
    when = datetime.fromisoformat(manifest.dispatched_at or manifest.created_at).astimezone(CHINA)
    return HandoverManifest(
        manifest_number=manifest.id, direction="outbound" if manifest.direction == "up" else "return",
        from_station=identity.name, to_organ=station_name(manifest.to_station, identity),
        carrier=_proxy_agent(manifest.agent, manifest.agent_name, identity), dispatched_at=when.replace(tzinfo=None),
        folders=folders, issuer=_issuer(identity), handler=manifest.created_by,
    )  # fmt: skip
