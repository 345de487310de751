"""签收: reading a typed or scanned folder label (verified offline) and registering the folder, even before the case data arrives."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casework.catalog import Level
from casework.custody import (
    Direction,
)
from casework.errors import Message, TransitionError, message
from casework.lifecycle import CaseState, check_transition
from sync_protocol import receipts
from sync_protocol.errors import MalformedError, ProtocolError, SignatureError, UnknownKeyError
from sync_protocol.keys import SigningKey
from sync_protocol.registry import parse_registry

from ...db import write_transaction
from ...models import CaseRecord, NodeState, StationIdentity
from ..cases import Actor, project_case, station
from .common import (
    REGISTRY_KEY,
    CustodyFolder,
    CustodyManifest,
    CustodyReceipt,
    CustodyRefusedError,
    _append,
    _iso,
    _key,
    _now,
    _refuse,
    _role,
)

# --- receipt by signed label ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownKey:
    """A station signing key this station trusts for labels: whose it is and at which level."""

    station: str
    level: str
    public: bytes
    parent: str = ""


def known_station_keys(
    signing_key: SigningKey, identity: StationIdentity | None = None
) -> dict[str, KnownKey]:
    """Key reference (16 hex) → key, from the registry central sent (live keys only) and this station's own key."""
    identity = identity or StationIdentity.current()
    keys: dict[str, KnownKey] = {}
    if identity is not None:
        own = KnownKey(identity.station_code, identity.level, signing_key.public_raw, identity.parent_code)
        keys[signing_key.key_id[: receipts.KEY_REF_LENGTH]] = own
    sources: list[str] = []
    stored = NodeState.read(REGISTRY_KEY)
    if isinstance(stored, str):
        sources.append(stored)
    if identity is not None and identity.central_info:
        registry_text = json.loads(identity.central_info).get("registry")
        if isinstance(registry_text, str):
            sources.append(registry_text)
    for text in sources:
        try:
            registry = parse_registry(text.encode("ascii"))
        except (ProtocolError, UnicodeEncodeError):
            continue
        for entry in registry.stations.values():
            for key in entry.keys:
                if key.revoked_after is None:
                    ref = key.key_id[: receipts.KEY_REF_LENGTH]
                    keys.setdefault(
                        ref, KnownKey(entry.station_id, entry.level, key.sign_public, entry.parent)
                    )
    return keys


def _forged() -> CustodyRefusedError:
    return _refuse(
        "custody_label_forged",
        "卷宗标签签名无效：标签可能被篡改或伪造，不能签收。请核对纸质交接单并联系送出站点",
        "The folder label's signature is invalid: it may have been altered or forged and cannot be "
        "received. Check the paper manifest and call the sending station",
    )


def read_label(text: str, keys: Mapping[str, KnownKey]) -> tuple[dict[str, Any], KnownKey]:
    """Verify a typed or scanned folder label and the station that signed it; a bad one is refused with what to
    do about it. A label is genuine only when signed by the key of the very station it names as the sender."""
    cleaned = "".join(text.split())
    if not cleaned:
        raise _refuse("custody_label_empty", "请扫描或输入卷宗标签内容", "Scan or type the folder label")
    try:
        fields = receipts.verify_qr_payload(
            cleaned, lambda ref: keys[ref].public if ref in keys else None, expected_kind=receipts.CUSTODY
        )
        signer = keys[receipts.parse_qr_payload(cleaned)[2]]
    except SignatureError as e:
        raise _forged() from e
    except UnknownKeyError as e:
        raise _refuse(
            "custody_label_unknown_station",
            "无法核验卷宗标签：签发站点不在本站的站点名录中。请先与中心同步后再签收",
            "The folder label cannot be checked: its station is not in this station's registry. Sync with "
            "central, then receive it",
        ) from e
    except (MalformedError, ProtocolError) as e:
        raise _refuse(
            "custody_label_malformed",
            "这不是有效的卷宗标签（内容不完整或不是交接单上的二维码）",
            "This is not a valid folder label (incomplete, or not the QR code of a manifest folder)",
        ) from e
    if signer.station != fields["sending_station"]:
        raise _forged()  # signed by a real key, but one station speaking for another
    return fields, signer


@dataclass(frozen=True)
class Registered:
    receipt: CustodyReceipt
    created: bool  # False: this station had already registered the folder
    case_known: bool  # the case data is already at this station
    warning: Message | None = None  # e.g. the folder seems meant for another station


def _misrouted(identity: StationIdentity, signer: KnownKey, direction: Direction) -> Message | None:
    """Paper is registered wherever it is; but say so when it looks meant for another station (central raises
    the wrong-station issue once it sees the dispatch)."""
    if direction is Direction.UP and signer.parent and signer.parent != identity.station_code:
        return message(
            "custody_probably_misrouted",
            "注意：送出站点 {sender} 隶属 {parent}，本卷宗可能并非送往本站，请与代办员核实",
            "Note: the sending station {sender} belongs to {parent}; this folder may not be meant for this "
            "station. Check with the agent",
            sender=signer.station,
            parent=signer.parent,
        )
    return None


