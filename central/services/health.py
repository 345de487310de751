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
    open_conflicts: int = 0


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


def health_overview() -> dict[str, StationHealth]:
    """Every station's health in a few grouped queries (the stations page shows them side by side)."""
    from ..models import Conflict

    out: dict[str, StationHealth] = {}
    for station in Station.select():
        out[station.code] = StationHealth(station.last_contact_at, station.clock_skew_ms)
    for code, epoch, seq in StationChain.select(
        StationChain.station_code, StationChain.epoch, StationChain.head_seq
    ).tuples():
        if code in out:
            out[code].chains.append((epoch, seq))
    for code, count in (
        HeldEvent.select(HeldEvent.station_code, fn.COUNT(1)).group_by(HeldEvent.station_code).tuples()
    ):
        if code in out:
            out[code].held_events = count
    for code, count in (
        Conflict.select(Conflict.station_code, fn.COUNT(1))
        .where(Conflict.status == "open")
        .group_by(Conflict.station_code)
        .tuples()
    ):
        if code in out:
            out[code].open_conflicts = count
    for health in out.values():
        health.chains.sort()
    return out
