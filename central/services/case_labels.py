"""What the case pages print for a case besides its projection: the service item's name (zh and en) from the newest
published catalog, and the applicant, masked, from the ``applicant.created`` event the receiving station sent."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from casework.catalog import Catalog, demo_catalog, load_catalog
from casework.errors import CaseworkError
from casework.wire import wire_type
from sync_protocol.errors import ProtocolError
from sync_protocol.events import parse_event

from ..models import CaseRecord, LogEvent
from .publications import latest_catalog


@dataclass(frozen=True)
class CaseLabel:
    item_zh: str
    item_en: str
    applicant: str
    """Masked name and ID number ("王** 330110********1236"); empty when the applicant's event has not arrived."""

    def item(self, language: str) -> str:
        return self.item_en if language == "en" and self.item_en else self.item_zh


@functools.lru_cache(maxsize=4)
def _catalog(sha256: str) -> Catalog:
    """The published catalog with this content hash, parsed once."""
    from ..models import Publication

    publication = Publication.get(Publication.kind == "catalog", Publication.sha256 == sha256)
    return load_catalog(json.loads(bytes(publication.data).decode("utf-8")))


def _current_catalog() -> Catalog | None:
    publication = latest_catalog()
    try:
        return _catalog(publication.sha256) if publication is not None else demo_catalog()
    except (ValueError, CaseworkError):
        return None


def mask_name(name: str) -> str:
    """The surname (first character) and one star for each other character."""
    return name[:1] + "*" * (len(name) - 1)


def _applicants(case_ids: list[str]) -> dict[str, str]:
    """case id → masked applicant, from the cases' ``received`` events and the applicants' ``created`` events."""
    # Stations log the wire names (case.received); central folds casework's names too (projections).
    received = (wire_type("received"), "received")
    created = (wire_type("applicant_created"), "applicant_created")
    applicant_of: dict[str, str] = {}
    for body in LogEvent.select(LogEvent.body).where(
        LogEvent.aggregate_id.in_(case_ids), LogEvent.event_type.in_(received)
    ).tuples():  # fmt: skip
        try:
            event = parse_event(bytes(body[0]))
        except ProtocolError:
            continue
        applicant_of.setdefault(event.aggregate_id, str(event.payload.get("applicant_id", "")))
    shown: dict[str, str] = {}
    wanted = sorted(set(applicant_of.values()) - {""})
    for body in LogEvent.select(LogEvent.body).where(
        LogEvent.aggregate_id.in_(wanted), LogEvent.event_type.in_(created)
    ).tuples():  # fmt: skip
        try:
            payload = parse_event(bytes(body[0])).payload
        except ProtocolError:
            continue
        shown[payload["applicant_id"]] = f"{mask_name(payload['name'])} {payload['id_number_masked']}"
    return {case_id: shown.get(applicant, "") for case_id, applicant in applicant_of.items()}


def case_labels(cases: Sequence[CaseRecord]) -> dict[str, CaseLabel]:
    """Item names and masked applicants for a page of cases (two queries, whatever the page size)."""
    catalog = _current_catalog()
    applicants = _applicants([c.case_id for c in cases]) if cases else {}
    labels = {}
    for case in cases:
        zh = en = case.item_name or case.item_code
        if catalog is not None and case.item_code:
            try:
                item = catalog.item(case.item_code)
                zh, en = item.name_zh, item.name_en or item.name_zh
            except CaseworkError:
                pass  # an item the published catalog does not (or no longer) list: its code is what we have
        labels[case.case_id] = CaseLabel(zh, en, case.applicant_masked or applicants.get(case.case_id, ""))
    return labels
