"""Central trust root rotation (根密钥轮换): root N signs root N+1, which names a fresh root key.

Root 1's key stays in ``keys/root_ed25519.key``: its public key is the pin every installer and enrollment reply
carries (``root_public``), so it never moves. Each later root key is ``keys/root-<N>_ed25519.key``; old keys are
kept (a root N+1 can only be signed by a key of root N, and an auditor may need to show who signed what). The new
root is written to ``trust/root-<N>.signed`` and recorded as a trust document, so every downstream bundle from now
on carries it in its roots section (SYNC-DESIGN §10 "update trust root N→N+1") and every enrollment reply lists it.
Stations chain it with ``sync_protocol.trust.update_root`` before checking the bundle's signature.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sync_protocol.keys import SigningKey
from sync_protocol.trust import Root, make_root, parse_root, rotate_root

from ..db import write_transaction
from ..errors import InstanceError
from ..files import atomic_write
from ..instance import ROOT_KEY_FILE, read_root_document
from ..models import TrustDocument
from .audit import record_audit
from .enrollment import ensure_root_published


@dataclass(frozen=True)
class RootRotation:
    version: int
    root_key_id: str
    previous_key_id: str
    document: Path


def root_key_path(instance: Path, version: int) -> Path:
    keys = Path(instance) / "keys"
    return keys / ROOT_KEY_FILE if version == 1 else keys / f"root-{version}_ed25519.key"


def current_root() -> Root:
    row = (
        TrustDocument.select()
        .where(TrustDocument.kind == "root")
        .order_by(TrustDocument.version.desc())
        .first()
    )
    if row is None:
        raise InstanceError("no trust root is published: run `yiciban-central init`")
    return parse_root(bytes(row.body))


def _signing_key_of(instance: Path, root: Root) -> SigningKey:
    path = root_key_path(instance, root.version)
    try:
        key = SigningKey.from_private_bytes(path.read_bytes())
    except FileNotFoundError as e:
        raise InstanceError(f"the key of root {root.version} is missing ({path})") from e
    if key.key_id not in root.root_key_ids:
        raise InstanceError(f"{path} is not a root key of root {root.version}")
    return key


def rotate_central_root(instance: Path, actor: str = "cli", now_ms: int | None = None) -> RootRotation:
    """Make root N+1 with a new root key, signed by root N's key, and publish it to stations and enrollments.

    The online central keys carry over unchanged: a root rotation replaces the offline trust anchor, not the
    key that signs acks and bundles. The new root is checked with ``rotate_root`` exactly as a station will.
    """
    instance = Path(instance)
    with write_transaction():
        ensure_root_published(read_root_document(instance))
        current = current_root()
        signer = _signing_key_of(instance, current)
        version = current.version + 1
        key_path = root_key_path(instance, version)
        if key_path.exists():  # a rotation that crashed before its commit: reuse its key, never overwrite one
            new_key = SigningKey.from_private_bytes(key_path.read_bytes())
        else:
            new_key = SigningKey.generate()
            atomic_write(key_path, new_key.private_bytes())
        new_root = make_root(
            network=current.network,
            version=version,
            root_keys=[new_key.public_raw],
            central_keys=list(current.central_keys),
            issued_ms=int(time.time() * 1000) if now_ms is None else now_ms,
            signing_key=signer,
        )
        rotate_root(current, new_root.raw)  # the station's own check, before anything is published
        document = instance / "trust" / f"root-{version}.signed"
        atomic_write(document, new_root.raw, mode=0o644)
        TrustDocument.create(kind="root", version=version, body=new_root.raw)
        record_audit(
            actor,
            "root_rotated",
            f"root-{version}",
            {"version": version, "root_key_id": new_key.key_id, "signed_by": signer.key_id},
        )
    return RootRotation(version, new_key.key_id, signer.key_id, document)
