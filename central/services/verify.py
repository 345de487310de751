"""核验 at central: check a scanned receipt QR (kind ``r``) or folder label (kind ``c``) against the enrolled station
keys, offline (no call to any station).

A payload is accepted only when its signature verifies AND the key is enrolled for the station the payload names;
a key or station revoked since is reported, and the 文书编号 the station recorded for that document (its
``document.issued`` event, once synced) is shown next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from casework.errors import Message, message
from printing import DOCUMENT_KINDS
from sync_protocol import receipts
from sync_protocol.errors import (
    MalformedError,
    ProtocolError,
    SignatureError,
    SizeLimitError,
    UnknownKeyError,
)
from sync_protocol.events import parse_event

from ..errors import CentralError
from ..models import CaseRecord, LogEvent, Station, StationKey

DOCUMENT_AGGREGATE = "document"
ISSUED_EVENT = "document.issued"
KIND_NAMES = {receipts.RECEIPT: "文书凭证", receipts.CUSTODY: "卷宗标签"}


class VerificationFailedError(CentralError):
    """A scanned payload could not be verified; ``bilingual`` says why in Chinese and English."""

    code = "verification_failed"
    http_status = 422

    def __init__(self, msg: Message) -> None:
        super().__init__(msg.text("en"))
        self.bilingual = msg


@dataclass(frozen=True)
class Verified:
    """A payload whose signature verified with a key enrolled for the station it names."""

    kind: str
    fields: dict[str, Any]
    station_code: str
    station_name: str
    key_revoked: bool
    station_revoked: bool
    case: CaseRecord | None
    doc_numbers: tuple[str, ...] = field(default=())

    @property
    def document_title(self) -> str:
        if self.kind != receipts.RECEIPT:
            return KIND_NAMES[self.kind]
        kind = DOCUMENT_KINDS.get(self.fields["doc_type"])
        return kind.title_zh if kind is not None else self.fields["doc_type"]


def _fail(code: str, zh: str, en: str, **params: Any) -> VerificationFailedError:
    return VerificationFailedError(message(code, zh, en, **params))


def _key_row(key_ref: str) -> StationKey | None:
    rows = list(StationKey.select().where(StationKey.key_id.startswith(key_ref)).limit(2))
    return rows[0] if len(rows) == 1 else None


def _doc_numbers(case_id: str, doc_type: str, issued_on: str) -> tuple[str, ...]:
    rows = LogEvent.select(LogEvent.body).where(
        (LogEvent.aggregate_kind == DOCUMENT_AGGREGATE)
        & (LogEvent.aggregate_id == case_id)
        & (LogEvent.event_type == ISSUED_EVENT)
    )
    numbers = []
    for row in rows:
        payload = parse_event(bytes(row.body)).payload
        if payload.get("kind") == doc_type and payload.get("issued_on") == issued_on:
            numbers.append(str(payload.get("doc_number", "")))
    return tuple(n for n in numbers if n)


def verify_text(text: str) -> Verified:
    """Verify a pasted or scanned payload against the enrolled keys.

    Raises:
        VerificationFailedError: empty, malformed, unknown key, bad signature, or a key of another station.
    """
    cleaned = "".join((text or "").split())
    if not cleaned:
        raise _fail("verify_empty", "请扫描或粘贴二维码内容", "Scan or paste the QR code's content")
    try:
        kind, _fields, key_ref, _signature = receipts.parse_qr_payload(cleaned)
        row = _key_row(key_ref)
        fields = receipts.verify_qr_payload(
            cleaned, lambda _ref: bytes.fromhex(row.sign_public) if row is not None else None
        )
    except SizeLimitError as e:
        raise _fail(
            "verify_too_long", "内容过长，不是本系统的二维码", "Too long to be one of our QR codes"
        ) from e
    except UnknownKeyError as e:
        raise _fail(
            "verify_unknown_station",
            "无法核验：签发站点的密钥未在中心登记，凭证来源不明",
            "Cannot verify: the issuing station's key is not enrolled at central; the paper's origin is unknown",
        ) from e
    except SignatureError as e:
        raise _fail(
            "verify_forged",
            "核验失败：签名无效，凭证内容可能被篡改或伪造",
            "Verification failed: the signature is invalid; the content may have been altered or forged",
        ) from e
    except (MalformedError, ProtocolError) as e:
        raise _fail(
            "verify_malformed",
            "这不是有效的一次办二维码（内容不完整或格式不对）",
            "This is not a valid yiciban QR code (incomplete or wrongly formed)",
        ) from e
    assert row is not None  # verify_qr_payload raised UnknownKeyError otherwise
    claimed = fields["station_id"] if kind == receipts.RECEIPT else fields["sending_station"]
    if row.station_code != claimed:
        raise _fail(
            "verify_wrong_station",
            "核验失败：签名密钥属于站点 {owner}，与凭证所载站点 {claimed} 不符",
            "Verification failed: the key belongs to station {owner}, not to station {claimed} named on it",
            owner=row.station_code,
            claimed=claimed,
        )
    station = Station.get_or_none(Station.code == claimed)
    numbers: tuple[str, ...] = ()
    if kind == receipts.RECEIPT:
        numbers = _doc_numbers(fields["case_id"], fields["doc_type"], fields["issued_on"])
    return Verified(
        kind=kind,
        fields=fields,
        station_code=claimed,
        station_name=station.name if station is not None else claimed,
        key_revoked=row.revoked_at is not None or row.revoked_after_epoch is not None,
        station_revoked=station is not None and station.status == "revoked",
        case=CaseRecord.get_or_none(CaseRecord.case_id == fields["case_id"]),
        doc_numbers=numbers,
    )
