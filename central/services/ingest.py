"""Central ingest (入库), SYNC-DESIGN §7: open a stored file, decide every event, apply in ONE transaction.

Decrypting and verifying (CPU) happen outside the transaction; reading central's history, the decision and every
write happen inside it under the writer lock, so two workers ingesting the same station cannot interleave.
The hot path appends with one ``executemany``; the signed ack is made only after the commit.

The stages are modules: ingest_history.py (central's history for the decision), ingest_log.py (the append and what
is set aside), ingest_held.py (held events and gaps). ``_apply`` calls them through this module's names, which
bench/central_stages.py wraps with timers.
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
from sync_protocol.events import KEY_ROTATE
from sync_protocol.ingest import BatchDecision, Outcome, decide_batch
from sync_protocol.seal import decode_recipient

from ..db import database, write_transaction
from ..errors import NotFoundError
from ..models import Batch, HeldEvent, LogEvent, Station, utcnow
from .acks import issue_ack
from .audit import record_audit
from .blobs import save_inline_blobs
from .conflicts import detect, record_integrity
from .ingest_held import absorb_held, mark_released_batches, release_held
from .ingest_history import load_history
from .ingest_log import append_log_rows, record_malformed, record_set_aside, set_heads
from .projections import refresh_cases
from .registry import key_status, public_key_lookup, rotate_key

QUARANTINE_OUTCOMES = {
    Outcome.FORK: "fork",
    Outcome.REVOKED: "revoked_key",
    Outcome.EPOCH_REVIEW: "epoch_review",
    Outcome.MALFORMED: "malformed",
}


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
        append_log_rows(appended, {e.event_id: batch.id for e in events}, now)
        set_aside = [d for d in decision.decisions if not d.outcome.appends]
        record_set_aside(set_aside, batch.id, station_code)
        record_malformed(decision, batch.id, station_code)
        for outcome, reason in QUARANTINE_OUTCOMES.items():
            first = next((d for d in set_aside if d.outcome is outcome), None)
            if first is not None and outcome is not Outcome.MALFORMED:  # a bad body is not an integrity class
                record_integrity(station_code, reason, first.event, batch.id)
        set_heads(station_code, decision.heads)
        absorb_held([d.event.event_id for d in appended], station_code, batch.id)
        for rotation in (d.event for d in appended if d.event.type == KEY_ROTATE):
            rotate_key(rotation, runtime.network_id, runtime.keys.central)
        held_batches = dict(
            HeldEvent.select(HeldEvent.event_id, HeldEvent.batch_id)
            .where(HeldEvent.station_code == station_code)
            .tuples()
        )
        # Nothing held for this station (the usual case): nothing to release and nothing of this batch held.
        released = release_held(station_code, key, central_keys, now)[0] if held_batches else []
        mark_released_batches(
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
