"""Enrollment (站点入网): a station proves its one-time code with a request signed by its new key; central
issues a certificate and publishes a new registry version, all in one transaction.

The reply (JSON, also written as a file for stations that never go online)::

    {"certificate": "<signed certificate envelope>",
     "central": {"network": …, "root_public": hex, "central_public": hex, "ingest_recipient": "age1…",
                 "escrow_recipient": "age1…", "roots": ["<signed root 1>", …], "registry": "<signed registry>"}}

Signed envelopes are ASCII text (``yiciban-signed/v1 …``); a station turns each back into bytes with ``.encode()``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from peewee import fn

from sync_protocol.errors import EnrollmentError, ProtocolError
from sync_protocol.fieldcrypt import FieldCipher
from sync_protocol.trust import EnrollmentRequest, issue_certificate, verify_enrollment_request

from ..db import write_transaction
from ..errors import EnrollmentRefusedError
from ..models import EnrollmentCode, Station, StationChain, StationKey, TrustDocument, utcnow
from .audit import record_audit
from .registry import publish_registry
from .stations import CODE_CONTEXT, normalise_enrollment_code

MAX_FAILED_ATTEMPTS = 5


@dataclass(frozen=True)
class CentralIdentity:
    """What a station must learn about central when it enrolls."""

    network: str
    root_public: bytes
    central_key: Any  # sync_protocol.keys.SigningKey (the online key named in the root)
    ingest_recipient: str
    escrow_recipient: str


def _candidates(code: str) -> list[str]:
    # The code as issued ("ABCD-EFGH-…") and as typed without separators: both prove the same code.
    return list(dict.fromkeys([code, normalise_enrollment_code(code)]))


def _matching_code(
    data: bytes, network: str, rows: list[EnrollmentCode], cipher: FieldCipher
) -> EnrollmentCode | None:
    for row in rows:
        code = cipher.decrypt(bytes(row.code_sealed), CODE_CONTEXT)
        for candidate in _candidates(code):
            try:
                verify_enrollment_request(data, network=network, code=candidate)
            except EnrollmentError:
                continue
            return row
    return None


def central_info(identity: CentralIdentity) -> dict[str, Any]:
    roots = [
        bytes(r.body).decode()
        for r in TrustDocument.select().where(TrustDocument.kind == "root").order_by(TrustDocument.version)
    ]
    registry = (
        TrustDocument.select()
        .where(TrustDocument.kind == "registry")
        .order_by(TrustDocument.version.desc())
        .first()
    )
    return {
        "network": identity.network,
        "root_public": identity.root_public.hex(),
        "central_public": identity.central_key.public_raw.hex(),
        "ingest_recipient": identity.ingest_recipient,
        "escrow_recipient": identity.escrow_recipient,
        "roots": roots,
        "registry": bytes(registry.body).decode() if registry else "",
    }


def ensure_root_published(root_document: bytes) -> None:
    """Record trust root 1 (written by `init`) in the trust documents the first time it is needed."""
    if not TrustDocument.select().where(TrustDocument.kind == "root", TrustDocument.version == 1).exists():
        TrustDocument.create(kind="root", version=1, body=root_document)


def _refuse(reason: str, message: str, station: str, ip: str) -> EnrollmentRefusedError:
    with write_transaction():
        record_audit(station or "-", "enrollment_refused", station, {"reason": reason}, ip)
    return EnrollmentRefusedError(message, code=reason)


def enroll_station(
    data: bytes, identity: CentralIdentity, cipher: FieldCipher, root_document: bytes, ip: str = ""
) -> dict[str, Any]:
    """Verify an enrollment request against a live one-time code and return the certificate reply."""
    try:
        request: EnrollmentRequest = verify_enrollment_request(data, network=identity.network, code=None)
    except ProtocolError as e:
        raise _refuse(e.reason, e.message, "", ip) from e
    station_code = request.station_id
    now = utcnow()
    with write_transaction():
        station = Station.get_or_none(Station.code == station_code)
        if station is None or station.status == "revoked":
            reason = "unknown_station" if station is None else "revoked"
            station = None
        else:
            reason = ""
            rows = list(
                EnrollmentCode.select().where(
                    EnrollmentCode.station_code == station_code,
                    EnrollmentCode.expires_at > now,
                    EnrollmentCode.failed_attempts < MAX_FAILED_ATTEMPTS,
                )
            )
            match = _matching_code(data, identity.network, rows, cipher)
            if match is None:
                reason = "code_invalid"
                EnrollmentCode.update(failed_attempts=EnrollmentCode.failed_attempts + 1).where(
                    EnrollmentCode.id.in_([r.id for r in rows if r.used_at is None])
                ).execute()
            elif match.used_at is not None:
                # A repeated request (the first reply was lost): same code, same key → the same certificate.
                existing = StationKey.get_or_none(
                    StationKey.station_code == station_code,
                    StationKey.sign_public == request.sign_public.hex(),
                )
                if existing is None:
                    reason = "code_used"
                else:
                    ensure_root_published(root_document)
                    return {
                        "certificate": bytes(existing.certificate).decode(),
                        "central": central_info(identity),
                    }
            else:
                return _issue(request, station, match, identity, root_document, ip)
    messages = {
        "unknown_station": "this station is not registered at central",
        "revoked": "this station is revoked",
        "code_invalid": "the enrollment code is wrong, expired or already used",
        "code_used": "the enrollment code was already used by another key",
    }
    raise _refuse(reason, messages[reason], station_code, ip)


def _issue(
    request: EnrollmentRequest,
    station: Station,
    code_row: EnrollmentCode,
    identity: CentralIdentity,
    root_document: bytes,
    ip: str,
) -> dict[str, Any]:
    if StationKey.select().where(StationKey.sign_public == request.sign_public.hex()).exists():
        raise EnrollmentRefusedError("this key is already enrolled", code="key_reused")
    serial = (StationKey.select(fn.MAX(StationKey.serial)).scalar() or 0) + 1
    last_epoch = (
        StationChain.select(fn.MAX(StationChain.epoch))
        .where(StationChain.station_code == station.code)
        .scalar()
        or 0
    )
    certificate = issue_certificate(
        network=identity.network,
        station_id=station.code,
        level=station.level,
        parent=station.parent_code or "",
        sign_public=request.sign_public,
        box_public=request.box_public,
        epoch=last_epoch + 1,
        serial=serial,
        issued_ms=int(time.time() * 1000),
        central_key=identity.central_key,
    )
    now = utcnow()
    StationKey.create(
        station_code=station.code,
        key_id=certificate.station_key_id,
        sign_public=request.sign_public.hex(),
        box_public=request.box_public.hex(),
        certificate=certificate.raw,
        serial=serial,
    )
    Station.update(status="enrolled", enrolled_at=now, key_id=certificate.station_key_id).where(
        Station.code == station.code
    ).execute()
    EnrollmentCode.update(used_at=now).where(EnrollmentCode.id == code_row.id).execute()
    ensure_root_published(root_document)
    publish_registry(identity.network, identity.central_key)
    record_audit(
        station.code,
        "station_enrolled",
        station.code,
        {"key_id": certificate.station_key_id, "serial": serial},
        ip,
    )
    return {"certificate": certificate.raw.decode(), "central": central_info(identity)}
