"""核验: check a scanned receipt QR (kind ``r``) or folder label (kind ``c``) offline against the keys this station
knows — its own, and those of the newest station registry (站点名录) that verifies against central's trust root.

A payload is accepted only when its signature verifies AND the key belongs to the station the payload names, so
one station's key cannot vouch for another station's paper.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
from sync_protocol.keys import SigningKey
from sync_protocol.registry import Registry, verify_registry

from ..errors import StationError
from ..models import CaseRecord, NodeState, StationIdentity

REGISTRY_KEY = "registry"
KIND_NAMES = {receipts.RECEIPT: "文书凭证", receipts.CUSTODY: "卷宗标签"}


class VerificationFailedError(StationError):
    """A scanned payload could not be verified; ``message`` says why in Chinese and English."""

    code = "verification_failed"

    def __init__(self, msg: Message) -> None:
        self.message = msg
        super().__init__(msg.text("zh"))


@dataclass(frozen=True)
class KnownKey:
    station_code: str
    public_raw: bytes
    revoked: bool


@dataclass(frozen=True)
class Verified:
    """A payload whose signature verified with the key of the station it names."""

    kind: str
    fields: dict[str, Any]
    station_code: str
    key_ref: str
    key_revoked: bool
    case: CaseRecord | None

    @property
    def document_title(self) -> str:
        if self.kind != receipts.RECEIPT:
            return KIND_NAMES[self.kind]
        kind = DOCUMENT_KINDS.get(self.fields["doc_type"])
        return kind.title_zh if kind is not None else self.fields["doc_type"]


def _registries(identity: StationIdentity | None) -> list[Registry]:
    if identity is None or not identity.central_info:
        return []
    from .enrollment import trusted_root

    info = json.loads(identity.central_info)
    texts = [t for t in (NodeState.read(REGISTRY_KEY), info.get("registry")) if isinstance(t, str)]
    try:
        root = trusted_root(info)
    except (StationError, ProtocolError, KeyError, ValueError):
        return []
    found = []
    for text in texts:
        try:
            found.append(verify_registry(text.encode("ascii"), root, network=info["network"]))
        except (ProtocolError, UnicodeEncodeError, KeyError):
            continue  # a registry that does not verify against the root is not evidence of anything
    return found


def known_keys(signing_key: SigningKey) -> dict[str, KnownKey]:
    """Key reference (16 hex) → owner and key, from this station's own key and the newest verified registry."""
    identity = StationIdentity.current()
    keys: dict[str, KnownKey] = {}
    registries = sorted(_registries(identity), key=lambda r: r.version, reverse=True)
    if registries:
        for entry in registries[0].stations.values():
            for key in entry.keys:
                ref = key.key_id[: receipts.KEY_REF_LENGTH]
                keys[ref] = KnownKey(entry.station_id, key.sign_public, key.revoked_after is not None)
    if identity is not None:
        own = signing_key.key_id[: receipts.KEY_REF_LENGTH]
        keys.setdefault(own, KnownKey(str(identity.station_code), signing_key.public_raw, False))
    return keys


def _fail(code: str, zh: str, en: str, **params: Any) -> VerificationFailedError:
    return VerificationFailedError(message(code, zh, en, **params))


def verify_text(text: str, signing_key: SigningKey) -> Verified:
    """Verify a pasted or scanned payload.

    Raises:
        VerificationFailedError: empty, malformed, unknown station key, bad signature, or a key of another station.
    """
    cleaned = "".join((text or "").split())
    if not cleaned:
        raise _fail("verify_empty", "请扫描或粘贴二维码内容", "Scan or paste the QR code's content")
    keys = known_keys(signing_key)
    try:
        kind, _fields, key_ref, _signature = receipts.parse_qr_payload(cleaned)
        fields = receipts.verify_qr_payload(
            cleaned, lambda ref: keys[ref].public_raw if ref in keys else None
        )
    except SizeLimitError as e:
        raise _fail(
            "verify_too_long", "内容过长，不是本系统的二维码", "Too long to be one of our QR codes"
        ) from e
    except UnknownKeyError as e:
        raise _fail(
            "verify_unknown_station",
            "无法核验：签发站点的密钥不在本站的站点名录中。请与中心同步后再核验，或向签发站点核实",
            "Cannot verify: the issuing station's key is not in this station's registry. Sync with central "
            "and try again, or ask the issuing station",
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
    claimed = fields["station_id"] if kind == receipts.RECEIPT else fields["sending_station"]
    owner = keys[key_ref]
    if owner.station_code != claimed:
        raise _fail(
            "verify_wrong_station",
            "核验失败：签名密钥属于站点 {owner}，与凭证所载站点 {claimed} 不符",
            "Verification failed: the key belongs to station {owner}, not to station {claimed} named on it",
            owner=owner.station_code,
            claimed=claimed,
        )
    case = CaseRecord.get_or_none(CaseRecord.id == fields["case_id"])
    return Verified(kind, fields, claimed, key_ref, owner.revoked, case)
