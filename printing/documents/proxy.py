"""Documents of proxy handling (帮办代办): the authorization and the handover manifest (DOMAIN.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from ..model import CaseDocument, Issuer


@dataclass(frozen=True)
class ProxyAgent:
    """代办员 / 帮办员: the station staff member who carries a file."""

    name: str
    staff_number: str
    station: str
    phone: str = ""
    id_number: str = ""
    """Raw or masked; printed masked."""


@dataclass(frozen=True, kw_only=True)
class ProxyAuthorization(CaseDocument):
    """代办委托书 (授权委托书): the applicant authorises a 代办员, power by power — never 全权."""

    proxy: ProxyAgent
    powers: tuple[str, ...]
    """委托权限 one by one, e.g. 代为提交申请材料 / 代为领取补正告知书 / 代为签收办理结果."""
    items: tuple[str, ...] = ()
    """委托事项 (item names); the case's item alone when empty."""
    valid_until: date | None = None
    """None: the authorization ends when the entrusted matter is completed."""
    attachments: tuple[str, ...] = ("委托人居民身份证复印件",)


@dataclass(frozen=True)
class ManifestFolder:
    """One case folder on a handover manifest; its QR code is the custody label scanned on receipt."""

    case_number: str
    applicant_name: str
    """Printed masked (张*明): the manifest passes through several hands."""
    item_name: str
    material_count: int
    pages: int
    qr_payload: str
    """Signed custody payload (sync_protocol.receipts kind ``c``)."""
    has_originals: bool = False
    gaps: tuple[str, ...] = ()
    """容缺 materials still missing."""
    result_documents: tuple[str, ...] = ()
    """Return leg: the result documents in the folder."""


@dataclass(frozen=True, kw_only=True)
class HandoverManifest:
    """代办交接单 (流转单): the folders one 代办员 carries between stations, signed at each hand-over."""

    manifest_number: str
    direction: Literal["outbound", "return"]
    """outbound: village → township/county; return: results coming back."""
    from_station: str
    to_organ: str
    carrier: ProxyAgent
    dispatched_at: datetime
    folders: tuple[ManifestFolder, ...]
    issuer: Issuer
    handler: str
    """经办人 at the sending station."""
    qr_payload: str = ""
    """Content of the manifest's own QR code; the manifest number is encoded when empty."""
