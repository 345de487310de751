"""Batches (批次): a contiguous run of one station's log, its signed checkpoint and small blobs, compressed and
sealed.

Plaintext container, before zlib compression (docs/PROTOCOL.md §Batch container)::

    yiciban-batch/v1\\n
    checkpoint <n>\\n<n bytes: signed checkpoint>\\n
    events <count> <n>\\n<n bytes: each event body followed by \\n>\\n
    blob <sha256> <n>\\n<n bytes>\\n          (zero or more, ascending sha256)
    end\\n

The sealed file is ``age(zlib(container))`` to central's ingest key and the escrow key.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .checkpoint import Checkpoint, parse_checkpoint, sign_checkpoint, verify_checkpoint
from .errors import (
    ChainError,
    DigestMismatchError,
    ForkError,
    GapError,
    MalformedError,
    SizeLimitError,
    WrongRecipientError,
)
from .events import (
    KEY_ROTATE,
    AttachmentRef,
    Event,
    MalformedEvent,
    compute_event_id,
    parse_event,
    verify_chain,
)
from .framing import LENGTH, SectionReader, inflate
from .hlc import HLC
from .keys import SigningKey, box_public_from_private, key_id
from .layout import MAX_FILE_SIZE, batch_file_name

MAGIC = b"yiciban-batch/v1\n"
MAX_BATCH_EVENTS = 1000
MAX_BATCH_BYTES = 4 * 1024 * 1024
"""Cap on event bodies plus inline blobs in one batch."""
MAX_INLINE_BLOB = 256 * 1024
"""Larger blobs travel as their own sealed files (blobs.py)."""
MAX_CONTAINER = MAX_BATCH_BYTES + 256 * 1024
COMPRESSION_LEVEL = 9

_CHECKPOINT = re.compile(rb"checkpoint " + LENGTH)
_EVENTS = re.compile(rb"events " + LENGTH + rb" " + LENGTH)
_BLOB_OR_END = re.compile(rb"blob ([0-9a-f]{64}) " + LENGTH + rb"|end")

PublicKeyLookup = Callable[[str, str], bytes]
"""(station id, key id) -> raw Ed25519 public key; raises UnknownKeyError when not enrolled."""


@dataclass(frozen=True)
class InlineBlob:
    """A small attachment carried inside the batch."""

    data: bytes
    media_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def ref(self) -> AttachmentRef:
        return AttachmentRef(self.sha256, len(self.data), self.media_type)


@dataclass(frozen=True)
class BatchFile:
    """A sealed batch ready for a carrier: its file name and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class OpenedBatch:
    """A batch whose signature, network, recipient, events digest and chain all verified.

    ``events`` are the bodies that parsed; ``malformed`` the ones that did not (each rejected on its own, kept as
    evidence). Together they are the checkpoint's whole seq range.
    """

    checkpoint: Checkpoint
    events: tuple[Event, ...]
    blobs: tuple[InlineBlob, ...]
    malformed: tuple[MalformedEvent, ...] = ()

    @property
    def items(self) -> tuple[Event | MalformedEvent, ...]:
        """Every event of the batch, parsed or malformed, in seq order (what ``ingest.decide_batch`` decides)."""
        return tuple(sorted((*self.events, *self.malformed), key=lambda item: item.seq))


def _check_run(events: Sequence[Event]) -> None:
    if not events:
        raise MalformedError("a batch carries at least one event")
    if len(events) > MAX_BATCH_EVENTS:
        raise SizeLimitError(f"more than {MAX_BATCH_EVENTS} events in one batch")
    verify_chain(events, events[0].prev)
    for event in events[:-1]:
        if event.type == KEY_ROTATE:
            raise ChainError("a key.rotate event must end its batch (the old key signs it)")


def encode_container(checkpoint: Checkpoint, events: Sequence[Event], blobs: Sequence[InlineBlob]) -> bytes:
    """The plaintext container (uncompressed)."""
    section = b"".join(e.body + b"\n" for e in events)
    parts = [
        MAGIC,
        b"checkpoint %d\n" % len(checkpoint.raw),
        checkpoint.raw,
        b"\n",
        b"events %d %d\n" % (len(events), len(section)),
        section,
        b"\n",
    ]
    for blob in sorted(blobs, key=lambda b: b.sha256):
        parts += [b"blob %s %d\n" % (blob.sha256.encode(), len(blob.data)), blob.data, b"\n"]
    parts.append(b"end\n")
    return b"".join(parts)


