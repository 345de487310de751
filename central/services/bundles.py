"""Downstream bundles (下行包), SYNC-DESIGN §10: per station, signed by central, sealed to the station's key.

Parts: the station's latest ack, the registry, the catalog, the calendars, central's decisions (conflict
resolutions) concerning the station, routed events (other stations' events on the cases routed to it, and its
own events a restore lost), the station's certificate, and its open custody issues (class D). A bundle
is a delta (only parts whose version moved, ``prev`` = the last bundle's id) when the station has applied the last
one, and a snapshot (every part) when it is further behind or has nothing. Bundles are built when asked for and
kept verbatim, so asking again gives the same bytes. The decisions and events parts are incremental: they carry
what no bundle up to the version the station applied carried (``downstream_sent``), so each event reaches a station
once and a bundle it never applied is followed by a snapshot that carries its events again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from peewee import fn

from casework.wire import wire_type
from sync_protocol.authorization import encode_authorizations
from sync_protocol.bundles import BundlePart, build_bundle
from sync_protocol.checkpoint import parse_checkpoint
from sync_protocol.events import EPOCH_OPEN, parse_event
from sync_protocol.schema import ZERO_ID
from sync_protocol.seal import decode_recipient

from ..db import write_transaction
from ..errors import NotFoundError
from ..models import (
    Ack,
    Batch,
    CaseRecord,
    DownstreamBundle,
    DownstreamSent,
    LogEvent,
    QuarantinedEvent,
    Station,
    StationKey,
    TrustDocument,
)
from .custody import custody_issues_part
from .epochs import authorizations_for
from .publications import calendar_part, latest_catalog

SOFT_EXPIRY_MS = 30 * 24 * 3600 * 1000


@dataclass(frozen=True)
class IssuedBundle:
    station_code: str
    version: int
    name: str
    data: bytes


@dataclass(frozen=True)
class RoutedEvents:
    """An events or decisions part for one bundle and the central_seq of every event it carries (recorded once
    the bundle is issued)."""

    part: BundlePart
    seqs: list[int] = field(default_factory=list)


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


def decisions_part(station_code: str, held: int = 0) -> BundlePart | None:
    """The decisions part a bundle for the station would carry now (see :func:`routed_decisions`)."""
    routed = routed_decisions(station_code, held)
    return routed.part if routed is not None else None


def routed_decisions(station_code: str, held: int = 0) -> RoutedEvents | None:
    """Central's own events (conflict resolutions) that concern the station and that no bundle up to version
    ``held`` carried to it: those naming it, those on cases routed to it (:func:`routed_cases`) and those naming
    such a case (both cases of a duplicate). Newline-terminated event bodies, oldest first, like a batch's events
    section; the part version is the central_seq of the newest one, and always above the last decisions part
    issued to the station."""
    from .conflicts import CENTRAL

    station = Station.get_or_none(Station.code == station_code)
    cases = (
        routed_cases(station)
        if station is not None
        else CaseRecord.select(CaseRecord.case_id).where(
            (CaseRecord.origin_station == station_code) | (CaseRecord.owner_station == station_code)
        )
    )
    sent = _sent_up_to(station_code, held)
    rows = (
        LogEvent.select(LogEvent.central_seq, LogEvent.body)
        .where(LogEvent.station_code == CENTRAL, LogEvent.seq > 1, LogEvent.central_seq.not_in(sent))
        .where((LogEvent.aggregate_id.in_(cases)) | (LogEvent.aggregate_id == station_code))
        .order_by(LogEvent.central_seq)
        .tuples()
    )
    chosen: dict[int, bytes] = {}
    for central_seq, body in rows:
        chosen[central_seq] = bytes(body) + b"\n"
    named = (
        LogEvent.select(LogEvent.central_seq, LogEvent.body)
        .where(LogEvent.station_code == CENTRAL, LogEvent.seq > 1, LogEvent.central_seq.not_in(sent))
        .order_by(LogEvent.central_seq)
        .tuples()
    )
    served_cases: set[str] | None = None
    for central_seq, body in named:
        if central_seq in chosen:
            continue
        payload = parse_event(bytes(body)).payload
        concerns = payload.get("station") == station_code
        if not concerns and payload.get("cases"):
            if served_cases is None:
                served_cases = {r[0] for r in cases.tuples()}
            concerns = any(case_id in served_cases for case_id in payload["cases"])
        if concerns:
            chosen[central_seq] = bytes(body) + b"\n"
    if not chosen:
        return None
    seqs = sorted(chosen)
    version = max(seqs[-1], _last_part_version(station_code, "decisions") + 1)
    return RoutedEvents(BundlePart("decisions", version, b"".join(chosen[q] for q in seqs)), seqs)


def _sent_up_to(station_code: str, held: int):
    """The central_seqs of the events bundles up to version ``held`` carried to the station (a query)."""
    return DownstreamSent.select(DownstreamSent.central_seq).where(
        (DownstreamSent.station_code == station_code) & (DownstreamSent.bundle_version <= held)
    )


EVENTS_PART_CAP = 15 * 1024 * 1024


def _served_stations(station: Station) -> list[str]:
    """The station and every station below it (a township's villages; a county's townships and their villages)."""
    codes = [station.code]
    frontier = [station.code]
    while frontier:
        children = [row.code for row in Station.select(Station.code).where(Station.parent_code.in_(frontier))]
        codes.extend(children)
        frontier = children
    return codes


def routed_cases(station: Station):
    """The cases central routes to a station (a query of case ids). A village or a township: the cases it or a
    station below it received or holds (a township accepts its villages' cases, 代办). A county: only the cases it
    must see — its own, those whose folder it holds or is on its way to it, those forwarded (上报) from its area and
    awaiting its decision, and those it has acted on — never every case of its area."""
    served = _served_stations(station)
    if station.level != "county":
        return CaseRecord.select(CaseRecord.case_id).where(
            CaseRecord.origin_station.in_(served) | CaseRecord.owner_station.in_(served)
        )
    acted = LogEvent.select(LogEvent.aggregate_id).where(
        (LogEvent.station_code == station.code) & (LogEvent.aggregate_kind == "case")
    )
    return CaseRecord.select(CaseRecord.case_id).where(
        (CaseRecord.origin_station == station.code)
        | (CaseRecord.owner_station == station.code)
        | ((CaseRecord.state == "forwarded") & CaseRecord.origin_station.in_(served))
        | CaseRecord.case_id.in_(acted)
    )


def _lost_own_positions(station_code: str) -> list[tuple[int, int]]:
    """(epoch, after_seq) ranges a restore or fork recovery left behind: the station lost its events after the
    point its new epoch links to, and central still holds them."""
    lost = []
    opened = LogEvent.select(LogEvent.body).where(
        LogEvent.station_code == station_code, LogEvent.event_type == EPOCH_OPEN
    )
    # A restore epoch still waiting for review has already told us what the station lost.
    waiting = QuarantinedEvent.select(QuarantinedEvent.body).where(
        QuarantinedEvent.station_code == station_code, QuarantinedEvent.seq == 1
    )
    for (body,) in list(opened.tuples()) + list(waiting.tuples()):
        event = parse_event(bytes(body))
        if event.payload["prev_epoch"] and event.payload["reason"] in ("restore", "fork_recovery"):
            lost.append((event.payload["prev_epoch"], event.payload["prev_seq"]))
    return lost


def _applicants_received_elsewhere(cases, station_code: str) -> list[str]:
    """The applicants of served cases another station received: the station needs their record (name and masked
    ID only; the full ID stays sealed to central) to show and act on those cases."""
    rows = LogEvent.select(LogEvent.body).where(
        (LogEvent.aggregate_kind == "case")
        & (LogEvent.event_type == wire_type("received"))
        & LogEvent.aggregate_id.in_(cases)
        & (LogEvent.station_code != station_code)
    )
    return sorted({parse_event(bytes(body)).payload["applicant_id"] for (body,) in rows.tuples()})


def events_part(station_code: str, held: int = 0) -> BundlePart | None:
    """The events part a bundle for the station would carry now (see :func:`routed_events`)."""
    routed = routed_events(station_code, held)
    return routed.part if routed is not None else None


def routed_events(station_code: str, held: int = 0) -> RoutedEvents | None:
    """Station events the station should hold but did not write here and no bundle up to version ``held`` (the one
    it holds) carried to it: other stations' events on the cases routed to it (:func:`routed_cases`) and the
    applicants of those cases, and its own events a restore lost. Each event reaches a station once; a bundle it
    never applied is carried again by the next snapshot. Newline-terminated bodies in central order, the oldest
    that fit under the cap (the rest follow in the next bundle).

    The part's version is the central log position up to which the station now holds every routed event on the
    aggregates in the part (the newest in the log, or the newest carried when the cap cut the part), and always
    above the last events part issued to it: a station applies a part only when its version moves forward."""
    station = Station.get_or_none(Station.code == station_code)
    if station is None:
        return None
    cases = routed_cases(station)
    condition = (
        (LogEvent.aggregate_kind == "case")
        & LogEvent.aggregate_id.in_(cases)
        & (LogEvent.station_code != station_code)
        & (LogEvent.station_code != "central")
    )
    applicants = _applicants_received_elsewhere(cases, station_code)
    if applicants:
        condition |= (
            (LogEvent.aggregate_kind == "applicant")
            & LogEvent.aggregate_id.in_(applicants)
            & (LogEvent.station_code != station_code)
        )
    for epoch, after_seq in _lost_own_positions(station_code):
        condition |= (
            (LogEvent.station_code == station_code) & (LogEvent.epoch == epoch) & (LogEvent.seq > after_seq)
        )
    newest = LogEvent.select(fn.MAX(LogEvent.central_seq)).scalar() or 0
    rows = (
        LogEvent.select(LogEvent.central_seq, LogEvent.body)
        .where(condition & LogEvent.central_seq.not_in(_sent_up_to(station_code, held)))
        .order_by(LogEvent.central_seq)
        .tuples()
    )
    chosen: list[bytes] = []
    seqs: list[int] = []
    size = 0
    for central_seq, body in rows:
        data = bytes(body) + b"\n"
        if size + len(data) > EVENTS_PART_CAP:
            newest = seqs[-1] if seqs else newest
            break
        chosen.append(data)
        seqs.append(central_seq)
        size += len(data)
    if not chosen:
        return None
    version = max(newest, _last_part_version(station_code, "events") + 1)
    return RoutedEvents(BundlePart("events", version, b"".join(chosen)), seqs)


def _last_part_version(station_code: str, part_type: str) -> int:
    """The highest version of an incremental part (events, decisions) issued to the station so far (0: none)."""
    latest = (
        DownstreamBundle.select(DownstreamBundle.part_versions)
        .where(DownstreamBundle.station_code == station_code)
        .order_by(DownstreamBundle.version.desc())
        .first()
    )
    return _part_top(json.loads(latest.part_versions), part_type) if latest is not None else 0


def _part_top(part_versions: dict[str, int], part_type: str) -> int:
    return max(part_versions.get(INCREMENTAL_TOP_KEYS[part_type], 0), part_versions.get(part_type, 0))


def _record_sent(station_code: str, version: int, seqs: list[int]) -> None:
    """Remember that bundle ``version`` carried these routed events to the station."""
    for start in range(0, len(seqs), 500):
        rows = [
            {"station_code": station_code, "central_seq": seq, "bundle_version": version}
            for seq in seqs[start : start + 500]
        ]
        DownstreamSent.insert_many(rows).on_conflict(
            conflict_target=[DownstreamSent.station_code, DownstreamSent.central_seq],
            preserve=[DownstreamSent.bundle_version],
        ).execute()


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
    tops = {key: max(_part_top(before, t), carried.get(t, 0)) for t, key in INCREMENTAL_TOP_KEYS.items()}
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
        _record_sent(station_code, version, sent.get(part.type, []))
    return row


ROOTS_KEY = "_roots"
"""Not a part: how many trust roots a bundle carried, kept with its part versions to notice a rotation."""
INCREMENTAL_TOP_KEYS = {"events": "_events", "decisions": "_decisions"}
"""Not parts: the highest version of each incremental part issued to the station so far (a snapshot without that
part carries it on), so the next such part is numbered above it."""


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
        parts, sent = _current_parts(station_code, min(after, latest.version) if latest is not None else 0)
        if latest is not None and after < latest.version - 1:
            row = _issue(runtime, station_code, latest.version + 1, latest, list(parts.values()), True, sent)
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
