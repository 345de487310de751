"""Station health (站点健康): last contact, chain heights per epoch, batches by status, held events, forks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from peewee import fn

from ..models import Batch, ForkEvidence, HeldEvent, Station, StationChain


@dataclass
class StationHealth:
    last_contact_at: datetime | None
    clock_skew_ms: int | None
    chains: list[tuple[int, int]] = field(default_factory=list)
    batches: dict[str, int] = field(default_factory=dict)
    held_events: int = 0
    forks: int = 0
    last_error: str = ""


def station_health(station: Station) -> StationHealth:
    chains = [
        (row.epoch, row.head_seq)
        for row in StationChain.select()
        .where(StationChain.station_code == station.code)
        .order_by(StationChain.epoch)
    ]
    batches = {
        status: count
        for status, count in Batch.select(Batch.status, fn.COUNT(1))
        .where(Batch.station_code == station.code)
        .group_by(Batch.status)
        .tuples()
    }
    last_bad = (
        Batch.select(Batch.reason)
        .where(Batch.station_code == station.code, Batch.status.in_(["quarantined", "rejected"]))
        .order_by(Batch.id.desc())
        .first()
    )
    return StationHealth(
        last_contact_at=station.last_contact_at,
        clock_skew_ms=station.clock_skew_ms,
        chains=chains,
        batches=batches,
        held_events=HeldEvent.select().where(HeldEvent.station_code == station.code).count(),
        forks=ForkEvidence.select().where(ForkEvidence.station_code == station.code).count(),
        last_error=last_bad.reason if last_bad else "",
    )