def make_batch_plaintext(
    events: Sequence[Event],
    *,
    signing_key: SigningKey,
    recipient_key_id: str,
    bundle_version: int,
    hlc: HLC | str,
    wall_ms: int,
    blobs: Sequence[InlineBlob] = (),
) -> tuple[Checkpoint, bytes]:
    """Sign a checkpoint over ``events`` and return it with ``zlib(container)`` (what gets sealed).

    Raises:
        MalformedError, SizeLimitError, ChainError: the events are not one valid run, or too big.
    """
    _check_run(events)
    for blob in blobs:
        if len(blob.data) > MAX_INLINE_BLOB:
            raise SizeLimitError(
                f"blob {blob.sha256} is larger than {MAX_INLINE_BLOB}: send it as its own file"
            )
    size = sum(len(e.body) for e in events) + sum(len(b.data) for b in blobs)
    if size > MAX_BATCH_BYTES:
        raise SizeLimitError(f"batch content {size} bytes exceeds {MAX_BATCH_BYTES}")
    section = b"".join(e.body + b"\n" for e in events)
    first, last = events[0], events[-1]
    checkpoint = sign_checkpoint(
        network=first.network,
        station_id=first.station_id,
        signing_key=signing_key,
        epoch=first.epoch,
        first_seq=first.seq,
        last_seq=last.seq,
        prev=first.prev,
        head=last.event_id,
        events_sha256=hashlib.sha256(section).hexdigest(),
        recipient_key_id=recipient_key_id,
        bundle_version=bundle_version,
        hlc=hlc,
        wall_ms=wall_ms,
        blobs=[b.ref for b in blobs],
    )
    return checkpoint, zlib.compress(encode_container(checkpoint, events, blobs), COMPRESSION_LEVEL)


def build_batch(
    events: Sequence[Event],
    *,
    network: str,
    station_id: str,
    signing_key: SigningKey,
    recipient_keys: Sequence[bytes],
    bundle_version: int,
    hlc: HLC | str,
    wall_ms: int,
    blobs: Sequence[InlineBlob] = (),
) -> BatchFile:
    """Build, sign, compress and seal one batch.

    ``recipient_keys`` are raw X25519 public keys: central's ingest key FIRST (the checkpoint names it as the
    intended recipient), then the escrow key(s).

    Raises:
        MalformedError, SizeLimitError, ChainError: the events are not one valid run of this station.
    """
    from .seal import seal

    if not recipient_keys:
        raise ValueError("a batch needs at least central's ingest key as recipient")
    if any((e.network, e.station_id) != (network, station_id) for e in events):
        raise MalformedError("every event of a batch belongs to this network and station")
    checkpoint, plaintext = make_batch_plaintext(
        events,
        signing_key=signing_key,
        recipient_key_id=key_id(recipient_keys[0]),
        bundle_version=bundle_version,
        hlc=hlc,
        wall_ms=wall_ms,
        blobs=blobs,
    )
    sealed = seal(plaintext, recipient_keys)
    name = batch_file_name(station_id, checkpoint.epoch, checkpoint.first_seq, checkpoint.last_seq, sealed)
    return BatchFile(name, sealed)


def decode_container(data: bytes) -> tuple[Checkpoint, list[bytes], list[tuple[str, bytes]]]:
    """Split a plaintext container into the checkpoint, event bodies and (sha256, blob bytes); checks framing,
    not signatures.

    Raises:
        MalformedError: (or a subclass) bad framing or an unparsable checkpoint.
    """
    reader = SectionReader(data, MAGIC)
    checkpoint = parse_checkpoint(reader.take(int(reader.header(_CHECKPOINT).group(1))))
    count, length = (int(n) for n in reader.header(_EVENTS).groups())
    section = reader.take(length)
    if hashlib.sha256(section).hexdigest() != checkpoint.events_sha256:
        raise DigestMismatchError("events section does not match the checkpoint's digest")
    bodies = section.split(b"\n")
    if bodies.pop() != b"" or len(bodies) != count or b"" in bodies:
        raise MalformedError("events section must be exactly <count> lines, each ending in a newline")
    blobs: list[tuple[str, bytes]] = []
    while (match := reader.header(_BLOB_OR_END)).group(1) is not None:
        digest = match.group(1).decode()
        if blobs and digest <= blobs[-1][0]:
            raise MalformedError("blob sections must be in ascending sha256 order without repeats")
        blobs.append((digest, reader.take(int(match.group(2)))))
    reader.finish()
    return checkpoint, bodies, blobs


def _open_events(
    checkpoint: Checkpoint, bodies: Sequence[bytes], network: str
) -> tuple[tuple[Event, ...], tuple[MalformedEvent, ...]]:
    """Parse every body on its own and check the chain over the ids of ALL bodies (an id is the hash of the raw
    bytes, so a malformed event still links its neighbours). A body that fails ``parse_event`` becomes a
    ``MalformedEvent`` at its checkpoint position; a body that parses must sit exactly where the checkpoint puts
    it and link to its predecessor, or the whole batch is refused."""
    ids = [compute_event_id(body) for body in bodies]
    if ids[-1] != checkpoint.head:
        raise DigestMismatchError("chain head differs from the checkpoint's head")
    events: list[Event] = []
    malformed: list[MalformedEvent] = []
    expected_prev = checkpoint.prev
    last = len(bodies) - 1
    for index, (body, event_id) in enumerate(zip(bodies, ids, strict=True)):
        seq = checkpoint.first_seq + index
        try:
            event = parse_event(body)
        except MalformedError as error:
            malformed.append(
                MalformedEvent(body, event_id, checkpoint.epoch, seq, error.reason, error.message)
            )
            expected_prev = event_id
            continue
        if (event.network, event.station_id, event.epoch) != (
            network,
            checkpoint.station_id,
            checkpoint.epoch,
        ):
            raise MalformedError("an event does not belong to the checkpoint's station and epoch")
        if event.seq != seq:
            if index == 0:
                raise DigestMismatchError("first event is not the checkpoint's first seq")
            if event.seq > seq:
                raise GapError(f"seq {seq}..{event.seq - 1} missing", first_missing=seq)
            raise ForkError(f"two events claim seq {event.seq}", seq=event.seq)
        if event.prev != expected_prev:
            raise ForkError(f"prev of seq {seq} is not the id of its predecessor", seq=seq)
        if event.type == KEY_ROTATE and index != last:
            raise ChainError("a key.rotate event must end its batch")
        events.append(event)
        expected_prev = event_id
    return tuple(events), tuple(malformed)


