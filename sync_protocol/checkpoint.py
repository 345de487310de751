"""Signed checkpoints (签名检查点): the one signature a batch carries, over its manifest.

Events are authenticated by the hash chain; the checkpoint signs the chain's end points and the sha256 of the
events section, so one Ed25519 signature covers up to 1,000 events (see SYNC-DESIGN §4 for the measured reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import PROTOCOL_VERSION, schema
from .canonical import canonical_bytes
from .errors import MalformedError, SignatureError, WrongNetworkError
from .events import MAX_ATTACHMENTS, AttachmentRef, parse_attachment_ref
from .hlc import HLC
from .keys import SigningKey, key_id
from .signed import SignedObject, parse_signed, sign_object

KIND = "checkpoint"
MAX_CHECKPOINT = 64 * 1024
MAX_BLOBS = MAX_ATTACHMENTS * 16
_FIELDS = frozenset(
    {"v", "net", "st", "kid", "ep", "from", "to", "prev", "head", "evh", "blobs", "rcpt", "bv", "hlc", "wall"}
)


@dataclass(frozen=True)
class Checkpoint:
    """A signed batch manifest as received; ``raw`` is the exact envelope to keep as evidence."""

    raw: bytes
    body: bytes
    signature: bytes
    network: str
    station_id: str
    key_id: str
    epoch: int
    first_seq: int
    last_seq: int
    prev: str
    head: str
    events_sha256: str
    blobs: tuple[AttachmentRef, ...]
    recipient_key_id: str
    bundle_version: int
    hlc: str
    wall_ms: int

    def _signed(self) -> SignedObject:
        return SignedObject(KIND, self.signature, self.body, {}, self.raw)

    @property
    def event_count(self) -> int:
        return self.last_seq - self.first_seq + 1


def _from_signed(signed: SignedObject) -> Checkpoint:
    obj = signed.fields
    schema.exact_keys(obj, _FIELDS, "checkpoint")
    schema.integer(obj, "v", minimum=1, maximum=1)
    first_seq = schema.integer(obj, "from", minimum=1)
    last_seq = schema.integer(obj, "to", minimum=1)
    if last_seq < first_seq:
        raise MalformedError("checkpoint range is empty")
    HLC.from_string(schema.string(obj, "hlc", max_length=19))
    blobs = tuple(parse_attachment_ref(b) for b in schema.array(obj, "blobs", max_items=MAX_BLOBS))
    if [b.sha256 for b in blobs] != sorted({b.sha256 for b in blobs}):
        raise MalformedError("checkpoint blobs must be in ascending sha256 order without repeats")
    return Checkpoint(
        raw=signed.raw,
        body=signed.body,
        signature=signed.signature,
        network=schema.name(obj, "net"),
        station_id=schema.name(obj, "st"),
        key_id=schema.hex_id(obj, "kid"),
        epoch=schema.integer(obj, "ep", minimum=1),
        first_seq=first_seq,
        last_seq=last_seq,
        prev=schema.hex_id(obj, "prev"),
        head=schema.hex_id(obj, "head"),
        events_sha256=schema.hex_id(obj, "evh"),
        blobs=blobs,
        recipient_key_id=schema.hex_id(obj, "rcpt"),
        bundle_version=schema.integer(obj, "bv"),
        hlc=obj["hlc"],
        wall_ms=schema.integer(obj, "wall"),
    )


def sign_checkpoint(
    *,
    network: str,
    station_id: str,
    signing_key: SigningKey,
    epoch: int,
    first_seq: int,
    last_seq: int,
    prev: str,
    head: str,
    events_sha256: str,
    recipient_key_id: str,
    bundle_version: int,
    hlc: HLC | str,
    wall_ms: int,
    blobs: Sequence[AttachmentRef] = (),
) -> Checkpoint:
    """Sign a checkpoint with the station's key.

    Raises:
        MalformedError: a field violates the schema.
    """
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "st": station_id,
            "kid": signing_key.key_id,
            "ep": epoch,
            "from": first_seq,
            "to": last_seq,
            "prev": prev,
            "head": head,
            "evh": events_sha256,
            "blobs": [b.to_dict() for b in sorted(blobs, key=lambda b: b.sha256)],
            "rcpt": recipient_key_id,
            "bv": bundle_version,
            "hlc": hlc.to_string() if isinstance(hlc, HLC) else hlc,
            "wall": wall_ms,
        }
    )
    return parse_checkpoint(sign_object(KIND, body, signing_key))


def parse_checkpoint(data: bytes) -> Checkpoint:
    """Parse a signed checkpoint envelope WITHOUT checking the signature (see ``verify_checkpoint``).

    Raises:
        MalformedError: (or a subclass) anything that is not a well-formed checkpoint.
    """
    return _from_signed(parse_signed(data, KIND, max_size=MAX_CHECKPOINT))


def verify_checkpoint(checkpoint: Checkpoint | bytes, public_raw: bytes, *, network: str) -> Checkpoint:
    """Parse (if needed) and verify a checkpoint against the station key it names.

    Raises:
        MalformedError: not a well-formed checkpoint.
        SignatureError: ``public_raw`` is not the named key, or the signature does not verify.
        WrongNetworkError: signed for another deployment.
    """
    cp = parse_checkpoint(checkpoint) if isinstance(checkpoint, bytes) else checkpoint
    if key_id(public_raw) != cp.key_id:
        raise SignatureError("checkpoint names a different signing key")
    cp._signed().verify(public_raw)
    if cp.network != network:
        raise WrongNetworkError(f"checkpoint is for network {cp.network!r}, not {network!r}")
    return cp


def is_fork_proof(a: Checkpoint, b: Checkpoint) -> bool:
    """True when two (verified) checkpoints of one station disagree about the event at one (epoch, seq)."""
    if (a.network, a.station_id, a.epoch) != (b.network, b.station_id, b.epoch):
        return False
    if a.last_seq == b.last_seq and a.head != b.head:
        return True
    if a.first_seq == b.first_seq and a.prev != b.prev:
        return True
    if a.first_seq == b.last_seq + 1 and a.prev != b.head:
        return True
    return b.first_seq == a.last_seq + 1 and b.prev != a.head
