"""交接单 (manifests) and two-phase custody: dispatch at the sender, receipt at the receiver, paired."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from casework.events import CaseEvent

from .common import _LABEL_ID, CustodyError, Direction, text, to_moment

# --- manifests (交接单) -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Folder:
    """One case folder on a manifest: what its signed label carries (case, item, masked applicant, materials)."""

    case_id: str
    case_number: str
    item_code: str
    masked_applicant: str
    material_count: int
    pages: int = 0

    def label_fields(self, sending_station: str, manifest_id: str) -> dict[str, Any]:
        """The fields of the folder's custody QR (sync_protocol.receipts kind ``c``)."""
        return {
            "case_id": self.case_id,
            "case_number": self.case_number,
            "item_code": self.item_code,
            "sending_station": sending_station,
            "masked_applicant": self.masked_applicant,
            "material_count": self.material_count,
            "manifest_id": manifest_id,
        }


@dataclass(frozen=True)
class Manifest:
    """交接单: the folders one agent carries from one station to another, in one direction."""

    manifest_id: str
    from_station: str
    to_station: str
    agent: str
    direction: Direction
    folders: tuple[Folder, ...]
    created_at: dt.datetime

    @property
    def case_ids(self) -> tuple[str, ...]:
        return tuple(f.case_id for f in self.folders)


def manifest_number(station_code: str, day: dt.date, sequence: int) -> str:
    """A readable manifest id unique without central: station code + date + daily sequence (…-20261123-M01)."""
    if sequence < 1:
        raise CustodyError(text("bad_sequence"))
    return f"{station_code}-{day:%Y%m%d}-M{sequence:02d}"


def new_manifest(
    manifest_id: str,
    *,
    from_station: str,
    to_station: str,
    agent: str,
    folders: Sequence[Folder],
    created_at: dt.datetime,
    direction: Direction = Direction.UP,
) -> Manifest:
    """Validate and build a 交接单.

    Raises:
        CustodyError: no folders, a case listed twice, sender = receiver, no agent, or an id a label cannot carry.
    """
    problem = None
    if not _LABEL_ID.fullmatch(manifest_id):
        problem = text("bad_manifest_id")
    elif not folders:
        problem = text("empty_manifest")
    elif from_station == to_station:
        problem = text("same_station")
    elif not agent.strip():
        problem = text("no_agent")
    elif any(f.material_count < 0 or f.pages < 0 for f in folders):
        problem = text("negative_count")
    else:
        seen: set[str] = set()
        for folder in folders:
            if folder.case_id in seen:
                problem = text("folder_twice", case=folder.case_number)
            seen.add(folder.case_id)
    if problem is not None:
        raise CustodyError(problem)
    return Manifest(
        manifest_id, from_station, to_station, agent.strip(), direction, tuple(folders), created_at
    )


# --- two-phase custody ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dispatch:
    """移交: the sending station handed a folder to an agent for ``to_station``."""

    manifest_id: str
    case_id: str
    from_station: str
    to_station: str
    agent: str
    at: dt.datetime
    direction: Direction = Direction.UP
    case_number: str = ""
    ref: str = ""  # the event id that recorded it


@dataclass(frozen=True)
class Receipt:
    """签收: ``station`` registered the folder (by its label), possibly before the case data reached it."""

    manifest_id: str
    case_id: str
    station: str
    received_by: str
    at: dt.datetime
    sending_station: str = ""  # from the signed label
    case_number: str = ""
    ref: str = ""


class CustodyStatus(Enum):
    IN_TRANSIT = "in_transit"  # dispatched, not yet received anywhere
    CLOSED = "closed"  # a matched pair: received by the station it was sent to, and only there
    UNMATCHED = "unmatched"  # received, no dispatch known (yet)
    DISPUTED = "disputed"  # received at a wrong station or at more than one


@dataclass(frozen=True)
class CustodyRecord:
    """Both phases of one folder's hand-over on one manifest."""

    manifest_id: str
    case_id: str
    dispatch: Dispatch | None
    receipts: tuple[Receipt, ...] = ()

    @property
    def case_number(self) -> str:
        if self.dispatch is not None and self.dispatch.case_number:
            return self.dispatch.case_number
        return next((r.case_number for r in self.receipts if r.case_number), "")

    @property
    def receiving_stations(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.station for r in self.receipts))

    @property
    def matched_receipt(self) -> Receipt | None:
        """The first receipt at the station the folder was sent to."""
        if self.dispatch is None:
            return None
        return next((r for r in self.receipts if r.station == self.dispatch.to_station), None)

    @property
    def status(self) -> CustodyStatus:
        if self.dispatch is None:
            return CustodyStatus.UNMATCHED if self.receipts else CustodyStatus.IN_TRANSIT
        if not self.receipts:
            return CustodyStatus.IN_TRANSIT
        if len(self.receiving_stations) == 1 and self.matched_receipt is not None:
            return CustodyStatus.CLOSED
        return CustodyStatus.DISPUTED

    @property
    def stations(self) -> tuple[str, ...]:
        """Every station concerned (sender, intended receiver, actual receivers): where the issue is shown."""
        found = [self.dispatch.from_station, self.dispatch.to_station] if self.dispatch else []
        found += [r.sending_station for r in self.receipts] + [r.station for r in self.receipts]
        return tuple(dict.fromkeys(s for s in found if s))


def pair_custody(dispatches: Iterable[Dispatch], receipts: Iterable[Receipt]) -> list[CustodyRecord]:
    """Group both phases by (manifest, case); repeated deliveries of the same record count once.

    The same station registering the same label twice is one receipt (a re-scan); two stations are two.
    """
    by_key: dict[tuple[str, str], Dispatch] = {}
    for d in dispatches:
        by_key.setdefault((d.manifest_id, d.case_id), d)
    received: dict[tuple[str, str], dict[str, Receipt]] = {}
    for r in sorted(receipts, key=lambda r: (r.at, r.station)):
        received.setdefault((r.manifest_id, r.case_id), {}).setdefault(r.station, r)
    keys = sorted(set(by_key) | set(received))
    return [CustodyRecord(k[0], k[1], by_key.get(k), tuple(received.get(k, {}).values())) for k in keys]


def custody_from_events(events: Iterable[CaseEvent]) -> tuple[list[Dispatch], list[Receipt]]:
    """Read custody events (case id from ``extra["case_id"]`` or ``extra["aggregate_id"]``).

    A dispatch's sender and a receipt's receiver are the station that recorded the event.
    """
    dispatches: list[Dispatch] = []
    receipts: list[Receipt] = []
    for e in events:
        p, x = e.payload, e.extra
        case_id = str(x.get("case_id") or x.get("aggregate_id") or "")
        number, ref = str(x.get("case_number", "")), str(x.get("event_id", ""))
        if e.type == "custody_dispatched":
            dispatches.append(
                Dispatch(
                    p["manifest_id"], case_id, e.station, p["to_station"], p["carrier"], to_moment(p["at"]),
                    Direction(p["direction"]), number, ref,
                )
            )  # fmt: skip
        elif e.type == "custody_received":
            sender = str(p.get("sending_station") or x.get("sending_station") or "")
            receipts.append(
                Receipt(
                    p["manifest_id"],
                    case_id,
                    e.station,
                    p["received_by"],
                    to_moment(p["at"]),
                    sender,
                    number,
                    ref,
                )
            )
    return dispatches, receipts