def _acceptance_level(record: CaseRecord | None, item_code: str) -> Level | None:
    """The level that accepts the folder's item: a station below it signs for the folder as a relay hop (村 → 镇 →
    县), the case stays in transit and goes on; None when the item is not in the catalog here."""
    from casework.errors import UnknownItemError

    from ..reference import current_catalog

    try:
        item = current_catalog().item(item_code, record.item_version if record is not None else None)
    except UnknownItemError:
        return None
    return item.acceptance_level


def _assumed_state(identity: StationIdentity, direction: Direction, sender_level: str | None) -> CaseState:
    """The state a folder arrives in when the case data has not reached this station yet."""
    if direction is Direction.DOWN:
        return CaseState.RESULT_READY
    return CaseState.IN_TRANSIT if sender_level in (None, "village") else CaseState.FORWARDED


def receive_folder(
    signing_key: SigningKey, actor: Actor, label_text: str, now: datetime | None = None
) -> Registered:
    """签收: register a folder from its label; works offline and before the case's data has arrived."""
    now = now or _now()
    identity = station()
    fields, signer = read_label(label_text, known_station_keys(signing_key, identity))
    if fields["sending_station"] == identity.station_code:
        raise _refuse(
            "custody_own_folder",
            "这是本站送出的卷宗，不能由本站签收",
            "This folder was sent from this station; it cannot be received here",
        )
    manifest_id, case_id = fields["manifest_id"], fields["case_id"]
    with write_transaction():
        existing = CustodyReceipt.get_or_none(
            (CustodyReceipt.manifest_id == manifest_id) & (CustodyReceipt.case_id == case_id)
        )
        if existing is not None:
            return Registered(existing, False, CaseRecord.get_or_none(CaseRecord.id == case_id) is not None)
        direction = Direction.DOWN if fields["sending_station"] == identity.parent_code else Direction.UP
        record = CaseRecord.get_or_none(CaseRecord.id == case_id)
        state = (
            CaseState(record.state)
            if record is not None
            else _assumed_state(identity, direction, signer.level)
        )
        try:
            to_state = check_transition(
                state, "receive_custody", Level(identity.level), _role(actor),
                acceptance_level=_acceptance_level(record, fields["item_code"]),
            ).to_state  # fmt: skip
        except TransitionError as e:
            if direction is not Direction.DOWN or state is not CaseState.IN_TRANSIT:
                raise CustodyRefusedError(e.message) from e
            # Results carried back can reach an offline village before the decision does: the paper is here,
            # so the receipt is recorded and the case's state follows when the decision arrives by sync.
            to_state = state
        payload = {
            "from": state.value, "to": to_state.value, "manifest_id": manifest_id,
            "received_by": actor.username, "at": _iso(now), "direction": direction.value,
        }  # fmt: skip
        event_id = _append(actor, case_id, "custody_received", payload, _key("receive", manifest_id, case_id))
        CustodyReceipt.insert(
            manifest_id=manifest_id, case_id=case_id, case_number=fields["case_number"], item_code=fields["item_code"],
            masked_applicant=fields["masked_applicant"], material_count=fields["material_count"],
            sending_station=fields["sending_station"], direction=direction.value, label="".join(label_text.split()),
            received_at=_iso(now), received_by=actor.username, event_id=event_id,
        ).execute()  # fmt: skip
        CustodyFolder.update(received_at=_iso(now)).where(
            (CustodyFolder.manifest_id == manifest_id) & (CustodyFolder.case_id == case_id)
        ).execute()
        if record is not None:
            project_case(case_id)
        receipt = CustodyReceipt.get(
            (CustodyReceipt.manifest_id == manifest_id) & (CustodyReceipt.case_id == case_id)
        )
        return Registered(receipt, True, record is not None, _misrouted(identity, signer, direction))


def recent_receipts(limit: int = 30) -> list[CustodyReceipt]:
    return list(CustodyReceipt.select().order_by(CustodyReceipt.received_at.desc()).limit(limit))


def note_received_elsewhere(manifest_id: str, case_id: str, received_at: str) -> None:
    """Central told us a folder we sent was received (downstream): it no longer counts as carried."""
    with write_transaction():
        CustodyFolder.update(received_at=received_at).where(
            (CustodyFolder.manifest_id == manifest_id) & (CustodyFolder.case_id == case_id)
            & CustodyFolder.received_at.is_null()
        ).execute()  # fmt: skip


@dataclass(frozen=True)
class CaseHop:
    kind: str  # "dispatched" from here or "received" here
    manifest_id: str
    at: str


@dataclass(frozen=True)
class CaseCustody:
    """What this station knows of one case's folder: its hand-overs here and its 代办委托书."""

    hops: list[CaseHop]
    authorizations: list[Any]


def custody_of_case(case_id: str) -> CaseCustody:
    from .authorization import authorizations_of

    hops = [
        CaseHop("dispatched", m.id, m.dispatched_at)
        for m in CustodyManifest.select()
        .join(CustodyFolder, on=(CustodyFolder.manifest_id == CustodyManifest.id))
        .where((CustodyFolder.case_id == case_id) & CustodyManifest.dispatched_at.is_null(False))
    ]
    hops += [
        CaseHop("received", r.manifest_id, r.received_at)
        for r in CustodyReceipt.select().where(CustodyReceipt.case_id == case_id)
    ]
    return CaseCustody(sorted(hops, key=lambda h: h.at), authorizations_of(case_id))
