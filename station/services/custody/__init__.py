"""代办 custody at the station: 交接单 (manifests), dispatch, receipt by signed folder label, the agent's folders,
custody issues for the home page, and the 代办委托书 (authorization) recorded on a case.

A manifest is drafted (folders chosen, one signed label per folder, printable), then dispatched: one
``case.custody_dispatched`` event per folder through ``log.append_event`` in one transaction. The receiving station
registers each folder from its label text (scanned or typed): the signature is checked offline against the station
registry and this station's own key, so a forged label is refused, and the receipt is recorded even when the case
data has not reached this station yet. The tables here are written only by this module.
"""

from ..cases import Actor
from ..reference import current_calendar
from .authorization import authorization_document, authorizations_of, item_warnings, record_authorization
from .common import (
    CustodyAuthorization,
    CustodyFolder,
    CustodyIssue,
    CustodyManifest,
    CustodyReceipt,
    CustodyRefusedError,
    station_name,
)
from .issues import (
    CarriedFolder,
    StationIssue,
    apply_custody_part,
    carried_by,
    level_of_station,
    record_central_issues,
    station_issues,
)
from .labels import (
    CaseCustody,
    KnownKey,
    Registered,
    custody_of_case,
    known_station_keys,
    note_received_elsewhere,
    read_label,
    receive_folder,
    recent_receipts,
)
from .manifests import (
    agents,
    create_manifest,
    discard_manifest,
    dispatch_manifest,
    manifest_candidates,
    manifest_document,
    manifest_folders,
    recent_manifests,
    return_destination,
)

__all__ = [
    "Actor", "CarriedFolder", "CaseCustody", "KnownKey", "apply_custody_part", "custody_of_case", "CustodyAuthorization", "CustodyFolder", "CustodyIssue", "CustodyManifest",
    "CustodyReceipt", "CustodyRefusedError", "Registered", "StationIssue", "agents", "authorization_document",
    "authorizations_of", "carried_by", "create_manifest", "current_calendar", "discard_manifest",
    "dispatch_manifest", "item_warnings", "known_station_keys", "level_of_station", "manifest_candidates",
    "manifest_document", "manifest_folders", "note_received_elsewhere", "read_label", "receive_folder",
    "recent_manifests", "recent_receipts", "record_authorization", "record_central_issues", "return_destination",
    "station_issues",
    "station_name",
]  # fmt: skip
