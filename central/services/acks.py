"""Signed acks as stored: the latest one per station is what a station fetches."""

from __future__ import annotations

from ..models import Ack


def latest_ack(station_code: str) -> bytes | None:
    row = Ack.select(Ack.body).where(Ack.station_code == station_code).order_by(Ack.id.desc()).first()
    return bytes(row.body) if row is not None else None
