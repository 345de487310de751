"""代办 custody of paper folders (DOMAIN.md §6, SPEC.md §3.4): manifests, two-phase custody, anomalies, hop times.

A 交接单 (handover manifest) lists the folders one 代办员 carries from one station to another. Custody has two
phases recorded at two places: *dispatch* at the sender, *receive* at the receiver (by scanning the folder's signed
label). Records are paired by (manifest, case); a matched pair closes by itself. Everything the software cannot
explain — a receipt without a dispatch, a folder received twice or by the wrong station, a folder in transit past
its limit, a village holding a case too long, a result held without 送达 — is a :class:`CustodyAnomaly`, a
conflict of class D (SYNC-DESIGN.md §9): always for a human, because only people know where paper is.

The 代办委托书 (authorization) lists its powers one by one and never grants 全权; an item that
``requires_personal_appearance`` (行政许可法 §29) cannot be fully proxied.
"""

from __future__ import annotations

from .anomalies import (
    HOLDING_EVENT_TYPES,
    AnomalyKind,
    CustodyAnomaly,
    CustodyLimits,
    Holding,
    HoldingKind,
    custody_anomalies,
    holding_anomalies,
    holdings_from_events,
    parse_hop_days,
)
from .authorization import (
    POWER_LABELS,
    AuthorizationCheck,
    ItemScope,
    authorization_payload,
    check_authorization,
    personal_appearance_warning,
)
from .common import (
    CHINA_TIME,
    CONFLICT_CLASS,
    DEFAULT_TRANSIT_DAYS,
    RESULT_HOLD_DAYS,
    TEXTS,
    AuthorizationError,
    CustodyError,
    Direction,
    local_day,
    text,
    to_moment,
)
from .handover import (
    CustodyRecord,
    CustodyStatus,
    Dispatch,
    Folder,
    Manifest,
    Receipt,
    custody_from_events,
    manifest_number,
    new_manifest,
    pair_custody,
)
from .hops import Hop, RouteTimes, route_times

__all__ = [
    "AnomalyKind",
    "AuthorizationCheck",
    "AuthorizationError",
    "CHINA_TIME",
    "CONFLICT_CLASS",
    "CustodyAnomaly",
    "CustodyError",
    "CustodyLimits",
    "CustodyRecord",
    "CustodyStatus",
    "DEFAULT_TRANSIT_DAYS",
    "Direction",
    "Dispatch",
    "Folder",
    "Holding",
    "HoldingKind",
    "HOLDING_EVENT_TYPES",
    "Hop",
    "ItemScope",
    "Manifest",
    "POWER_LABELS",
    "RESULT_HOLD_DAYS",
    "Receipt",
    "RouteTimes",
    "TEXTS",
    "authorization_payload",
    "check_authorization",
    "custody_anomalies",
    "custody_from_events",
    "holding_anomalies",
    "holdings_from_events",
    "parse_hop_days",
    "local_day",
    "manifest_number",
    "new_manifest",
    "pair_custody",
    "personal_appearance_warning",
    "route_times",
    "text",
    "to_moment",
]
