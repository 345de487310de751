"""Central ingest (入库), SYNC-DESIGN §7: open a stored file, decide every event, apply in ONE transaction.

Decrypting and verifying (CPU) happen outside the transaction; reading central's history, the decision and every
write happen inside it under the writer lock, so two workers ingesting the same station cannot interleave.
The hot path appends with one ``executemany``; the signed ack is made only after the commit.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from peewee import fn

from sync_protocol.batch import OpenedBatch, open_batch
from sync_protocol.errors import ProtocolError, UnknownKeyError
from sync_protocol.events import EPOCH_OPEN, KEY_ROTATE, REHOME, Event, parse_event
from sync_protocol.ingest import (
    BatchDecision,
    EpochHistory,
    EventDecision,
    KeyStatus,
    Outcome,
    StationHistory,
    decide,
    decide_batch,
)
from sync_protocol.schema import ZERO_ID
from sync_protocol.seal import decode_recipient
from sync_protocol.trust import parse_certificate

from ..db import database, write_transaction
from ..errors import NotFoundError
from ..models import (
    Batch,
    ForkEvidence,
    HeldEvent,
    LogEvent,
    QuarantinedEvent,
    Station,
    StationChain,
    StationKey,
    utcnow,
)
from .acks import issue_ack
from .audit import record_audit
from .blobs import save_inline_blobs
from .conflicts import detect, record_integrity
from .epochs import authorizations_for
from .projections import refresh_cases
from .registry import key_status, public_key_lookup, rotate_key

QUARANTINE_OUTCOMES = {
    Outcome.FORK: "fork",
    Outcome.REVOKED: "revoked_key",
    Outcome.EPOCH_REVIEW: "epoch_review",
    Outcome.MALFORMED: "malformed",
}
LOG_COLUMNS = (
    "event_id",
    "station_code",
    "epoch",
    "seq",
    "prev",
    "event_type",
    "aggregate_kind",
    "aggregate_id",
    "hlc",
    "rehome_of",
    "body",
    "batch_id",
    "received_at",
)


@dataclass(frozen=True)
class IngestOutcome:
    batch_id: int
    status: str
    reason: str = ""
    applied: int = 0
    duplicates: int = 0
    held: int = 0
    quarantined: int = 0


def batch_file_path(instance: Path, name: str) -> Path:
    inbox = instance / "inbox" / name
    return inbox if inbox.exists() else instance / "quarantine" / name


def _outcome_of(batch: Batch) -> IngestOutcome:
    return IngestOutcome(
        batch.id, batch.status, batch.reason, batch.applied_count, batch.duplicate_count, batch.held_count
    )


def _set_aside(instance: Path, batch: Batch, status: str, error: ProtocolError) -> IngestOutcome:
    """Reject or quarantine a whole file: keep its bytes in quarantine/ and the reason on the batch."""
    detail = {"message": error.message, **{k: str(v) for k, v in error.details.items()}}
    with write_transaction():
        Batch.update(
            status=status,
            reason=error.reason,
            detail=json.dumps(detail, ensure_ascii=False),
            processed_at=utcnow(),
        ).where(Batch.id == batch.id).execute()
        record_audit(
            "system", "batch_quarantined" if status == "quarantined" else "batch_rejected", batch.name, detail
        )
    source = instance / "inbox" / batch.name
    if source.exists():
        (instance / "quarantine").mkdir(exist_ok=True)
        os.replace(source, instance / "quarantine" / batch.name)
    return IngestOutcome(batch.id, status, error.reason)


# --- central's history of one station, as sync_protocol.ingest needs it ------------------------------------------


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


# --- writing a decision ------------------------------------------------------------------------------------------


def _append(decisions: list[EventDecision], batch_id_of: dict[str, int], now) -> None:
    """The hot path: one executemany for every appended event of the batch."""
    if not decisions:
        return
    body_value = LogEvent.body.db_value
    received = LogEvent.received_at.db_value(now)
    rows = [
        (
            d.event.event_id,
            d.event.station_id,
            d.event.epoch,
            d.event.seq,
            d.event.prev,
            d.event.type,
            d.event.aggregate_kind,
            d.event.aggregate_id,
            d.event.hlc,
            d.event.payload["of"] if d.event.type == REHOME else None,
            body_value(d.event.body),
            batch_id_of[d.event.event_id],
            received,
        )
        for d in decisions
    ]
    marks = ", ".join([database.param] * len(LOG_COLUMNS))
    sql = f"INSERT INTO central_log ({', '.join(LOG_COLUMNS)}) VALUES ({marks})"
    cursor = database.cursor()
    cursor.executemany(sql, rows)


def _set_heads(station_code: str, heads: dict[int, tuple[int, str]]) -> None:
    now = utcnow()
    for epoch, (seq, event_id) in heads.items():
        if seq == 0:
            continue  # only held events so far: no contiguous head to record
        updated = (
            StationChain.update(head_seq=seq, head_id=event_id, updated_at=now)
            .where(StationChain.station_code == station_code, StationChain.epoch == epoch)
            .execute()
        )
        if not updated:
            StationChain.create(
                station_code=station_code, epoch=epoch, head_seq=seq, head_id=event_id, updated_at=now
            )


def _record_set_aside(decisions: list[EventDecision], batch_id: int, station_code: str) -> None:
    """Keep what is not appended: held gaps, fork evidence, and quarantined events (a malformed body is kept
    verbatim as evidence; its station comes from the signed checkpoint, not from the unparsable body)."""
    for d in decisions:
        event = d.event
        if d.outcome is Outcome.GAP:
            exists = (
                HeldEvent.select()
                .where(
                    HeldEvent.station_code == event.station_id,
                    HeldEvent.epoch == event.epoch,
                    HeldEvent.seq == event.seq,
                    HeldEvent.event_id == event.event_id,
                )
                .exists()
            )
            if not exists:
                HeldEvent.create(
                    station_code=event.station_id,
                    epoch=event.epoch,
                    seq=event.seq,
                    event_id=event.event_id,
                    body=event.body,
                    batch_id=batch_id,
                )
        elif d.outcome is Outcome.FORK:
            ForkEvidence.create(
                station_code=event.station_id,
                epoch=event.epoch,
                seq=event.seq,
                held_event_id=str(d.details.get("held", "")),
                incoming_event_id=event.event_id,
                incoming_body=event.body,
                batch_id=batch_id,
            )
        elif d.outcome in (Outcome.REVOKED, Outcome.EPOCH_REVIEW, Outcome.UNKNOWN_KEY, Outcome.MALFORMED):
            exists = QuarantinedEvent.select().where(QuarantinedEvent.event_id == event.event_id).exists()
            if not exists:
                QuarantinedEvent.create(
                    station_code=station_code,
                    epoch=event.epoch,
                    seq=event.seq,
                    event_id=event.event_id,
                    reason=d.reason,
                    body=event.body,
                    batch_id=batch_id,
                )


def _record_malformed(decision: BatchDecision, batch_id: int, station_code: str) -> None:
    """Bodies that did not parse inside a verified batch: rejected one by one, their exact bytes kept."""
    for rejected in decision.malformed:
        item = rejected.item
        if not QuarantinedEvent.select().where(QuarantinedEvent.event_id == item.event_id).exists():
            QuarantinedEvent.create(
                station_code=station_code,
                epoch=item.epoch,
                seq=item.seq,
                event_id=item.event_id,
                reason=rejected.reason,
                body=item.body,
                batch_id=batch_id,
            )


def _release_held(
    station_code: str, key: KeyStatus, central_keys: list[bytes], now
) -> tuple[list[EventDecision], dict[int, tuple[int, str]]]:
    """Held events that now continue a chain are decided again, in seq order, and appended."""
    released: list[EventDecision] = []
    heads: dict[int, tuple[int, str]] = {}
    while True:
        progress = False
        for chain in StationChain.select().where(StationChain.station_code == station_code):
            rows = list(
                HeldEvent.select()
                .where(
                    HeldEvent.station_code == station_code,
                    HeldEvent.epoch == chain.epoch,
                    HeldEvent.seq > chain.head_seq,
                )
                .order_by(HeldEvent.seq, HeldEvent.id)
            )
            if not rows or rows[0].seq != chain.head_seq + 1:
                continue
            run = [parse_event(bytes(rows[0].body))]
            batch_of = {run[0].event_id: rows[0].batch_id}
            for row in rows[1:]:
                if row.seq != run[-1].seq + 1:
                    break
                run.append(parse_event(bytes(row.body)))
                batch_of[run[-1].event_id] = row.batch_id
            decision = decide(run, load_history(station_code, run), key=key, central_keys=central_keys)
            appended = [d for d in decision.decisions if d.outcome.appends]
            _append(appended, batch_of, now)
            _record_set_aside(
                [d for d in decision.decisions if d.outcome is Outcome.FORK], rows[0].batch_id, station_code
            )
            _set_heads(station_code, decision.heads)
            heads.update(decision.heads)
            HeldEvent.delete().where(
                HeldEvent.station_code == station_code,
                HeldEvent.epoch == chain.epoch,
                HeldEvent.seq <= decision.heads.get(chain.epoch, (chain.head_seq, ""))[0],
            ).execute()
            released.extend(appended)
            progress = progress or bool(appended)
        if not progress:
            return released, heads


def _absorb_held(event_ids: list[str], station_code: str, batch_id: int) -> None:
    """Held copies of events this batch just appended are no longer held; a batch that only waited for those
    events is complete (its events reached the log through another batch)."""
    if not event_ids or not HeldEvent.select().where(HeldEvent.station_code == station_code).exists():
        return  # the usual case: nothing of this station is held, so no need to look up every id
    rows = list(
        HeldEvent.select(HeldEvent.id, HeldEvent.batch_id)
        .where(HeldEvent.station_code == station_code, HeldEvent.event_id.in_(event_ids))
        .tuples()
    )
    if not rows:
        return
    HeldEvent.delete().where(HeldEvent.id.in_([r[0] for r in rows])).execute()
    for other in {r[1] for r in rows if r[1] != batch_id}:
        absorbed = sum(1 for r in rows if r[1] == other)
        remaining = HeldEvent.select().where(HeldEvent.batch_id == other).count()
        Batch.update(
            {Batch.duplicate_count: Batch.duplicate_count + absorbed, Batch.held_count: remaining}
        ).where(Batch.id == other).execute()
        if remaining == 0:
            Batch.update(status="applied", reason="").where(
                Batch.id == other, Batch.status == "pending_gap"
            ).execute()


def _batch_status(decision: BatchDecision) -> tuple[str, str]:
    outcomes = [d.outcome for d in decision.decisions] + [m.outcome for m in decision.malformed]
    for outcome, reason in QUARANTINE_OUTCOMES.items():
        if outcome in outcomes:
            return "quarantined", reason
    if Outcome.GAP in outcomes:
        return "pending_gap", "gap"
    if all(o is Outcome.DUPLICATE for o in outcomes):
        return "duplicate", ""
    return "applied", ""


def _mark_released_batches(released: list[EventDecision], batch_of: dict[str, int]) -> None:
    by_batch: dict[int, int] = {}
    for d in released:
        by_batch[batch_of.get(d.event.event_id, 0)] = by_batch.get(batch_of.get(d.event.event_id, 0), 0) + 1
    for batch_id, count in by_batch.items():
        still_held = HeldEvent.select().where(HeldEvent.batch_id == batch_id).count()
        update = {Batch.applied_count: Batch.applied_count + count, Batch.held_count: still_held}
        query = Batch.update(update).where(Batch.id == batch_id)
        query.execute()
        if still_held == 0:
            Batch.update(status="applied", reason="").where(
                Batch.id == batch_id, Batch.status == "pending_gap"
            ).execute()


def _apply(runtime, batch: Batch, opened: OpenedBatch, now_ms: int) -> IngestOutcome:
    checkpoint = opened.checkpoint
    station_code = checkpoint.station_id
    now = utcnow()
    with write_transaction():
        current = Batch.get_by_id(batch.id)
        if current.status != "stored":
            return _outcome_of(current)  # another worker finished it first
        key = key_status(station_code, checkpoint.key_id)
        events = list(opened.events)
        central_keys = [runtime.keys.central.public_raw]
        decision = decide_batch(
            opened,
            load_history(station_code, events),
            key=key,
            central_wall_ms=now_ms,
            central_keys=central_keys,
        )
        appended = [d for d in decision.decisions if d.outcome.appends]
        detected = detect([d.event for d in appended if d.apply], batch.id)
        logged_before = LogEvent.select(fn.MAX(LogEvent.central_seq)).scalar() or 0
        _append(appended, {e.event_id: batch.id for e in events}, now)
        set_aside = [d for d in decision.decisions if not d.outcome.appends]
        _record_set_aside(set_aside, batch.id, station_code)
        _record_malformed(decision, batch.id, station_code)
        for outcome, reason in QUARANTINE_OUTCOMES.items():
            first = next((d for d in set_aside if d.outcome is outcome), None)
            if first is not None and outcome is not Outcome.MALFORMED:  # a bad body is not an integrity class
                record_integrity(station_code, reason, first.event, batch.id)
        _set_heads(station_code, decision.heads)
        _absorb_held([d.event.event_id for d in appended], station_code, batch.id)
        for rotation in (d.event for d in appended if d.event.type == KEY_ROTATE):
            rotate_key(rotation, runtime.network_id, runtime.keys.central)
        held_batches = dict(
            HeldEvent.select(HeldEvent.event_id, HeldEvent.batch_id)
            .where(HeldEvent.station_code == station_code)
            .tuples()
        )
        # Nothing held for this station (the usual case): nothing to release and nothing of this batch held.
        released = _release_held(station_code, key, central_keys, now)[0] if held_batches else []
        _mark_released_batches(
            [d for d in released if held_batches.get(d.event.event_id) != batch.id], held_batches
        )
        released_here = sum(1 for d in released if held_batches.get(d.event.event_id) == batch.id)
        status, reason = _batch_status(decision)
        held_now = HeldEvent.select().where(HeldEvent.batch_id == batch.id).count() if held_batches else 0
        if status == "pending_gap" and held_now == 0:
            status, reason = "applied", ""
        counts = {
            "applied": len(appended) + released_here,
            "duplicates": len(decision.by_outcome(Outcome.DUPLICATE)),
            "quarantined": sum(len(decision.by_outcome(o)) for o in QUARANTINE_OUTCOMES),
        }
        detail = {
            "outcomes": {o.value: len(decision.by_outcome(o)) for o in Outcome if decision.by_outcome(o)},
            "clock_suspect": decision.clock_suspect,
            "conflicts": sorted(d.conflict_id for d in detected.values()),
        }
        if decision.malformed:
            detail["outcomes"]["malformed"] = len(decision.malformed)
            detail["message"] = f"seq {decision.malformed[0].item.seq}: {decision.malformed[0].item.message}"
        forks = decision.by_outcome(Outcome.FORK)
        if forks:
            detail["message"] = f"fork at seq {forks[0].event.seq}: {forks[0].reason}"
        Batch.update(
            status=status,
            reason=reason,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            station_code=station_code,
            epoch=checkpoint.epoch,
            seq_first=checkpoint.first_seq,
            seq_last=checkpoint.last_seq,
            event_count=len(events),
            applied_count=counts["applied"],
            duplicate_count=counts["duplicates"],
            held_count=held_now,
            processed_at=now,
            checkpoint=checkpoint.raw,
        ).where(Batch.id == batch.id).execute()
        Station.update(last_contact_at=now, clock_skew_ms=checkpoint.wall_ms - now_ms).where(
            Station.code == station_code
        ).execute()
        if opened.blobs:  # verified with the batch; kept even if some events are set aside (evidence)
            save_inline_blobs(
                runtime.instance,
                opened.blobs,
                [runtime.keys.ingest.public_raw, decode_recipient(runtime.keys.escrow_recipient)],
            )
        applied_events = [d.event for d in appended + released if d.apply or d.outcome.appends]
        refresh_cases(
            {e.aggregate_id for e in applied_events if e.aggregate_kind == "case"},
            {e.event_id: e for e in applied_events},
            logged_after=logged_before,
        )
        if status == "quarantined":
            record_audit(
                "system", "batch_quarantined", batch.name, {"reason": reason, "station": station_code}
            )
    return IngestOutcome(
        batch.id, status, reason, counts["applied"], counts["duplicates"], held_now, counts["quarantined"]
    )


def ingest_file(runtime, name: str) -> IngestOutcome:
    """Process one stored file end to end; safe to call again (a processed batch is returned as it stands)."""
    database.connect(reuse_if_open=True)
    batch = Batch.get_or_none(Batch.name == name)
    if batch is None:
        raise NotFoundError(f"no stored file named {name}")
    if batch.status != "stored":
        return _outcome_of(batch)
    data = batch_file_path(runtime.instance, name).read_bytes()
    try:
        opened = open_batch(
            data,
            [runtime.keys.ingest.private_raw],
            network=runtime.network_id,
            public_key_for=public_key_lookup,
        )
    except UnknownKeyError as e:
        return _set_aside(runtime.instance, batch, "quarantined", e)
    except ProtocolError as e:
        return _set_aside(runtime.instance, batch, "rejected", e)
    outcome = _apply(runtime, batch, opened, int(time.time() * 1000))
    issue_ack(opened.checkpoint.station_id, runtime.network_id, runtime.keys.central)
    if any(e.type == KEY_ROTATE for e in opened.events):
        for waiting in reevaluate_unknown_key_batches():
            ingest_file(runtime, waiting)  # files signed by the new key that arrived before its announcement
    return outcome


def reevaluate_unknown_key_batches() -> list[str]:
    """After the registry changed: files quarantined for an unknown key go back to ``stored`` to be retried."""
    names = [
        row.name
        for row in Batch.select(Batch.name).where(
            Batch.status == "quarantined", Batch.reason == "unknown_key"
        )
    ]
    if names:
        with write_transaction():
            Batch.update(status="stored", reason="", detail="").where(Batch.name.in_(names)).execute()
    return names
