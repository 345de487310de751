"""Duplicate applications across stations (重复申请, conflict class C), matched without the ID number.

Central gives every enrolled station the *network duplicate key* in a sealed ``netkey`` bundle part (ADR 0006).
A station puts ``duplicate_token`` = HMAC(network key, ID number | item | period) (``casework.merge``) in each
``case.received``; central keeps the token per case and compares tokens only: one person applying for one item at
two stations gives equal tokens, while the ID number never leaves the station in the clear and a token cannot be
tested against guessed numbers without the key. Same idempotency key: the same submission twice, deduplicated
silently. Otherwise both cases are flagged for a reviewer, who merges the later one into the earlier (redirect +
tombstone) or marks them distinct. Nothing is ever deleted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from casework.lifecycle import CaseState
from casework.merge import Resolution, classify_duplicate
from sync_protocol.bundles import BundlePart
from sync_protocol.canonical import canonical_bytes
from sync_protocol.events import Event, parse_event

from ..models import CaseRecord, Conflict, DuplicateToken, LogEvent, Station

NETKEY_FORMAT = "yiciban.netkey/1"
NETKEY_VERSION = 1
_DERIVE_INFO = b"yiciban/v1/network-duplicate-key"
MERGING_OUTCOMES = ("dedup", "merge")


def network_duplicate_key(field_data_key: bytes) -> bytes:
    """The network duplicate key, derived from central's field data key (never stored, never sent unsealed)."""
    return hmac.new(field_data_key, _DERIVE_INFO, hashlib.sha256).digest()


def netkey_part(field_data_key: bytes) -> BundlePart:
    """The ``netkey`` bundle part: ``{"format", "id": first 16 hex of sha256(key), "duplicate": base64 key}``."""
    key = network_duplicate_key(field_data_key)
    body = canonical_bytes(
        {
            "format": NETKEY_FORMAT,
            "id": hashlib.sha256(key).hexdigest()[:16],
            "duplicate": base64.b64encode(key).decode("ascii"),
        }
    )
    return BundlePart("netkey", NETKEY_VERSION, body)


def _open(case_id: str) -> bool:
    case = CaseRecord.get_or_none(CaseRecord.case_id == case_id)
    if case is None or merged_into(case_id) is not None:
        return False
    return not (case.state and CaseState(case.state).terminal)


def register(event: Event, received: dict) -> list[tuple[Resolution, Event]]:
    """Keep the token of a ``case.received`` and return its class C verdict against every other open case with
    the same token (each with that case's ``received`` event)."""
    token = received.get("duplicate_token")
    if not isinstance(token, str) or not token:
        return []
    key = str(received.get("idempotency_key") or event.idempotency_key)[:64]
    others = list(
        DuplicateToken.select().where(
            DuplicateToken.token == token, DuplicateToken.case_id != event.aggregate_id
        )
    )
    DuplicateToken.insert(
        token=token[:64],
        case_id=event.aggregate_id,
        station_code=event.station_id,
        event_id=event.event_id,
        idempotency_key=key,
    ).on_conflict_ignore().execute()
    found = []
    for other in others:
        if not _open(other.case_id):
            continue
        verdict = classify_duplicate(
            token, token, idempotency_a=other.idempotency_key or None, idempotency_b=key, both_open=True
        )
        row = LogEvent.get_or_none(LogEvent.event_id == other.event_id)
        if verdict is not None and row is not None:
            found.append((verdict, parse_event(bytes(row.body))))
    return found


def merged_into(case_id: str) -> str | None:
    """The case this one was merged into by a class C resolution (dedup or a reviewer's merge), if any."""
    row = (
        Conflict.select(Conflict.applied_event_ids)
        .where(
            Conflict.conflict_class == "C",
            Conflict.aggregate_id == case_id,
            Conflict.status != "open",
            Conflict.outcome.in_(MERGING_OUTCOMES),
        )
        .first()
    )
    if row is None:
        return None
    ids = json.loads(row.applied_event_ids or "[]")
    other = LogEvent.get_or_none(LogEvent.event_id == ids[0]) if ids else None
    return other.aggregate_id if other is not None else None


def duplicate_cases(conflict: Conflict) -> list[str]:
    """Both cases of a class C conflict: the incoming one first."""
    ids = json.loads(conflict.applied_event_ids or "[]")
    others = [r[0] for r in LogEvent.select(LogEvent.aggregate_id).where(LogEvent.event_id.in_(ids)).tuples()]
    return [conflict.aggregate_id, *others]


def duplicate_parties(conflict: Conflict, incoming: Event | None = None) -> list[dict[str, str]]:
    """Both applications of a class C conflict, the incoming one first, as their ``received`` events say: the case
    id, its number and the receiving station's code and name — what each station shows of the other case (it does
    not hold the other station's case). ``incoming``: the incoming event while its batch is still being ingested
    (not in the log yet)."""
    ids = [conflict.incoming_event_id, *json.loads(conflict.applied_event_ids or "[]")]
    rows = {
        event_id: parse_event(bytes(body))
        for event_id, body in LogEvent.select(LogEvent.event_id, LogEvent.body)
        .where(LogEvent.event_id.in_(ids))
        .tuples()
    }
    if incoming is not None and incoming.event_id == conflict.incoming_event_id:
        rows.setdefault(incoming.event_id, incoming)
    names = {
        code: name
        for code, name in Station.select(Station.code, Station.name)
        .where(Station.code.in_([e.station_id for e in rows.values()]))
        .tuples()
    }
    return [
        {
            "case": event.aggregate_id,
            "number": str(event.payload.get("case_no", "")),
            "station": event.station_id,
            "station_name": names.get(event.station_id, ""),
        }
        for event in (rows[i] for i in ids if i in rows)
    ]
