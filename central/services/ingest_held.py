"""Held events (SYNC-DESIGN §7, gaps): a held run that now continues its chain is decided again and appended; held
copies of events another batch appended are absorbed; a batch waiting only on released events becomes applied.
"""

from __future__ import annotations

from sync_protocol.events import parse_event
from sync_protocol.ingest import EventDecision, KeyStatus, Outcome, decide

from ..models import Batch, HeldEvent, StationChain
from .ingest_history import load_history
from .ingest_log import append_log_rows, record_set_aside, set_heads


def release_held(
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
            append_log_rows(appended, batch_of, now)
            record_set_aside(
                [d for d in decision.decisions if d.outcome is Outcome.FORK], rows[0].batch_id, station_code
            )
            set_heads(station_code, decision.heads)
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


def absorb_held(event_ids: list[str], station_code: str, batch_id: int) -> None:
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


def mark_released_batches(released: list[EventDecision], batch_of: dict[str, int]) -> None:
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
