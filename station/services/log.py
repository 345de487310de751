"""The local log (transactional outbox): every change is an event appended in the same transaction as the change.

The append rule of SYNC-DESIGN.md §3: inside the caller's write transaction, read the head from the log table
itself (never a cached counter), build the event with ``sync_protocol.events.build_event``, store its bytes
verbatim. The hybrid logical clock is persisted in ``node_state`` in the same transaction. An idempotency key (a
form token) makes a double submit return the event already stored instead of a second one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from peewee import fn

from sync_protocol.events import (
    REHOME,
    AttachmentRef,
    Event,
    build_event,
    epoch_open_event,
    parse_event,
    verify_chain,
)
from sync_protocol.hlc import HLC
from sync_protocol.schema import ZERO_ID

from ..db import database
from ..errors import LogIntegrityError, NotEnrolledError
from ..models import CentralVersion, EventLog, NodeState, StationIdentity

HLC_KEY = "hlc"
BASED_KINDS = frozenset({"case", "applicant"})
"""Aggregates whose events declare a base (central merges them, SYNC-DESIGN §9)."""
ROLLBACK_KEY = "rollback_detected"
TAIL_CHECK_EVENTS = 1000


@dataclass(frozen=True)
class Appended:
    """The stored event and whether this call created it (False: the idempotency key was already used)."""

    event: Event
    created: bool


@dataclass(frozen=True)
class Head:
    epoch: int
    seq: int
    event_id: str


def read_head() -> Head | None:
    """The last event of the newest epoch, read from the table."""
    # The hot lookups of every append run plain SQL: building the query cost 20–50 times the lookup itself.
    row = database.execute_sql(
        'SELECT epoch, seq, event_id FROM "event_log" ORDER BY epoch DESC, seq DESC LIMIT 1'
    ).fetchone()
    return None if row is None else Head(row[0], row[1], row[2])


def _require_transaction() -> None:
    if database.transaction_depth() == 0:
        raise LogIntegrityError(
            "events are appended only inside the write transaction of the change they record"
        )


def _refuse_after_rollback() -> None:
    detected = NodeState.read(ROLLBACK_KEY)
    if not detected:
        return
    if detected.get("fork_seq"):
        raise LogIntegrityError(
            f"central holds different events than this store from epoch {detected['epoch']} seq "
            f"{detected['fork_seq']} on (a fork, e.g. after restoring a backup): run `yiciban-station restore` "
            "to re-issue this station's work in a new epoch before working on."
        )
    raise LogIntegrityError(
        "this store is older than what central already holds (restored from a backup?): "
        "run `yiciban-station restore` to open a new epoch before working on. "
        f"Central holds epoch {detected['epoch']} up to seq {detected['central_through']}, "
        f"this store only up to seq {detected['local_head']}."
    )


def rollback_state() -> dict | None:
    """What the last ack revealed (rolled-back store or fork), or None."""
    return NodeState.read(ROLLBACK_KEY)  # type: ignore[no-any-return]


def check_against_ack(epochs: dict[int, int], forks: dict[int, int] | None = None) -> bool:
    """Flag a rolled-back store (central acknowledged beyond our head of the current epoch) or a fork (central
    holds different events at seqs of our current epoch: epoch → first forked seq). Appends stop until restore."""
    head = read_head()
    if head is None:
        return False
    fork_seq = (forks or {}).get(head.epoch)
    if fork_seq:
        NodeState.write(ROLLBACK_KEY, {"epoch": head.epoch, "fork_seq": fork_seq, "local_head": head.seq})
        return True
    through = epochs.get(head.epoch, 0)
    if through > head.seq:
        NodeState.write(
            ROLLBACK_KEY, {"epoch": head.epoch, "central_through": through, "local_head": head.seq}
        )
        return True
    return False


def clear_rollback() -> None:
    NodeState.delete().where(NodeState.key == ROLLBACK_KEY).execute()


def _identity() -> StationIdentity:
    identity = StationIdentity.current()
    if identity is None or not identity.network_id:
        raise NotEnrolledError(
            "the station has no network yet: enroll it with central (or init with --network)"
        )
    return identity


def _next_clock(wall_ms: int) -> HLC:
    stored = NodeState.read(HLC_KEY)
    clock = (HLC.from_string(stored) if stored else HLC.zero()).tick(wall_ms)
    NodeState.write(HLC_KEY, clock.to_string())
    return clock


def tick_clock(wall_ms: int) -> HLC:
    """Advance and persist the clock for a locally issued event (inside the caller's transaction)."""
    return _next_clock(wall_ms)


def observe_remote_clock(remote: str, wall_ms: int | None = None) -> None:
    """Advance the persisted clock past a clock learned from central (acks, bundles)."""
    now = wall_ms if wall_ms is not None else int(time.time() * 1000)
    stored = NodeState.read(HLC_KEY)
    clock = (HLC.from_string(stored) if stored else HLC.zero()).receive(HLC.from_string(remote), now)
    NodeState.write(HLC_KEY, clock.to_string())


def store_event(event: Event) -> None:
    """Insert one event row verbatim (the caller checked where it belongs)."""
    EventLog.create(
        station=event.station_id,
        epoch=event.epoch,
        seq=event.seq,
        event_id=event.event_id,
        prev_id=event.prev,
        event_type=event.type,
        aggregate_kind=event.aggregate_kind,
        aggregate_id=event.aggregate_id,
        idempotency_key=None if event.type == REHOME else event.idempotency_key,
        body=event.body,
        recorded_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
    )


def open_epoch(reason: str, actor: str, wall_ms: int | None = None) -> Event:
    """Append ``epoch.open`` as seq 1 of a new epoch linked to the current head (install, restore, …)."""
    _require_transaction()
    identity = _identity()
    now = wall_ms if wall_ms is not None else int(time.time() * 1000)
    head = read_head()
    event = epoch_open_event(
        network=identity.network_id,
        station_id=identity.station_code,
        epoch=(head.epoch + 1) if head else 1,
        reason=reason,
        previous_head=(head.epoch, head.seq, head.event_id) if head else None,
        hlc=_next_clock(now),
        wall_ms=now,
        actor=actor,
    )
    store_event(event)
    return event


@dataclass(frozen=True)
class Base:
    """What the station knew of an aggregate when it acted: central's version of it and its own last event."""

    version: int
    own_event: str


def base_of(aggregate_kind: str, aggregate_id: str) -> Base:
    """The base an event on this aggregate declares now: the central version the station last learned from a
    downstream bundle (0 when it never saw one) and its own newest event on the aggregate (``""`` if none)."""
    key = (aggregate_kind, aggregate_id)
    row = database.execute_sql(
        'SELECT version FROM "central_version" WHERE aggregate_kind = ? AND aggregate_id = ?', key
    ).fetchone()
    own = database.execute_sql(
        'SELECT event_id FROM "event_log" WHERE aggregate_kind = ? AND aggregate_id = ? '
        "ORDER BY epoch DESC, seq DESC LIMIT 1",
        key,
    ).fetchone()
    return Base(row[0] if row is not None else 0, own[0] if own is not None else "")


def learn_central_versions(version: int, aggregates: set[tuple[str, str]]) -> None:
    """Record that central's version of each aggregate is ``version`` as far as this station knows (inside the
    caller's transaction). Versions only move forward."""
    for kind, aggregate_id in sorted(aggregates):
        if kind not in BASED_KINDS:
            continue
        CentralVersion.insert(aggregate_kind=kind, aggregate_id=aggregate_id, version=version).on_conflict(
            conflict_target=[CentralVersion.aggregate_kind, CentralVersion.aggregate_id],
            update={CentralVersion.version: fn.MAX(CentralVersion.version, version)},
        ).execute()


def find_by_idempotency_key(key: str) -> Event | None:
    row = database.execute_sql('SELECT body FROM "event_log" WHERE idempotency_key = ?', (key,)).fetchone()
    return None if row is None else parse_event(bytes(row[0]))


def append_event(
    *,
    actor: str,
    event_type: str,
    aggregate_kind: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    idempotency_key: str,
    schema_version: int = 1,
    base_version: int | None = None,
    base_own_event: str | None = None,
    catalog_version: int = 0,
    wall_ms: int | None = None,
    attachments: Sequence[AttachmentRef] = (),
) -> Appended:
    """Append one domain event inside the caller's write transaction; opens epoch 1 on a fresh log.

    An event on a case or applicant declares its base (``base_of``) unless the caller names one: central's version
    of the aggregate as the station knows it and the station's own last event on it. Other aggregates carry 0/"".
    """
    _require_transaction()
    _refuse_after_rollback()
    existing = find_by_idempotency_key(idempotency_key)
    if existing is not None:
        return Appended(existing, created=False)
    identity = _identity()
    head = read_head()
    if head is None:
        open_epoch("install", actor, wall_ms)
        head = read_head()
    assert head is not None
    now = wall_ms if wall_ms is not None else int(time.time() * 1000)
    if aggregate_kind in BASED_KINDS and (base_version is None or base_own_event is None):
        known = base_of(aggregate_kind, aggregate_id)
        base_version = known.version if base_version is None else base_version
        base_own_event = known.own_event if base_own_event is None else base_own_event
    event = build_event(
        network=identity.network_id,
        station_id=identity.station_code,
        epoch=head.epoch,
        seq=head.seq + 1,
        prev=head.event_id,
        hlc=_next_clock(now),
        wall_ms=now,
        actor=actor,
        idempotency_key=idempotency_key,
        type=event_type,
        schema_version=schema_version,
        aggregate_kind=aggregate_kind,
        aggregate_id=aggregate_id,
        payload=payload,
        base_version=base_version or 0,
        base_own_event=base_own_event or "",
        catalog_version=catalog_version,
        attachments=attachments,
    )
    store_event(event)
    return Appended(event, created=True)


def events_of(aggregate_kind: str, aggregate_id: str) -> list[Event]:
    """Every event of one aggregate in log order (the case timeline)."""
    rows = (
        EventLog.select(EventLog.body)
        .where((EventLog.aggregate_kind == aggregate_kind) & (EventLog.aggregate_id == aggregate_id))
        .order_by(EventLog.epoch, EventLog.seq)
    )
    return [parse_event(bytes(row.body)) for row in rows]


def events_after(epoch: int, seq: int, limit: int) -> list[Event]:
    """Events after (epoch, seq) in log order, at most ``limit`` and never crossing an epoch boundary."""
    rows = (
        EventLog.select(EventLog.body)
        .where(
            ((EventLog.epoch == epoch) & (EventLog.seq > seq))
            | ((EventLog.epoch > epoch) & (EventLog.seq >= 1))
        )
        .order_by(EventLog.epoch, EventLog.seq)
        .limit(limit)
    )
    events = [parse_event(bytes(row.body)) for row in rows]
    if events:
        first_epoch = events[0].epoch
        events = [e for e in events if e.epoch == first_epoch]
    return events


def previous_id(epoch: int, seq: int) -> str:
    """The id of the event just before (epoch, seq): the predecessor, or the previous epoch's head for seq 1."""
    if seq > 1:
        row = EventLog.get((EventLog.epoch == epoch) & (EventLog.seq == seq - 1))
        return str(row.event_id)
    row = EventLog.get((EventLog.epoch == epoch) & (EventLog.seq == 1))
    return str(row.prev_id)


def verify_tail(limit: int = TAIL_CHECK_EVENTS) -> Head | None:
    """Start-up self-check: the last ``limit`` events of the newest epoch form an unbroken chain.

    Raises:
        LogIntegrityError: a stored body does not hash to its id, or the chain is broken.
    """
    head = read_head()
    if head is None:
        return None
    first_seq = max(1, head.seq - limit + 1)
    rows = list(
        EventLog.select()
        .where((EventLog.epoch == head.epoch) & (EventLog.seq >= first_seq))
        .order_by(EventLog.seq)
    )
    try:
        events = [parse_event(bytes(row.body)) for row in rows]
        for row, event in zip(rows, events, strict=True):
            if row.event_id != event.event_id:
                raise LogIntegrityError(f"event at seq {row.seq} does not hash to its stored id")
        start_prev = events[0].prev if first_seq == 1 else previous_id(head.epoch, first_seq)
        verify_chain(events, start_prev)
    except LogIntegrityError:
        raise
    except Exception as e:
        raise LogIntegrityError(f"the local log is broken: {e}") from e
    return head


__all__ = [
    "ZERO_ID",
    "Appended",
    "Base",
    "Head",
    "append_event",
    "base_of",
    "learn_central_versions",
    "events_after",
    "events_of",
    "find_by_idempotency_key",
    "observe_remote_clock",
    "open_epoch",
    "read_head",
    "verify_tail",
]
