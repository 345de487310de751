"""Regenerate the protocol test vectors in tests/vectors/protocol/ (docs/PROTOCOL.md explains every byte).

Run from the repository root:  .venv/bin/python tests/vectors/make_vectors.py

Everything is deterministic: keys come from fixed seeds, Ed25519 signatures are deterministic, and the sealed files
use the sealing module's fixed-randomness entry point. zlib output is NOT required to be byte-identical across
zlib builds, so the compressed payloads are stored once (``*.zlib``) and only their decompressed content is
compared; the sealed files are regenerated from the stored ``*.zlib``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zlib
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[2]
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

from sync_protocol.acks import EpochAck, NotAppliedNote, make_ack  # noqa: E402
from sync_protocol.authorization import issue_epoch_authorization  # noqa: E402
from sync_protocol.batch import InlineBlob, encode_container, make_batch_plaintext  # noqa: E402
from sync_protocol.bundles import BundlePart, make_bundle_plaintext  # noqa: E402
from sync_protocol.central_events import build_resolution  # noqa: E402
from sync_protocol.events import AttachmentRef, build_event, epoch_open_event  # noqa: E402
from sync_protocol.hlc import HLC  # noqa: E402
from sync_protocol.keys import BoxKey, SigningKey  # noqa: E402
from sync_protocol.registry import StationEntry, StationKey, build_registry  # noqa: E402
from sync_protocol.schema import ZERO_ID  # noqa: E402
from sync_protocol.trust import issue_certificate, make_enrollment_request, make_root  # noqa: E402

OUT = Path(__file__).resolve().parent / "protocol"
NETWORK = "vector-net"
STATION = "st-330106001001"
PARENT = "st-330106001"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
ENROLLMENT_CODE = "4829-1377-0102"
KEY_LABELS = ("root", "central", "station", "station-box", "central-ingest", "escrow")


def seed(label: str) -> bytes:
    """Private key seeds: sha256("yiciban test vector " + label)."""
    return hashlib.sha256(b"yiciban test vector " + label.encode()).digest()


def keys() -> dict[str, SigningKey | BoxKey]:
    return {
        "root": SigningKey.from_private_bytes(seed("root")),
        "central": SigningKey.from_private_bytes(seed("central")),
        "station": SigningKey.from_private_bytes(seed("station")),
        "station-box": BoxKey.from_private_bytes(seed("station-box")),
        "central-ingest": BoxKey.from_private_bytes(seed("central-ingest")),
        "escrow": BoxKey.from_private_bytes(seed("escrow")),
    }


def _deterministic_seal(plaintext: bytes, recipients: list[bytes], label: str) -> bytes:
    from sync_protocol import seal

    rand = hashlib.sha256(b"yiciban vector randomness " + label.encode()).digest()
    return seal._seal_with(  # the sealing module's fixed-randomness entry point, for vectors only
        plaintext,
        recipients,
        file_key=rand[:16],
        ephemeral_secrets=[hashlib.sha256(rand + bytes([i])).digest() for i in range(len(recipients))],
        payload_nonce=rand[16:32],
    )


def events() -> list:
    case_id = "019b7650-5800-7a00-8000-000000000001"
    clock = HLC(T0, 0)
    opened = epoch_open_event(
        network=NETWORK,
        station_id=STATION,
        epoch=1,
        reason="install",
        previous_head=None,
        hlc=clock,
        wall_ms=T0,
        actor="system",
    )
    out = [opened]
    specs = [
        (
            "case.accepted",
            {"item": "330106-001-00-01", "applicant_ref": "p-0001", "to": "accepted", "from": "draft"},
            (),
        ),
        ("case.field_edited", {"field": "phone", "old": "13800000000", "new": "13900000000"}, ()),
        (
            "case.material_scanned",
            {"material": "id_card", "note": "身份证复印件"},
            (AttachmentRef(hashlib.sha256(b"scan-0001").hexdigest(), 9, "image/png"),),
        ),
    ]
    for seq, (event_type, payload, attachments) in enumerate(specs, start=2):
        clock = clock.tick(T0 + seq * 60_000)
        out.append(
            build_event(
                network=NETWORK,
                station_id=STATION,
                epoch=1,
                seq=seq,
                prev=out[-1].event_id,
                hlc=clock,
                wall_ms=T0 + seq * 60_000,
                actor="clerk-07",
                idempotency_key=f"op-{seq:04d}",
                type=event_type,
                schema_version=1,
                aggregate_kind="case",
                aggregate_id=case_id,
                payload=payload,
                base_version=seq - 2,
                base_own_event=out[-1].event_id if seq > 2 else "",
                catalog_version=12,
                attachments=attachments,
            )
        )
    return out


def build(stored_zlib: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every vector file's bytes. ``stored_zlib`` supplies the committed ``*.zlib`` payloads to seal."""
    k = keys()
    root_key, central, station = k["root"], k["central"], k["station"]
    station_box, ingest, escrow = k["station-box"], k["central-ingest"], k["escrow"]
    assert (
        isinstance(root_key, SigningKey)
        and isinstance(central, SigningKey)
        and isinstance(station, SigningKey)
    )
    assert isinstance(station_box, BoxKey) and isinstance(ingest, BoxKey) and isinstance(escrow, BoxKey)
    files: dict[str, bytes] = {}

    key_doc = {
        "seed_rule": 'sha256("yiciban test vector " + label)',
        "signing_keys": {
            label: {"seed": seed(label).hex(), "public": key.public_raw.hex(), "key_id": key.key_id}
            for label, key in (("root", root_key), ("central", central), ("station", station))
        },
        "box_keys": {
            label: {
                "private": key.private_raw.hex(),
                "public": key.public_raw.hex(),
                "key_id": key.key_id,
                "recipient": key.recipient,
                "identity": key.identity,
            }
            for label, key in (("station-box", station_box), ("central-ingest", ingest), ("escrow", escrow))
        },
        "network": NETWORK,
        "station": STATION,
        "enrollment_code": ENROLLMENT_CODE,
    }
    files["keys.json"] = (json.dumps(key_doc, indent=2, sort_keys=True) + "\n").encode()

    chain = events()
    files["events.jsonl"] = b"".join(e.body + b"\n" for e in chain)
    files["event-ids.txt"] = b"".join(e.event_id.encode() + b"\n" for e in chain)

    blob = InlineBlob(b"scan-0001", "image/png")
    checkpoint, batch_zlib = make_batch_plaintext(
        chain,
        signing_key=station,
        recipient_key_id=ingest.key_id,
        bundle_version=0,
        hlc=chain[-1].hlc,
        wall_ms=T0 + 600_000,
        blobs=[blob],
    )
    files["checkpoint.sig"] = checkpoint.raw
    files["batch.container"] = encode_container(checkpoint, chain, [blob])
    batch_zlib = (stored_zlib or {}).get("batch.zlib", batch_zlib)
    files["batch.zlib"] = batch_zlib
    files["batch.age"] = _deterministic_seal(batch_zlib, [ingest.public_raw, escrow.public_raw], "batch")

    ack = make_ack(
        network=NETWORK,
        station_id=STATION,
        version=1,
        central_time_ms=T0 + 700_000,
        epochs=[
            EpochAck(
                1, 4, chain[-1].event_id, not_applied=(NotAppliedNote(3, chain[2].event_id, "conflict-0001"),)
            )
        ],
        central_key=central,
    )
    files["ack.sig"] = ack.raw

    root = make_root(
        network=NETWORK,
        version=1,
        root_keys=[root_key.public_raw],
        central_keys=[central.public_raw],
        issued_ms=T0,
        signing_key=root_key,
    )
    files["root-1.sig"] = root.raw

    files["enrollment-request.sig"] = make_enrollment_request(
        network=NETWORK,
        station_id=STATION,
        signing_key=station,
        box_public=station_box.public_raw,
        code=ENROLLMENT_CODE,
        wall_ms=T0 - 60_000,
    )
    certificate = issue_certificate(
        network=NETWORK,
        station_id=STATION,
        level="village",
        parent=PARENT,
        sign_public=station.public_raw,
        box_public=station_box.public_raw,
        epoch=1,
        serial=1,
        issued_ms=T0 - 30_000,
        central_key=central,
    )
    files["certificate.sig"] = certificate.raw
    registry = build_registry(
        network=NETWORK,
        version=1,
        issued_ms=T0,
        central_key=central,
        stations=[
            StationEntry(
                STATION, "village", PARENT, (StationKey(station.public_raw, station_box.public_raw),)
            ),
        ],
    )
    files["registry.sig"] = registry.raw

    manifest, bundle_zlib = make_bundle_plaintext(
        network=NETWORK,
        station_id=STATION,
        version=1,
        prev_bundle_id=ZERO_ID,
        snapshot=True,
        issued_ms=T0,
        expires_ms=T0 + 30 * 86_400_000,
        central_time_ms=T0 + 800_000,
        central_key=central,
        parts=[BundlePart("acks", 1, ack.raw), BundlePart("registry", 1, registry.raw)],
        roots=[root.raw],
    )
    files["bundle-manifest.sig"] = manifest.raw
    files["bundle.container"] = zlib.decompress(bundle_zlib)
    bundle_zlib = (stored_zlib or {}).get("bundle.zlib", bundle_zlib)
    files["bundle.zlib"] = bundle_zlib
    files["bundle.age"] = _deterministic_seal(bundle_zlib, [station_box.public_raw], "bundle")

    # Added after v1 shipped (new kinds of object, new files; the files above are unchanged).
    files["epoch-authorization.sig"] = issue_epoch_authorization(
        network=NETWORK,
        station_id=STATION,
        epoch=2,
        reason="restore",
        previous_head=(1, 4, chain[-1].event_id),
        issued_ms=T0 + 900_000,
        central_key=central,
    ).raw
    files["central-event.sig"] = build_resolution(
        network=NETWORK,
        conflict="conflict-0001",
        conflict_class="concurrent_field_edits",
        events=[chain[2].event_id, chain[3].event_id],
        outcome="merged",
        winner="",
        value={"field": "phone", "new": "13900000000"},
        aggregate_kind="case",
        aggregate_id=chain[1].aggregate_id,
        issued_ms=T0 + 950_000,
        central_key=central,
    ).raw
    return files


def stored_zlib_payloads(folder: Path = OUT) -> dict[str, bytes]:
    return {
        name: (folder / name).read_bytes()
        for name in ("batch.zlib", "bundle.zlib")
        if (folder / name).exists()
    }


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, data in build(stored_zlib_payloads()).items():
        (OUT / name).write_bytes(data)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
