"""Deterministic keys and event chains for the sync_protocol tests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import SimpleNamespace

from sync_protocol.events import Event, build_event, compute_event_id, epoch_open_event, new_uuid7
from sync_protocol.hlc import HLC
from sync_protocol.keys import BoxKey, SigningKey

NETWORK = "test-net"
STATION = "st-330106001"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def seed(label: str) -> bytes:
    return hashlib.sha256(b"yiciban test key " + label.encode()).digest()


def signing_key(label: str) -> SigningKey:
    return SigningKey.from_private_bytes(seed(label))


def box_key(label: str) -> BoxKey:
    return BoxKey.from_private_bytes(seed(label))


STATION_KEY = signing_key("station")
CENTRAL_KEY = signing_key("central")
CENTRAL_BOX = box_key("central-ingest")
ESCROW_BOX = box_key("escrow")
STATION_BOX = box_key("station-box")


def make_chain(
    count: int,
    *,
    epoch: int = 1,
    station: str = STATION,
    network: str = NETWORK,
    previous_head: tuple[int, int, str] | None = None,
    reason: str = "install",
    start_ms: int = T0,
) -> list[Event]:
    """An epoch.open followed by ``count - 1`` realistic domain events."""
    clock = HLC(start_ms, 0)
    events = [
        epoch_open_event(
            network=network,
            station_id=station,
            epoch=epoch,
            reason=reason,
            previous_head=previous_head,
            hlc=clock,
            wall_ms=start_ms,
            actor="system",
        )
    ]
    for seq in range(2, count + 1):
        clock = clock.tick(start_ms + seq * 1000)
        events.append(
            domain_event(
                events[-1],
                seq=seq,
                hlc=clock,
                aggregate_id=uuid_for(seq % 7),
                station=station,
                network=network,
            )
        )
    return events


def uuid_for(n: int) -> str:
    return new_uuid7(T0 + n, hashlib.sha256(b"agg%d" % n).digest()[:10])


def domain_event(
    previous: Event,
    *,
    seq: int,
    hlc: HLC,
    aggregate_id: str,
    station: str = STATION,
    network: str = NETWORK,
    base_version: int = 0,
    payload: dict | None = None,
) -> Event:
    return build_event(
        network=network,
        station_id=station,
        epoch=previous.epoch,
        seq=seq,
        prev=previous.event_id,
        hlc=hlc,
        wall_ms=hlc.wall_ms,
        actor="clerk-07",
        idempotency_key=new_uuid7(hlc.wall_ms, hashlib.sha256(b"ik%d" % seq).digest()[:10]),
        type="case.field_edited",
        schema_version=1,
        aggregate_kind="case",
        aggregate_id=aggregate_id,
        payload=payload
        if payload is not None
        else {"field": "phone", "old": "13800000000", "new": f"139{seq:08d}"},
        base_version=base_version,
        catalog_version=12,
    )


def station_bodies(count: int, bad: dict[int, Callable[[bytes], bytes]]) -> list[bytes]:
    """The raw bodies a (buggy) station would sign: seq -> a function that spoils that seq's body. Every next
    event's ``prev`` is the id of the spoiled bytes, exactly as the station's log would chain them."""
    clock = HLC(T0, 0)
    opened = epoch_open_event(
        network=NETWORK,
        station_id=STATION,
        epoch=1,
        reason="install",
        previous_head=None,
        hlc=clock,
        wall_ms=T0,
        actor="system",
    )
    bodies = [bad[1](opened.body) if 1 in bad else opened.body]
    for seq in range(2, count + 1):
        clock = clock.tick(T0 + seq * 1000)
        previous = SimpleNamespace(event_id=compute_event_id(bodies[-1]), epoch=1)
        event = domain_event(previous, seq=seq, hlc=clock, aggregate_id=uuid_for(seq % 5))  # type: ignore[arg-type]
        bodies.append(bad[seq](event.body) if seq in bad else event.body)
    return bodies
