"""Downstream bundles (下行包), SYNC-DESIGN §10: per station, signed by central, sealed to the station's key.

Parts: the station's latest ack, the registry, the catalog, the calendars, central's decisions (conflict
resolutions) concerning the station, routed events (other stations' events on the cases routed to it, and its
own events a restore lost), the station's certificate, and its open custody issues (class D). A bundle
is a delta (only parts whose version moved, ``prev`` = the last bundle's id) when the station has applied the last
one, and a snapshot (every part) when it is further behind or has nothing. Bundles are built when asked for and
kept verbatim, so asking again gives the same bytes. The decisions and events parts are incremental
(``routing.py``): each event reaches a station once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sync_protocol.authorization import encode_authorizations
from sync_protocol.bundles import BundlePart, build_bundle
from sync_protocol.checkpoint import parse_checkpoint
from sync_protocol.schema import ZERO_ID
from sync_protocol.seal import decode_recipient

from ..db import write_transaction
from ..errors import NotFoundError
from ..models import Ack, Batch, DownstreamBundle, Station, StationKey, TrustDocument
from .custody import custody_issues_part
from .epochs import authorizations_for
from .publications import calendar_part, latest_catalog
from .routing import (
    INCREMENTAL_TOP_KEYS,
    forget_unapplied,
    part_top,
    record_sent,
    routed_decisions,
    routed_events,
)
from .routing import decisions_part as decisions_part  # re-exported: what a bundle would carry now
from .routing import events_part as events_part

SOFT_EXPIRY_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True)
class IssuedBundle:
    station_code: str
    version: int
    name: str
    data: bytes


def current_parts(station_code: str, held: int = 0) -> dict[str, BundlePart]:
    """Every part a bundle for the station would carry now; ``held``: the bundle version the station holds (the
    events and decisions parts carry only the events no bundle up to that version carried)."""
    return _current_parts(station_code, held)[0]


def _current_parts(station_code: str, held: int) -> tuple[dict[str, BundlePart], dict[str, list[int]]]:
    parts: dict[str, BundlePart] = {}
    ack = Ack.select().where(Ack.station_code == station_code).order_by(Ack.version.desc()).first()
    if ack is not None:
        parts["acks"] = BundlePart("acks", ack.version, bytes(ack.body))
    registry = (
        TrustDocument.select()
        .where(TrustDocument.kind == "registry")
        .order_by(TrustDocument.version.desc())
        .first()
    )
    if registry is not None:
        parts["registry"] = BundlePart("registry", registry.version, bytes(registry.body))
    catalog = latest_catalog()
    if catalog is not None:
        parts["catalog"] = BundlePart("catalog", catalog.version, bytes(catalog.data))
    calendars = calendar_part()
    if calendars is not None:
        parts["calendar"] = BundlePart("calendar", calendars[0], calendars[1])
    sent: dict[str, list[int]] = {}
    for routed in (routed_decisions(station_code, held), routed_events(station_code, held)):
        if routed is not None:
            parts[routed.part.type] = routed.part
            sent[routed.part.type] = routed.seqs
    authorizations = authorizations_for(station_code)
    if authorizations:
        parts["authorizations"] = BundlePart(
            "authorizations", max(a.epoch for a in authorizations), encode_authorizations(authorizations)
        )
    key = (
        StationKey.select()
        .where(StationKey.station_code == station_code)
        .order_by(StationKey.serial.desc())
        .first()
    )
    if key is not None:
        parts["certificate"] = BundlePart("certificate", key.serial, bytes(key.certificate))
    custody_version, custody_issues = custody_issues_part(station_code)
    if custody_version >= 1:  # sent once central has any custody news, then whole each time it changes
        parts["custody"] = BundlePart("custody", custody_version, custody_issues)
    from ..runtime import current_runtime
    from .duplicates import netkey_part

    parts["netkey"] = netkey_part(current_runtime().keys.field_data_key)  # sealed: the station's key only
    return parts, sent


def _live_box_key(station_code: str) -> bytes:
    key = (
        StationKey.select()
        .where(StationKey.station_code == station_code, StationKey.revoked_after_epoch.is_null())
        .order_by(StationKey.serial.desc())
        .first()
    )
    if key is None:
        raise NotFoundError(f"station {station_code} has no live enrolled key")
    return bytes.fromhex(key.box_public)


def _issue(
    runtime,
    station_code: str,
    version: int,
    prev: DownstreamBundle | None,
    parts: list[BundlePart],
    snapshot: bool,
    sent: dict[str, list[int]],
) -> DownstreamBundle:
    now_ms = int(time.time() * 1000)
    roots = [
        bytes(r.body)
        for r in TrustDocument.select().where(TrustDocument.kind == "root").order_by(TrustDocument.version)
    ]
    bundle = build_bundle(
        station_box_public=_live_box_key(station_code),
        network=runtime.network_id,
        station_id=station_code,
        version=version,
        prev_bundle_id=prev.bundle_id if prev is not None and not snapshot else ZERO_ID,
        snapshot=snapshot,
        issued_ms=now_ms,
        expires_ms=now_ms + SOFT_EXPIRY_MS,
        central_time_ms=now_ms,
        parts=parts,
        central_key=runtime.keys.central,
        roots=roots,
        extra_recipients=[decode_recipient(runtime.keys.escrow_recipient)],
    )
    # What the station holds after applying this bundle: a delta adds its parts to what the previous one left.
    before = json.loads(prev.part_versions) if prev is not None else {}
    carried = dict(before) if not snapshot else {}
    carried.update({p.type: p.version for p in parts})
    tops = {key: max(part_top(before, t), carried.get(t, 0)) for t, key in INCREMENTAL_TOP_KEYS.items()}
    row = DownstreamBundle.create(
        station_code=station_code,
        version=version,
        bundle_id=bundle.bundle_id,
        snapshot=snapshot,
        part_versions=json.dumps({**carried, ROOTS_KEY: len(roots), **tops}, sort_keys=True),
        name=bundle.name,
        data=bundle.data,
    )
    for part in parts:
        record_sent(station_code, version, sent.get(part.type, []))
    return row


ROOTS_KEY = "_roots"
"""Not a part: how many trust roots a bundle carried, kept with its part versions to notice a rotation."""


def _published_root_count() -> int:
    return TrustDocument.select().where(TrustDocument.kind == "root").count()


def next_bundle(runtime, station_code: str, after: int) -> IssuedBundle | None:
    """The bundle a station that applied version ``after`` should apply next, or None when it is current."""
    with write_transaction():
        if Station.get_or_none(Station.code == station_code) is None:
            raise NotFoundError(f"station {station_code} is not registered")
        latest = (
            DownstreamBundle.select()
            .where(DownstreamBundle.station_code == station_code)
            .order_by(DownstreamBundle.version.desc())
            .first()
        )
        if latest is not None and after == latest.version - 1:
            return IssuedBundle(station_code, latest.version, latest.name, bytes(latest.data))
        # The station holds what the bundles up to ``after`` carried (never more than central issued).
        holds = min(after, latest.version) if latest is not None else 0
        parts, sent = _current_parts(station_code, holds)
        if latest is not None and after < latest.version - 1:
            row = _issue(runtime, station_code, latest.version + 1, latest, list(parts.values()), True, sent)
            forget_unapplied(station_code, holds, row.version)
        else:
            held = json.loads(latest.part_versions) if latest is not None else {}
            changed = [p for p in parts.values() if held.get(p.type) != p.version]
            # A new trust root alone is worth a bundle (SYNC-DESIGN §10 "update trust root N→N+1").
            new_root = latest is not None and held.get(ROOTS_KEY, 1) < _published_root_count()
            if not changed and not new_root:
                return None
            top = max(after, latest.version if latest is not None else 0)
            if latest is not None and after == latest.version:
                row = _issue(runtime, station_code, top + 1, latest, changed, False, sent)
            else:
                row = _issue(runtime, station_code, top + 1, latest, list(parts.values()), True, sent)
                forget_unapplied(station_code, holds, row.version)
        return IssuedBundle(station_code, row.version, row.name, bytes(row.data))


def applied_bundle_version(station_code: str) -> int:
    """The bundle version the station last applied, as its newest signed checkpoint says (0 when unknown)."""
    row = (
        Batch.select(Batch.checkpoint)
        .where(Batch.station_code == station_code, Batch.checkpoint.is_null(False))
        .order_by(Batch.processed_at.desc(), Batch.id.desc())
        .first()
    )
    return parse_checkpoint(bytes(row.checkpoint)).bundle_version if row is not None else 0


def issue_all_pending(runtime) -> list[IssuedBundle]:
    """For USB carriers: the next bundle of every enrolled station, after the version its checkpoints report
    (a station that missed a stick gets a snapshot rather than a delta it cannot apply)."""
    out = []
    for station in Station.select().where(Station.status == "enrolled").order_by(Station.code):
        issued = next_bundle(runtime, station.code, applied_bundle_version(station.code))
        if issued is not None:
            out.append(issued)
    return out
