"""Central's own log (station ``central``, epoch 1): the conflict events it appends — ``conflict_flagged`` when a
conflict waits for a person, ``conflict_resolved`` for every resolution, automatic or by a person (SYNC-DESIGN §9).
They reach the stations concerned in the ``decisions`` part of their downstream bundles (PROTOCOL §13.5).
"""

from __future__ import annotations

import json
import time
from typing import Any

from sync_protocol.events import Event, build_event, epoch_open_event
from sync_protocol.hlc import HLC
from sync_protocol.schema import ZERO_ID

from ..models import Conflict, LogEvent, StationChain, utcnow
from .duplicates import duplicate_cases, duplicate_parties, merged_into

CENTRAL = "central"
RESOLUTION_EVENT = "conflict_resolved"
FLAG_EVENT = "conflict_flagged"
"""A conflict that waits for a person: the stations of its case(s) hear of it before anyone decides."""


def _central_head() -> tuple[int, str]:
    chain = StationChain.get_or_none(StationChain.station_code == CENTRAL, StationChain.epoch == 1)
    return (chain.head_seq, chain.head_id) if chain else (0, ZERO_ID)


def append_resolution(conflict: Conflict, outcome: str, actor: str, *, automatic: bool) -> str:
    """Append the resolution as a central event (inside the caller's transaction); returns its id."""
    return _append_central(conflict, RESOLUTION_EVENT, outcome, actor, automatic=automatic)


def append_flag(conflict: Conflict, incoming: Event | None = None) -> str:
    """Tell the stations concerned that a conflict on their case waits for a person (``conflict_flagged``, the
    same payload as a resolution, with the conflict's pending outcome); returns the event id. ``incoming``: the
    event the conflict is about, while its batch is being ingested."""
    return _append_central(
        conflict, FLAG_EVENT, conflict.outcome, "central", automatic=False, incoming=incoming
    )


def _append_central(conflict: Conflict, event_type: str, outcome: str, actor: str, *, automatic: bool,
                    incoming: Event | None = None) -> str:  # fmt: skip
    from ..runtime import current_runtime

    network = current_runtime().network_id
    seq, prev = _central_head()
    now_ms = int(time.time() * 1000)
    if seq == 0:
        opened = epoch_open_event(
            network=network,
            station_id=CENTRAL,
            epoch=1,
            reason="install",
            previous_head=None,
            hlc=HLC(now_ms, 0),
            wall_ms=now_ms,
            actor="central",
        )
        _store_central(opened, first=True)
        seq, prev = opened.seq, opened.event_id
    payload: dict[str, Any] = {
        "conflict": conflict.id,
        "class": conflict.conflict_class,
        "outcome": outcome,
        "automatic": automatic,
        "incoming": conflict.incoming_event_id,
        "competing": json.loads(conflict.applied_event_ids or "[]"),
        "station": conflict.station_code,
        "reason": {"zh": conflict.reason_zh, "en": conflict.reason_en},
        "incoming_applied": bool(conflict.incoming_applied),
    }
    if conflict.conflict_class == "C":
        # Both cases hear of it (their stations get it in their decisions part); a merge names the survivor.
        cases = duplicate_cases(conflict)
        payload["cases"] = cases
        # Each station shows the other case by its number and station (it does not hold that case).
        payload["parties"] = duplicate_parties(conflict, incoming)
        if outcome in ("dedup", "merge") and len(cases) > 1:
            payload["into"] = cases[1]
    elif conflict.conflict_class == "F" and merged_into(conflict.aggregate_id):
        # A late event on a merged case: the surviving case's stations hear where it went, too.
        payload["cases"] = [conflict.aggregate_id, merged_into(conflict.aggregate_id)]
    event = build_event(
        network=network,
        station_id=CENTRAL,
        epoch=1,
        seq=seq + 1,
        prev=prev,
        hlc=HLC(now_ms, 0),
        wall_ms=now_ms,
        actor=actor[:64],
        idempotency_key=f"conflict-{conflict.id}-{'flagged' if event_type == FLAG_EVENT else outcome}"[:64],
        type=event_type,
        schema_version=1,
        aggregate_kind="case" if conflict.aggregate_id else "station",
        aggregate_id=conflict.aggregate_id or conflict.station_code,
        payload=payload,
    )
    _store_central(event, first=False)
    return event.event_id


def _store_central(event: Event, *, first: bool) -> None:
    LogEvent.create(
        event_id=event.event_id,
        station_code=CENTRAL,
        epoch=event.epoch,
        seq=event.seq,
        prev=event.prev,
        event_type=event.type,
        aggregate_kind=event.aggregate_kind,
        aggregate_id=event.aggregate_id,
        hlc=event.hlc,
        body=event.body,
        batch_id=0,
    )
    if first:
        StationChain.create(
            station_code=CENTRAL, epoch=event.epoch, head_seq=event.seq, head_id=event.event_id
        )
    else:
        StationChain.update(head_seq=event.seq, head_id=event.event_id, updated_at=utcnow()).where(
            StationChain.station_code == CENTRAL, StationChain.epoch == event.epoch
        ).execute()
