"""Writing one ingest decision inside its transaction (SYNC-DESIGN §7): the appended events as ``central_log`` rows
in one ``executemany`` (the hot path), the chain heads, and what is not appended — held gaps, fork evidence,
quarantined and malformed events, kept verbatim as evidence.
"""

from __future__ import annotations

from sync_protocol.events import REHOME
from sync_protocol.ingest import BatchDecision, EventDecision, Outcome

from ..db import database
from ..models import ForkEvidence, HeldEvent, LogEvent, QuarantinedEvent, StationChain, utcnow

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


def append_log_rows(decisions: list[EventDecision], batch_id_of: dict[str, int], now) -> None:
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


def set_heads(station_code: str, heads: dict[int, tuple[int, str]]) -> None:
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


def record_set_aside(decisions: list[EventDecision], batch_id: int, station_code: str) -> None:
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
            _quarantine(station_code, event.epoch, event.seq, event.event_id, d.reason, event.body, batch_id)


def record_malformed(decision: BatchDecision, batch_id: int, station_code: str) -> None:
    """Bodies that did not parse inside a verified batch: rejected one by one, their exact bytes kept."""
    for rejected in decision.malformed:
        item = rejected.item
        _quarantine(station_code, item.epoch, item.seq, item.event_id, rejected.reason, item.body, batch_id)


def _quarantine(
    station_code: str, epoch: int, seq: int, event_id: str, reason: str, body: bytes, batch_id: int
) -> None:
    """Keep an event's exact bytes in quarantine with the reason, once (a re-sent batch finds it there)."""
    if not QuarantinedEvent.select().where(QuarantinedEvent.event_id == event_id).exists():
        QuarantinedEvent.create(
            station_code=station_code,
            epoch=epoch,
            seq=seq,
            event_id=event_id,
            reason=reason,
            body=body,
            batch_id=batch_id,
        )
