"""Enrollment (站点入网) from the station's side: sign a request with our own key and the one-time code, check
the certificate central returns against the trust root, and keep certificate, root and central's keys."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync_protocol.errors import ProtocolError
from sync_protocol.keys import key_id
from sync_protocol.trust import (
    Root,
    check_certificate_matches_request,
    make_enrollment_request,
    parse_root,
    trust_initial_root,
    update_root,
    verify_certificate,
    verify_enrollment_request,
)

from ..auth import record_audit
from ..db import write_transaction
from ..errors import SyncError
from ..keystore import InstanceKeys
from ..models import EventLog, StationIdentity
from .central_client import CentralClient


def build_request(keys: InstanceKeys, network: str, station_code: str, code: str) -> bytes:
    return make_enrollment_request(
        network=network,
        station_id=station_code,
        signing_key=keys.signing_key,
        box_public=keys.box_key.public_raw,
        code=code.strip(),
        wall_ms=int(time.time() * 1000),
    )


def trusted_root(info: dict[str, Any]) -> Root:
    """Root 1 pinned to central's announced root key, then every later root chained from it."""
    roots = [r.encode("ascii") for r in info.get("roots", [])]
    versions = {parse_root(r).version: r for r in roots}
    if 1 not in versions:
        raise SyncError("central's trust roots do not include version 1")
    pinned = key_id(bytes.fromhex(info["root_public"])) if info.get("root_public") else None
    root = trust_initial_root(versions[1], network=info["network"], pinned_key_id=pinned)
    return update_root(root, roots)


def install_enrollment(
    keys: InstanceKeys, request: bytes, reply: dict[str, Any], actor: str = "cli"
) -> StationIdentity:
    """Check central's reply and store certificate and central's keys (refuses a reply for other keys)."""
    try:
        info = reply["central"]
        certificate_bytes = reply["certificate"].encode("ascii")
        network = info["network"]
        root = trusted_root(info)
        certificate = verify_certificate(certificate_bytes, root, network=network)
        check_certificate_matches_request(
            certificate, verify_enrollment_request(request, network=network, code=None)
        )
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise SyncError(f"central's enrollment reply is incomplete: {e}") from e
    except ProtocolError as e:
        raise SyncError(f"central's enrollment reply does not verify: {e.message}") from e
    with write_transaction():
        identity = StationIdentity.current()
        if identity is None:
            raise SyncError("initialise the station (yiciban-station init) before enrolling")
        if certificate.station_id != identity.station_code or certificate.level != identity.level:
            raise SyncError(
                f"the certificate is for station {certificate.station_id} ({certificate.level}), "
                f"but this is {identity.station_code} ({identity.level})"
            )
        if identity.network_id and identity.network_id != network and EventLog.select().exists():
            raise SyncError(f"this station already works in network {identity.network_id}, not {network}")
        identity.network_id = network
        identity.parent_code = certificate.parent or identity.parent_code
        identity.certificate = certificate_bytes
        identity.central_info = json.dumps(info, ensure_ascii=False, sort_keys=True)
        identity.enrolled_at = datetime.now(UTC).isoformat(timespec="seconds")
        identity.save()
        record_audit(actor, "enrollment", network=network, certificate_serial=certificate.serial)
    return identity


def enroll_online(keys: InstanceKeys, central_url: str, code: str, timeout: float = 30.0) -> StationIdentity:
    """Ask central for its network, send our signed request, install the certificate."""
    client = CentralClient(central_url, timeout)
    info = client.request("GET", "/api/v1/info").json()
    identity = StationIdentity.current()
    if identity is None:
        raise SyncError("initialise the station (yiciban-station init) before enrolling")
    request = build_request(keys, info["network"], identity.station_code, code)
    reply = client.request("POST", "/api/v1/enroll", request, "application/octet-stream").json()
    return install_enrollment(keys, request, reply)


def central_info() -> dict[str, Any] | None:
    identity = StationIdentity.current()
    if identity is None or not identity.central_info:
        return None
    return json.loads(identity.central_info)  # type: ignore[no-any-return]


PENDING_REQUEST_KEY = "enrollment_request"


def write_request_file(keys: InstanceKeys, network: str, code: str, target: Path) -> Path:
    """Offline enrollment, step 1: the signed request as a file for the stick (kept here for step 2)."""
    from ..keystore import write_file_atomically
    from ..models import NodeState

    identity = StationIdentity.current()
    if identity is None:
        raise SyncError("initialise the station (yiciban-station init) before enrolling")
    network = network or identity.network_id
    if not network:
        raise SyncError("give the network id central printed with the enrollment code (--network)")
    request = build_request(keys, network, identity.station_code, code)
    with write_transaction():
        NodeState.write(PENDING_REQUEST_KEY, request.decode("ascii"))
    write_file_atomically(target, request, mode=0o644)
    return target


def install_reply_file(keys: InstanceKeys, reply_file: Path) -> StationIdentity:
    """Offline enrollment, step 2: install central's reply carried back on the stick."""
    from ..models import NodeState

    pending = NodeState.read(PENDING_REQUEST_KEY)
    if not pending:
        raise SyncError("no enrollment request was made here: run `yiciban-station enroll-request` first")
    try:
        reply = json.loads(reply_file.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise SyncError(f"{reply_file} is not an enrollment reply: {e}") from e
    identity = install_enrollment(keys, pending.encode("ascii"), reply)
    with write_transaction():
        NodeState.delete().where(NodeState.key == PENDING_REQUEST_KEY).execute()
    return identity
