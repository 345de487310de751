"""What central routes downstream to each station (SYNC-DESIGN §10; docs/PROTOCOL.md §13.5): which cases it
sees (:func:`routed_cases`), and the incremental ``events`` and ``decisions`` parts of its next bundle — the events
and resolutions on those cases that no bundle up to the version the station applied carried (``downstream_sent``),
so each reaches a station once and a bundle it never applied is followed by a snapshot that carries them again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from peewee import fn

from casework.wire import wire_type
from sync_protocol.bundles import BundlePart
from sync_protocol.events import EPOCH_OPEN, parse_event

from ..models import CaseRecord, DownstreamBundle, DownstreamSent, LogEvent, QuarantinedEvent, Station

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoutedEvents:
    """An events or decisions part for one bundle and the central_seq of every event it carries (recorded once
    the bundle is issued)."""

    part: BundlePart
    seqs: list[int] = field(default_factory=list)


INCREMENTAL_TOP_KEYS = {"events": "_events", "decisions": "_decisions"}
"""Not parts: the highest version of each incremental part issued to the station so far (a snapshot without that
part carries it on), so the next such part is numbered above it."""


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
    aggregates in the part (the station learns it as their central version, ``bv``), and always above the last
    events part issued to it: a station applies a part only when its version moves forward. Uncut, it is the
    newest position in the log; cut, the newest carried — or, when that is not above the last part's version,
    that version + 1 with only the aggregates whose every routed event up to it fits whole."""
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
    # What to carry is chosen from each event's position, aggregate and size; the bodies are read afterwards.
    rows = [
        (central_seq, (kind, aggregate_id), size + 1)
        for central_seq, kind, aggregate_id, size in LogEvent.select(
            LogEvent.central_seq, LogEvent.aggregate_kind, LogEvent.aggregate_id, fn.LENGTH(LogEvent.body)
        )
        .where(condition & LogEvent.central_seq.not_in(_sent_up_to(station_code, held)))
        .order_by(LogEvent.central_seq)
        .tuples()
    ]
    if not rows:
        return None
    last = _last_part_version(station_code, "events")
    seqs = _oldest_under_cap(rows)
    if len(seqs) == len(rows):
        version = max(newest, last + 1)
    elif seqs and seqs[-1] > last:
        version = seqs[-1]  # every routed event up to the newest carried is carried
    else:
        # The oldest that fit end at or below the last part's version, and the version must rise above it: a
        # station learns it for every aggregate in the part, so the part carries only aggregates whose every
        # routed event up to that version fits, whole (the others follow in the next bundle).
        version = last + 1
        seqs = _whole_aggregates([row for row in rows if row[0] <= version])
    if not seqs:
        return None
    return RoutedEvents(BundlePart("events", version, b"".join(_bodies(seqs))), seqs)


def _oldest_under_cap(rows: list[tuple[int, tuple[str, str], int]]) -> list[int]:
    """The central_seqs of the oldest rows whose bodies (newline-terminated) fit under the cap together."""
    seqs: list[int] = []
    size = 0
    for central_seq, _aggregate, length in rows:
        if size + length > EVENTS_PART_CAP:
            break
        seqs.append(central_seq)
        size += length
    return seqs


def _whole_aggregates(rows: list[tuple[int, tuple[str, str], int]]) -> list[int]:
    """The central_seqs of whole aggregates' rows, oldest aggregate first, as many as fit under the cap."""
    groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for central_seq, aggregate, length in rows:
        groups.setdefault(aggregate, []).append((central_seq, length))
    seqs: list[int] = []
    size = 0
    for group in groups.values():
        group_size = sum(length for _seq, length in group)
        if size + group_size <= EVENTS_PART_CAP:
            seqs.extend(central_seq for central_seq, _length in group)
            size += group_size
    if not seqs and groups:
        log.warning("events part: one aggregate's routed events exceed the cap; they wait for a larger cap")
    return sorted(seqs)


def _bodies(seqs: list[int]) -> list[bytes]:
    """The newline-terminated bodies of these central log positions, in central order."""
    bodies: dict[int, bytes] = {}
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        for central_seq, body in (
            LogEvent.select(LogEvent.central_seq, LogEvent.body)
            .where(LogEvent.central_seq.in_(chunk))
            .tuples()
        ):
            bodies[central_seq] = bytes(body) + b"\n"
    return [bodies[q] for q in seqs]


def _last_part_version(station_code: str, part_type: str) -> int:
    """The highest version of an incremental part (events, decisions) issued to the station so far (0: none)."""
    latest = (
        DownstreamBundle.select(DownstreamBundle.part_versions)
        .where(DownstreamBundle.station_code == station_code)
        .order_by(DownstreamBundle.version.desc())
        .first()
    )
    return part_top(json.loads(latest.part_versions), part_type) if latest is not None else 0


def part_top(part_versions: dict[str, int], part_type: str) -> int:
    return max(part_versions.get(INCREMENTAL_TOP_KEYS[part_type], 0), part_versions.get(part_type, 0))


def forget_unapplied(station_code: str, held: int, snapshot: int) -> None:
    """A snapshot (version ``snapshot``) for a station that holds bundle ``held`` replaces the bundles between
    them, which it will never apply: what only they carried (what the cap kept out of the snapshot) is not the
    station's, and goes in a later bundle."""
    DownstreamSent.delete().where(
        (DownstreamSent.station_code == station_code)
        & (DownstreamSent.bundle_version > held)
        & (DownstreamSent.bundle_version < snapshot)
    ).execute()


def record_sent(station_code: str, version: int, seqs: list[int]) -> None:
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
