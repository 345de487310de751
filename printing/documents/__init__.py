"""Plain data for every document a window hands out (DOMAIN.md §5, issue 8): frozen dataclasses, no logic.

Grouped by where they occur: intake at the window, progress and decisions, proxy handling (代办), and the
station's own sheets.
"""

from __future__ import annotations

from .decisions import (
    DeliveryReceipt,
    ExtensionNotice,
    RefusalDecision,
    ResultReadyNotice,
    SpecialProcedureNotice,
)
from .intake import (
    AcceptanceNotice,
    Correction,
    CorrectionNotice,
    DeferredMaterial,
    GapAcceptanceNotice,
    GapCommitment,
    MaterialsReceipt,
    ProofCommitment,
    RejectionNotice,
)
from .proxy import HandoverManifest, ManifestFolder, ProxyAgent, ProxyAuthorization
from .station import DailyCaseLine, DailySheet, GuideMaterial, RatingCard, ServiceGuide

__all__ = [
    "AcceptanceNotice",
    "Correction",
    "CorrectionNotice",
    "DailyCaseLine",
    "DailySheet",
    "DeferredMaterial",
    "DeliveryReceipt",
    "ExtensionNotice",
    "GapAcceptanceNotice",
    "GapCommitment",
    "GuideMaterial",
    "HandoverManifest",
    "ManifestFolder",
    "MaterialsReceipt",
    "ProofCommitment",
    "ProxyAgent",
    "ProxyAuthorization",
    "RatingCard",
    "RefusalDecision",
    "RejectionNotice",
    "ResultReadyNotice",
    "ServiceGuide",
    "SpecialProcedureNotice",
]
