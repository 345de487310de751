"""Central's history of one station, as ``sync_protocol.ingest.decide`` needs it (SYNC-DESIGN §7): chain heads,
the ids and held ids around the incoming events' positions, authorized epochs, and what rehome events name.
"""

from __future__ import annotations

from sync_protocol.events import EPOCH_OPEN, REHOME, Event
from sync_protocol.ingest import EpochHistory, StationHistory
from sync_protocol.schema import ZERO_ID
from sync_protocol.trust import parse_certificate

from ..models import ForkEvidence, HeldEvent, LogEvent, StationChain, StationKey
from .epochs import authorizations_for


def _widen(wanted: dict[int, tuple[int, int]], epoch: int, low: int, high: int) -> None:
    old = wanted.get(epoch)
    wanted[epoch] = (low, high) if old is None else (min(old[0], low), max(old[1], high))


def load_history(station_code: str, events: list[Event]) -> StationHistory:
    """Read exactly what ``decide`` needs: every chain head, ids and held ids around the events' positions,
    the ids epoch.open events link to, authorized epochs, and what rehome events name.

    An epoch with held events but nothing contiguous yet is given with head 0 (``EpochHistory`` semantics).
    """
    heads = {
        row.epoch: (row.head_seq, row.head_id)
        for row in StationChain.select().where(StationChain.station_code == station_code)
    }
    wanted: dict[int, tuple[int, int]] = {}
    for event in events:
        _widen(wanted, event.epoch, event.seq - 1, event.seq)
        if event.type == EPOCH_OPEN and event.payload["prev_epoch"] > 0:
            _widen(wanted, event.payload["prev_epoch"], event.payload["prev_seq"], event.payload["prev_seq"])
    epochs = {}
    for epoch, (head_seq, head_id) in heads.items():
        low, high = wanted.get(epoch, (head_seq, head_seq))
        ids = dict(
            LogEvent.select(LogEvent.seq, LogEvent.event_id)
            .where(
                LogEvent.station_code == station_code,
                LogEvent.epoch == epoch,
                LogEvent.seq.between(low, high),
            )
            .tuples()
        )
        held = dict(
            HeldEvent.select(HeldEvent.seq, HeldEvent.event_id)
            .where(
                HeldEvent.station_code == station_code,
                HeldEvent.epoch == epoch,
                HeldEvent.seq.between(low, high),
            )
            .tuples()
        )
        epochs[epoch] = EpochHistory(head_seq=head_seq, head_id=head_id, ids=ids, held=held)
    for epoch, (low, high) in wanted.items():
        if epoch in epochs:
            continue
        # Nothing of this epoch is contiguous yet, but events beyond a gap may be held: decide must see them
        # (a different event at a held seq is a fork, the same one a duplicate).
        held = dict(
            HeldEvent.select(HeldEvent.seq, HeldEvent.event_id)
            .where(
                HeldEvent.station_code == station_code,
                HeldEvent.epoch == epoch,
                HeldEvent.seq.between(low, high),
            )
            .tuples()
        )
        if held:
            epochs[epoch] = EpochHistory(head_seq=0, head_id=ZERO_ID, held=held)
    authorized = frozenset(
        parse_certificate(bytes(row.certificate)).epoch
        for row in StationKey.select(StationKey.certificate).where(StationKey.station_code == station_code)
    )
    originals = [e.payload["of"] for e in events if e.type == REHOME]
    rehomed: frozenset[str] = frozenset()
    applied: frozenset[str] = frozenset()
    if originals:
        rehomed = frozenset(
            r[0]
            for r in LogEvent.select(LogEvent.rehome_of).where(LogEvent.rehome_of.in_(originals)).tuples()
        )
        applied = frozenset(
            r[0] for r in LogEvent.select(LogEvent.event_id).where(LogEvent.event_id.in_(originals)).tuples()
        )
    return StationHistory(
        station_id=station_code,
        epochs=epochs,
        authorized_epochs=authorized,
        epoch_authorizations=authorizations_for(station_code),
        has_open_fork=ForkEvidence.select().where(ForkEvidence.station_code == station_code).exists(),
        rehomed_originals=rehomed,
        applied_originals=applied,
    )
