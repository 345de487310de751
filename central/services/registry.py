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


def rotate_key(event, network: str, central_key: SigningKey) -> str:
    """A ``key.rotate`` event central accepted: enroll the announced key (new certificate, same epoch) and revoke
    the old one after the announcement, in the ingest transaction. Returns the new key id."""
    from peewee import fn

    from sync_protocol.keys import key_id as key_id_of
    from sync_protocol.trust import issue_certificate

    from ..models import utcnow
    from .audit import record_audit

    station = Station.get_by_id(event.station_id)
    sign_public = bytes.fromhex(event.payload["sign_pub"])
    box_public = bytes.fromhex(event.payload["box_pub"])
    new_id = key_id_of(sign_public)
    if StationKey.get_or_none(StationKey.key_id == new_id) is not None:
        return new_id  # the same announcement seen again (a rehome, a re-delivery)
    serial = (StationKey.select(fn.MAX(StationKey.serial)).scalar() or 0) + 1
    certificate = issue_certificate(
        network=network,
        station_id=station.code,
        level=station.level,
        parent=station.parent_code or "",
        sign_public=sign_public,
        box_public=box_public,
        epoch=event.epoch,
        serial=serial,
        issued_ms=event.wall_ms,
        central_key=central_key,
    )
    StationKey.update(
        revoked_after_epoch=event.epoch, revoked_after_seq=event.seq, revoked_at=utcnow()
    ).where(StationKey.station_code == station.code, StationKey.revoked_after_epoch.is_null()).execute()
    StationKey.create(
        station_code=station.code,
        key_id=new_id,
        sign_public=sign_public.hex(),
        box_public=box_public.hex(),
        certificate=certificate.raw,
        serial=serial,
    )
    Station.update(key_id=new_id).where(Station.code == station.code).execute()
    publish_registry(network, central_key)
    record_audit(station.code, "key_rotated", station.code, {"key_id": new_id, "after_seq": event.seq})
    return new_id
