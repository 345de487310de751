"""The signed station registry (站点名录) central publishes, and the key lookups ingest needs.

Each change of enrolled keys or revocations publishes a new registry version in the same transaction; the
signed bytes are kept verbatim in ``trust_documents``.
"""

from __future__ import annotations

import time

from sync_protocol.ingest import KeyStatus
from sync_protocol.keys import SigningKey
from sync_protocol.registry import Registry, StationEntry, build_registry, parse_registry
from sync_protocol.registry import StationKey as RegistryKey

from ..models import Station, StationKey, TrustDocument


def _entries() -> list[StationEntry]:
    keys_by_station: dict[str, list[RegistryKey]] = {}
    for row in StationKey.select().order_by(StationKey.serial):
        revoked = (
            (row.revoked_after_epoch, row.revoked_after_seq) if row.revoked_after_epoch is not None else None
        )
        keys_by_station.setdefault(row.station_code, []).append(
            RegistryKey(bytes.fromhex(row.sign_public), bytes.fromhex(row.box_public), revoked)
        )
    entries = []
    for station in Station.select().where(Station.code.in_(list(keys_by_station))).order_by(Station.code):
        entries.append(
            StationEntry(
                station.code, station.level, station.parent_code or "", tuple(keys_by_station[station.code])
            )
        )
    return entries


def publish_registry(network: str, central_key: SigningKey) -> Registry:
    """Sign and store the next registry version (call inside the transaction that changed keys)."""
    last = (
        TrustDocument.select()
        .where(TrustDocument.kind == "registry")
        .order_by(TrustDocument.version.desc())
        .first()
    )
    version = (last.version + 1) if last else 1
    registry = build_registry(
        network=network,
        version=version,
        issued_ms=int(time.time() * 1000),
        stations=_entries(),
        central_key=central_key,
    )
    TrustDocument.create(kind="registry", version=version, body=registry.raw)
    return registry


def current_registry_bytes() -> bytes | None:
    last = (
        TrustDocument.select()
        .where(TrustDocument.kind == "registry")
        .order_by(TrustDocument.version.desc())
        .first()
    )
    return bytes(last.body) if last else None


def current_registry() -> Registry | None:
    raw = current_registry_bytes()
    return parse_registry(raw) if raw else None


def key_status(station_code: str, key_id: str) -> KeyStatus:
    row = StationKey.get_or_none(StationKey.station_code == station_code, StationKey.key_id == key_id)
    if row is None:
        return KeyStatus(known=False)
    revoked = (
        (row.revoked_after_epoch, row.revoked_after_seq) if row.revoked_after_epoch is not None else None
    )
    return KeyStatus(known=True, revoked_after=revoked)


def public_key_lookup(station_code: str, key_id: str) -> bytes:
    """``batch.open_batch``'s lookup, from the live key table; raises UnknownKeyError when not enrolled."""
    from sync_protocol.errors import UnknownKeyError

    row = StationKey.get_or_none(StationKey.station_code == station_code, StationKey.key_id == key_id)
    if row is None:
        raise UnknownKeyError("station or key not enrolled", station=station_code, key_id=key_id)
    return bytes.fromhex(row.sign_public)