def read_batch_plaintext(
    plaintext: bytes,
    *,
    network: str,
    public_key_for: PublicKeyLookup,
    recipient_key_ids: Iterable[str],
) -> OpenedBatch:
    """Verify a decrypted batch: signature (key looked up by station and key id), network, recipient,
    events digest, every event, chain continuity inside the batch, and the blobs the checkpoint lists.

    An event body that does not parse is NOT a batch failure: it comes back in ``OpenedBatch.malformed`` (with
    its raw bytes and reason) while the chain is still checked over every body's id.

    Raises:
        UnknownKeyError: ``public_key_for`` does not know the station or key (quarantine ``unknown_key``).
        SignatureError, WrongNetworkError, WrongRecipientError: security failures; keep the file as evidence.
        MalformedError (and subclasses), ChainError (and subclasses): the batch is not well formed.
    """
    checkpoint, bodies, blob_sections = decode_container(inflate(plaintext, MAX_CONTAINER))
    verify_checkpoint(checkpoint, public_key_for(checkpoint.station_id, checkpoint.key_id), network=network)
    if checkpoint.recipient_key_id not in set(recipient_key_ids):
        raise WrongRecipientError("the checkpoint names another recipient")
    if checkpoint.event_count > MAX_BATCH_EVENTS:
        raise SizeLimitError(f"more than {MAX_BATCH_EVENTS} events in one batch")
    if len(bodies) != checkpoint.event_count:
        raise DigestMismatchError("event count differs from the checkpoint's seq range")
    events, malformed = _open_events(checkpoint, bodies, network)
    listed = {b.sha256: b for b in checkpoint.blobs}
    if sorted(listed) != [digest for digest, _ in blob_sections]:
        raise DigestMismatchError("blob sections differ from the checkpoint's blob list")
    blobs = []
    for digest, data in blob_sections:
        if len(data) > MAX_INLINE_BLOB:
            raise SizeLimitError(f"inline blob {digest} is larger than {MAX_INLINE_BLOB} bytes")
        if hashlib.sha256(data).hexdigest() != digest or len(data) != listed[digest].size:
            raise DigestMismatchError(f"blob {digest} does not match its digest or size")
        blobs.append(InlineBlob(data, listed[digest].media_type))
    return OpenedBatch(checkpoint, events, tuple(blobs), malformed)


def open_batch(
    data: bytes,
    identities: Sequence[bytes],
    *,
    network: str,
    public_key_for: PublicKeyLookup,
) -> OpenedBatch:
    """Decrypt a sealed batch with our raw X25519 private key(s) and verify it (see ``read_batch_plaintext``).

    The recipient check accepts a checkpoint naming any of ``identities``' public keys.

    Raises:
        SizeLimitError: over 64 MiB.
        SealError (and subclasses): the age file does not open.
        everything ``read_batch_plaintext`` raises.
    """
    from .seal import open_sealed

    if len(data) > MAX_FILE_SIZE:
        raise SizeLimitError(f"sealed file larger than {MAX_FILE_SIZE} bytes")
    plaintext = open_sealed(data, identities)
    recipients = [key_id(box_public_from_private(i)) for i in identities]
    return read_batch_plaintext(
        plaintext, network=network, public_key_for=public_key_for, recipient_key_ids=recipients
    )


def split_into_batches(
    events: Sequence[Event], *, max_events: int = MAX_BATCH_EVENTS, max_bytes: int = MAX_BATCH_BYTES
) -> list[list[Event]]:
    """Cut a contiguous run into batch-sized runs; a ``key.rotate`` event always ends its run."""
    runs: list[list[Event]] = []
    current: list[Event] = []
    size = 0
    for event in events:
        if current and (len(current) >= max_events or size + len(event.body) > max_bytes):
            runs.append(current)
            current, size = [], 0
        current.append(event)
        size += len(event.body)
        if event.type == KEY_ROTATE:
            runs.append(current)
            current, size = [], 0
    if current:
        runs.append(current)
    return runs
