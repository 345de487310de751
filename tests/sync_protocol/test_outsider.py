"""An implementation written from docs/PROTOCOL.md alone — hashlib, json, zlib, raw Ed25519 and the stock `age`
tool, no sync_protocol builder — produces a batch that central's code accepts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync_protocol.batch import open_batch
from sync_protocol.ingest import KeyStatus, Outcome, StationHistory, decide
from sync_protocol.layout import parse_batch_file_name

from .support import CENTRAL_BOX, ESCROW_BOX, seed

NET, ST = "outsider-net", "st-530102001"
EVENT_TAG = b"yiciban/v1/event\x00"
CHECKPOINT_TAG = b"yiciban/v1/checkpoint\x00"


def canon(obj) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def outsider_batch(signing: Ed25519PrivateKey, count: int) -> tuple[str, bytes, bytes]:
    bodies, prev = [], "0" * 64
    for seq in range(1, count + 1):
        event = {
            "v": 1,
            "net": NET,
            "st": ST,
            "ep": 1,
            "seq": seq,
            "prev": prev,
            "hlc": f"{1767225600000 + seq:013d}-00000",
            "wall": 1767225600000 + seq,
            "actor": "李四" if seq > 1 else "system",
            "ik": f"op-{seq}",
            "bv": 0,
            "bo": "",
            "cat": 3,
            "att": [],
        }
        if seq == 1:
            event |= {
                "t": "epoch.open",
                "sv": 1,
                "ak": "station",
                "aid": ST,
                "p": {"reason": "install", "prev_epoch": 0, "prev_seq": 0},
            }
        else:
            event |= {
                "t": "case.note_added",
                "sv": 1,
                "ak": "case",
                "aid": f"019b7650-5800-7a00-8000-{seq:012d}",
                "p": {"note": "材料齐全\n已核验"},
            }
        body = canon(event)
        bodies.append(body)
        prev = hashlib.sha256(EVENT_TAG + body).hexdigest()
    section = b"".join(b + b"\n" for b in bodies)
    public = signing.public_key().public_bytes_raw()
    checkpoint_body = canon(
        {
            "v": 1,
            "net": NET,
            "st": ST,
            "kid": hashlib.sha256(public).hexdigest(),
            "ep": 1,
            "from": 1,
            "to": count,
            "prev": "0" * 64,
            "head": prev,
            "evh": hashlib.sha256(section).hexdigest(),
            "blobs": [],
            "rcpt": hashlib.sha256(CENTRAL_BOX.public_raw).hexdigest(),
            "bv": 0,
            "hlc": f"{1767225600000 + count:013d}-00001",
            "wall": 1767225600999,
        }
    )
    signature = signing.sign(CHECKPOINT_TAG + checkpoint_body)
    checkpoint = b"yiciban-signed/v1 checkpoint " + signature.hex().encode() + b"\n" + checkpoint_body
    container = (
        b"yiciban-batch/v1\n"
        + b"checkpoint %d\n" % len(checkpoint)
        + checkpoint
        + b"\n"
        + b"events %d %d\n" % (count, len(section))
        + section
        + b"\n"
        + b"end\n"
    )
    sealed = subprocess.run(
        ["age", "-r", CENTRAL_BOX.recipient, "-r", ESCROW_BOX.recipient],
        input=zlib.compress(container, 6),
        capture_output=True,
        check=True,
    ).stdout
    name = f"batch-{ST}-e1-{1:09d}-{count:09d}-{hashlib.sha256(sealed).hexdigest()[:16]}.age"
    return name, sealed, public


@pytest.mark.skipif(shutil.which("age") is None, reason="the age tool (Debian package age) is not installed")
def test_batch_built_from_the_spec_alone_is_accepted_by_central():
    signing = Ed25519PrivateKey.from_private_bytes(seed("outsider"))
    name, sealed, public = outsider_batch(signing, 5)
    parse_batch_file_name(name)
    opened = open_batch(sealed, [CENTRAL_BOX.private_raw], network=NET, public_key_for=lambda st, kid: public)
    assert [e.seq for e in opened.events] == [1, 2, 3, 4, 5]
    assert opened.events[1].payload == {"note": "材料齐全\n已核验"}
    result = decide(opened.events, StationHistory(ST), key=KeyStatus(True))
    assert [d.outcome for d in result.decisions] == [Outcome.OPEN_EPOCH] + [Outcome.ACCEPT] * 4


def test_an_outsider_reproduces_the_epoch_authorization_vector_from_section_12_5():
    """§5 envelope + §12.5 body, from keys.json alone: byte-identical to the vector (Ed25519 is deterministic)."""
    from pathlib import Path

    vectors = Path(__file__).resolve().parents[1] / "vectors" / "protocol"
    keys = json.loads((vectors / "keys.json").read_text())
    central = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(keys["signing_keys"]["central"]["seed"]))
    fourth = (vectors / "event-ids.txt").read_text().split()[3]
    body = canon(
        {
            "v": 1,
            "net": keys["network"],
            "st": keys["station"],
            "ep": 2,
            "reason": "restore",
            "prev_ep": 1,
            "prev_seq": 4,
            "prev": fourth,
            "issued": 1767225600000 + 900_000,
            "kid": keys["signing_keys"]["central"]["key_id"],
        }
    )
    signature = central.sign(b"yiciban/v1/epoch-authorization\x00" + body)
    envelope = b"yiciban-signed/v1 epoch_authorization " + signature.hex().encode() + b"\n" + body
    assert envelope == (vectors / "epoch-authorization.sig").read_bytes()
