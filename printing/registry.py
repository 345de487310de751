"""The registry of printable document kinds: a stable key, the Chinese and English titles, the data class and
the function that composes its layout."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .compose.decisions import (
    compose_delivery_receipt,
    compose_extension_notice,
    compose_refusal_decision,
    compose_result_ready_notice,
    compose_special_procedure_notice,
)
from .compose.intake import (
    compose_acceptance_notice,
    compose_correction_notice,
    compose_gap_acceptance_notice,
    compose_gap_commitment,
    compose_materials_receipt,
    compose_proof_commitment,
    compose_rejection_notice,
)
from .compose.proxy import compose_handover_manifest, compose_proxy_authorization
from .compose.station import compose_daily_sheet, compose_rating_card, compose_service_guide
from .documents import (
    AcceptanceNotice,
    CorrectionNotice,
    DailySheet,
    DeliveryReceipt,
    ExtensionNotice,
    GapAcceptanceNotice,
    GapCommitment,
    HandoverManifest,
    MaterialsReceipt,
    ProofCommitment,
    ProxyAuthorization,
    RatingCard,
    RefusalDecision,
    RejectionNotice,
    ResultReadyNotice,
    ServiceGuide,
    SpecialProcedureNotice,
)
from .errors import UnknownDocumentKindError
from .layout import Layout

APPLICANT_AND_FILE = ("申请人联", "存档联")


@dataclass(frozen=True)
class DocumentKind:
    """One printable kind of document."""

    key: str
    title_zh: str
    title_en: str
    data_class: type
    compose: Callable[[Any], Layout]
    copies: tuple[str, ...] = ()
    """Labels of the copies printed by default (一式两份); one unlabelled copy when empty."""
    number_code: str = ""
    """The type code in a 文书编号 (收, 受, 补…); see :func:`format_doc_number`."""


DOCUMENT_KINDS: dict[str, DocumentKind] = {
    kind.key: kind
    for kind in (
        DocumentKind(
            "materials_receipt",
            "材料接收凭证",
            "Receipt for materials",
            MaterialsReceipt,
            compose_materials_receipt,
            ("递交人联", "存根联"),
            number_code="收",
        ),
        DocumentKind(
            "acceptance_notice",
            "受理通知书",
            "Notice of acceptance",
            AcceptanceNotice,
            compose_acceptance_notice,
            APPLICANT_AND_FILE,
            number_code="受",
        ),
        DocumentKind(
            "correction_notice",
            "一次性告知书",
            "One-time notice of corrections",
            CorrectionNotice,
            compose_correction_notice,
            APPLICANT_AND_FILE,
            number_code="补",
        ),
        DocumentKind(
            "rejection_notice",
            "不予受理通知书",
            "Notice of non-acceptance",
            RejectionNotice,
            compose_rejection_notice,
            APPLICANT_AND_FILE,
            number_code="不受",
        ),
        DocumentKind(
            "gap_acceptance_notice",
            "容缺受理通知书",
            "Notice of acceptance with deferred materials",
            GapAcceptanceNotice,
            compose_gap_acceptance_notice,
            APPLICANT_AND_FILE,
            number_code="容",
        ),
        DocumentKind(
            "gap_commitment",
            "容缺受理承诺书",
            "Commitment to supply deferred materials",
            GapCommitment,
            compose_gap_commitment,
            ("承诺人联", "存档联"),
            number_code="容诺",
        ),
        DocumentKind(
            "proof_commitment",
            "证明事项告知承诺书",
            "Notification-and-commitment in place of a certificate",
            ProofCommitment,
            compose_proof_commitment,
            ("承诺人联", "存档联"),
            number_code="承",
        ),
        DocumentKind(
            "special_procedure_notice",
            "特别程序告知书",
            "Notice of a special procedure",
            SpecialProcedureNotice,
            compose_special_procedure_notice,
            APPLICANT_AND_FILE,
            number_code="特",
        ),
        DocumentKind(
            "extension_notice",
            "延期办理告知书",
            "Notice of extension",
            ExtensionNotice,
            compose_extension_notice,
            APPLICANT_AND_FILE,
            number_code="延",
        ),
        DocumentKind(
            "result_ready_notice",
            "办结（领取）通知书",
            "Notice that the result is ready",
            ResultReadyNotice,
            compose_result_ready_notice,
            number_code="结",
        ),
        DocumentKind(
            "refusal_decision",
            "不予许可决定书",
            "Negative decision",
            RefusalDecision,
            compose_refusal_decision,
            APPLICANT_AND_FILE,
            number_code="不许",
        ),
        DocumentKind(
            "delivery_receipt",
            "送达回证",
            "Proof of delivery",
            DeliveryReceipt,
            compose_delivery_receipt,
            number_code="送",
        ),
        DocumentKind(
            "proxy_authorization",
            "代办委托书",
            "Authorization of a proxy agent",
            ProxyAuthorization,
            compose_proxy_authorization,
            ("委托人联", "代办站点联"),
            number_code="委",
        ),
        DocumentKind(
            "handover_manifest",
            "代办交接单",
            "Handover manifest",
            HandoverManifest,
            compose_handover_manifest,
            ("送出单位联", "接收单位联"),
            number_code="交",
        ),
        DocumentKind("service_guide", "办事指南", "Service guide", ServiceGuide, compose_service_guide),
        DocumentKind(
            "rating_card", "政务服务“好差评”评价卡", "Service rating card", RatingCard, compose_rating_card
        ),
        DocumentKind(
            "daily_sheet", "便民服务站点工作日报表", "Daily station sheet", DailySheet, compose_daily_sheet
        ),
    )
}

_BY_CLASS = {kind.data_class: kind for kind in DOCUMENT_KINDS.values()}


def format_doc_number(station_code: str, kind: str, year: int, sequence: int) -> str:
    """文书编号 in the usual form: ``{station code}{type code}〔{year}〕{sequence:04d}号``, e.g. 青山便民受〔2026〕0112号.

    Raises:
        UnknownDocumentKindError: the kind is not registered or has no numbering code.
    """
    registered = DOCUMENT_KINDS.get(kind)
    if registered is None or not registered.number_code:
        raise UnknownDocumentKindError(f"no 文书编号 type code for {kind!r}")
    return f"{station_code}{registered.number_code}〔{year}〕{sequence:04d}号"


def kind_of(document: object) -> DocumentKind:
    """The registered kind of a document object.

    Raises:
        UnknownDocumentKindError: the object is not one of the registered document classes.
    """
    try:
        return _BY_CLASS[type(document)]
    except KeyError:
        raise UnknownDocumentKindError(f"not a printable document: {type(document).__name__}") from None


def compose(document: object, copies: Sequence[str] | None = None) -> Layout:
    """Compose any registered document into its layout.

    Args:
        document: an instance of a registered document class.
        copies: labels of the copies to print; the kind's default (一式两份) when None, one copy when empty.
    """
    kind = kind_of(document)
    layout = kind.compose(document)
    return dataclasses.replace(layout, copies=kind.copies if copies is None else tuple(copies))
