"""Signed acks (回执): what central durably holds from one station, signed only after the commit that stored it.

Built from the tables, never from the batch in hand, so an ack can be re-issued at any time (after a crash
between commit and signing, ``reissue_missing_acks`` does exactly that at start-up).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from peewee import fn

from sync_protocol.acks import EpochAck, ForkNote, NotAppliedNote, QuarantineNote, make_ack
from sync_protocol.keys import SigningKey
from sync_protocol.schema import ZERO_ID

from ..db import write_transaction
from ..models import Ack, Batch, Conflict, ForkEvidence, HeldEvent, LogEvent, QuarantinedEvent, StationChain


def seq_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Compress sorted sequence numbers into inclusive ranges: [1,2,3,7] → [(1,3),(7,7)]."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def _missing(through: int, held: list[tuple[int, int]]) -> list[tuple[int, int]]:
    missing = []
    cursor = through + 1
    for start, end in held:
        if start > cursor:
            missing.append((cursor, start - 1))
        cursor = max(cursor, end + 1)
    return missing


def epoch_acks(station_code: str) -> list[EpochAck]:
    heads = {
        row.epoch: (row.head_seq, row.head_id)
        for row in StationChain.select().where(StationChain.station_code == station_code)
    }
    held: dict[int, list[int]] = {}
    for epoch, seq in (
        HeldEvent.select(HeldEvent.epoch, HeldEvent.seq)
        .where(HeldEvent.station_code == station_code)
        .tuples()
    ):
        held.setdefault(epoch, []).append(seq)
    forks: dict[int, list[ForkNote]] = {}
    for row in (
        ForkEvidence.select().where(ForkEvidence.station_code == station_code).order_by(ForkEvidence.seq)
    ):
        note = ForkNote(row.seq, row.held_event_id, row.incoming_event_id)
        if note not in forks.setdefault(row.epoch, []):
            forks[row.epoch].append(note)
    quarantined: dict[int, list[QuarantineNote]] = {}
    for row in (
        QuarantinedEvent.select()
        .where(QuarantinedEvent.station_code == station_code, QuarantinedEvent.released_at.is_null())
        .order_by(QuarantinedEvent.seq)
    ):
        quarantined.setdefault(row.epoch, []).append(QuarantineNote(row.seq, row.event_id, row.reason))
    not_applied: dict[int, list[NotAppliedNote]] = {}
    rows = (
        Conflict.select(Conflict.id, LogEvent.epoch, LogEvent.seq, LogEvent.event_id)
        .join(LogEvent, on=(LogEvent.event_id == Conflict.incoming_event_id))
        .where(
            Conflict.station_code == station_code,
            Conflict.incoming_applied == False,  # noqa: E712
            Conflict.conflict_class != "G",
        )
        .order_by(LogEvent.seq)
        .tuples()
    )
    for conflict_id, epoch, seq, event_id in rows:
        not_applied.setdefault(epoch, []).append(NotAppliedNote(seq, event_id, str(conflict_id)))
    entries = []
    for epoch in sorted(set(heads) | set(held) | set(forks) | set(quarantined) | set(not_applied)):
        through, through_id = heads.get(epoch, (0, ZERO_ID))
        held_ranges = seq_ranges(s for s in held.get(epoch, []) if s > through)
        entries.append(
            EpochAck(
                epoch=epoch,
                through=through,
                through_id=through_id,
                held=tuple(held_ranges),
                missing=tuple(_missing(through, held_ranges)),
                forks=tuple(forks.get(epoch, [])),
                quarantined=tuple(quarantined.get(epoch, [])),
                not_applied=tuple(not_applied.get(epoch, [])),
            )
        )
    return entries


def issue_ack(station_code: str, network: str, central_key: SigningKey) -> bytes:
    """Sign and store the next ack for a station (call after the ingest transaction committed)."""
    with write_transaction():
        version = (Ack.select(fn.MAX(Ack.version)).where(Ack.station_code == station_code).scalar() or 0) + 1
        ack = make_ack(
            network=network,
            station_id=station_code,
            version=version,
            central_time_ms=int(time.time() * 1000),
            epochs=epoch_acks(station_code),
            central_key=central_key,
        )
        Ack.create(station_code=station_code, version=version, body=ack.raw)
    return ack.raw


def latest_ack(station_code: str) -> bytes | None:
    row = Ack.select(Ack.body).where(Ack.station_code == station_code).order_by(Ack.version.desc()).first()
    return bytes(row.body) if row is not None else None


def reissue_missing_acks(network: str, central_key: SigningKey) -> list[str]:
    """Stations whose last processed batch is newer than their last ack get a fresh ack."""
    last_batch = {
        code: at
        for code, at in Batch.select(Batch.station_code, fn.MAX(Batch.processed_at))
        .where(Batch.station_code.is_null(False), Batch.processed_at.is_null(False))
        .group_by(Batch.station_code)
        .tuples()
    }
    last_ack = {
        code: at
        for code, at in Ack.select(Ack.station_code, fn.MAX(Ack.created_at))
        .group_by(Ack.station_code)
        .tuples()
    }
    stale = [code for code, at in last_batch.items() if code not in last_ack or last_ack[code] < at]
    for code in stale:
        issue_ack(code, network, central_key)
    return stale
