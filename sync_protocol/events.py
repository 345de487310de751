"""The event envelope (事件) and the per-station hash chain with epochs.

An event is the canonical JSON object described in docs/PROTOCOL.md §Events; its id is
``sha256(tags.EVENT_ID || body)``. Within one (station, epoch) seq starts at 1 and is contiguous and each event's
``prev`` is its predecessor's id; seq 1 is always an ``epoch.open`` event whose ``prev`` is the previous epoch's
head (or ``ZERO_ID``). Besides domain events the protocol defines three types of its own: ``epoch.open``,
``rehome`` (fork recovery) and ``key.rotate``.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import PROTOCOL_VERSION, schema, tags
from .canonical import canonical_bytes, parse_canonical
from .errors import ChainError, ForkError, GapError, MalformedError, SizeLimitError
from .hlc import HLC
from .schema import ZERO_ID

MAX_EVENT_BODY = 64 * 1024
MAX_ATTACHMENTS = 64
EPOCH_OPEN = "epoch.open"
REHOME = "rehome"
KEY_ROTATE = "key.rotate"
PROTOCOL_TYPES = frozenset({EPOCH_OPEN, REHOME, KEY_ROTATE})
STATION_AGGREGATE = "station"
"""Aggregate kind of the protocol's own events; their aggregate id is the station id."""
EPOCH_REASONS = frozenset({"install", "restore", "re_enroll", "fork_recovery"})

_FIELDS = frozenset(
    {
        "v",
        "net",
        "st",
        "ep",
        "seq",
        "prev",
        "hlc",
        "wall",
        "actor",
        "ik",
        "t",
        "sv",
        "ak",
        "aid",
        "bv",
        "bo",
        "cat",
        "p",
        "att",
    }
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_AGGREGATE_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
_ATTACHMENT_FIELDS = frozenset({"sha256", "size", "mt"})
MAX_ATTACHMENT_SIZE = 2**40


@dataclass(frozen=True)
class AttachmentRef:
    """A reference to a blob: never the bytes themselves."""

    sha256: str
    size: int
    media_type: str

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size, "mt": self.media_type}


@dataclass(frozen=True)
class Event:
    """A parsed event; ``body`` is the exact bytes that were hashed and are to be stored."""

    body: bytes
    event_id: str
    version: int
    network: str
    station_id: str
    epoch: int
    seq: int
    prev: str
    hlc: str
    wall_ms: int
    actor: str
    idempotency_key: str
    type: str
    schema_version: int
    aggregate_kind: str
    aggregate_id: str
    base_version: int
    base_own_event: str
    catalog_version: int
    payload: dict[str, Any]
    attachments: tuple[AttachmentRef, ...]

    def __hash__(self) -> int:
        return hash(self.event_id)

    @property
    def position(self) -> tuple[int, int]:
        """(epoch, seq) in the station's log."""
        return (self.epoch, self.seq)

    @property
    def rehomed_from(self) -> tuple[int, int, str] | None:
        """For a ``rehome`` event, the original's (epoch, seq, id)."""
        if self.type != REHOME:
            return None
        return (self.payload["of_ep"], self.payload["of_seq"], self.payload["of"])

    @property
    def effective_type(self) -> str:
        """The domain type this event carries (a rehome carries its original's)."""
        return str(self.payload["t"]) if self.type == REHOME else self.type

    @property
    def effective_schema_version(self) -> int:
        return int(self.payload["sv"]) if self.type == REHOME else self.schema_version

    @property
    def effective_payload(self) -> dict[str, Any]:
        return dict(self.payload["p"]) if self.type == REHOME else self.payload

    @property
    def effective_hlc(self) -> str:
        """The clock the user acted at (a rehome keeps its original's)."""
        return str(self.payload["hlc"]) if self.type == REHOME else self.hlc

    @property
    def effective_position(self) -> tuple[int, int]:
        """Where the user's action sits in the station's causal history (a rehome: the original's place)."""
        origin = self.rehomed_from
        return (origin[0], origin[1]) if origin else self.position


@dataclass(frozen=True)
class MalformedEvent:
    """An event body inside a verified batch that fails ``parse_event`` (不合格事件): rejected as malformed and
    kept as evidence, never applied. Its id is still the hash of its exact bytes, so the chain is checked over
    it; its place comes from the signed checkpoint (first seq + index), not from the unparsable body."""

    body: bytes
    event_id: str
    epoch: int
    seq: int
    reason: str
    """The ``ProtocolError`` reason code: ``malformed``, ``non_canonical`` or ``size_limit``."""
    message: str

    @property
    def position(self) -> tuple[int, int]:
        return (self.epoch, self.seq)


def compute_event_id(body: bytes) -> str:
    """``sha256(tags.EVENT_ID || body)`` in lower-case hex."""
    return hashlib.sha256(tags.EVENT_ID + body).hexdigest()


def new_uuid7(unix_ms: int | None = None, random_bytes: bytes | None = None) -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits; sorts by creation time."""
    ms = int(time.time() * 1000) if unix_ms is None else unix_ms
    rand = os.urandom(10) if random_bytes is None else random_bytes
    if len(rand) != 10 or not 0 <= ms < 2**48:
        raise ValueError("uuid7 needs 0 <= unix_ms < 2**48 and 10 random bytes")
    value = bytearray(ms.to_bytes(6, "big") + rand)
    value[6] = 0x70 | (value[6] & 0x0F)
    value[8] = 0x80 | (value[8] & 0x3F)
    h = value.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def parse_attachment_ref(item: Any) -> AttachmentRef:
    """Validate one ``{"mt", "sha256", "size"}`` reference."""
    obj = schema.require_object(item, "attachment")
    schema.exact_keys(obj, _ATTACHMENT_FIELDS, "attachment")
    return AttachmentRef(
        schema.hex_id(obj, "sha256"),
        schema.integer(obj, "size", maximum=MAX_ATTACHMENT_SIZE),
        schema.string(obj, "mt", max_length=128, pattern=_MEDIA_TYPE),
    )


def _check_protocol_payload(obj: Mapping[str, Any], seq: int) -> None:
    kind = obj["t"]
    payload = obj["p"]
    if kind == EPOCH_OPEN:
        schema.exact_keys(payload, {"reason", "prev_epoch", "prev_seq"}, "epoch.open payload")
        reason = schema.string(payload, "reason", max_length=32)
        if reason not in EPOCH_REASONS:
            raise MalformedError(f"unknown epoch.open reason {reason!r}")
        prev_epoch = schema.integer(payload, "prev_epoch")
        prev_seq = schema.integer(payload, "prev_seq")
        if seq != 1:
            raise MalformedError("epoch.open must be seq 1")
        if prev_epoch >= obj["ep"]:
            raise MalformedError("epoch.open must link to an earlier epoch")
        if (prev_epoch == 0) != (obj["prev"] == ZERO_ID) or (prev_epoch == 0) != (prev_seq == 0):
            raise MalformedError("epoch.open links to zeros exactly when there is no previous epoch")
    elif kind == REHOME:
        schema.exact_keys(payload, {"of", "of_ep", "of_seq", "hlc", "t", "sv", "p"}, "rehome payload")
        schema.hex_id(payload, "of")
        schema.integer(payload, "of_ep", minimum=1)
        schema.integer(payload, "of_seq", minimum=1)
        HLC.from_string(schema.string(payload, "hlc", max_length=19))
        original_type = schema.string(payload, "t", max_length=64, pattern=schema.TYPE_NAME)
        if original_type in PROTOCOL_TYPES:
            raise MalformedError("only domain events can be rehomed")
        schema.integer(payload, "sv", minimum=1)
        schema.require_object(payload["p"], "rehome original payload")
        if payload["of_ep"] >= obj["ep"]:
            raise MalformedError("a rehome re-issues an event of an earlier epoch")
    elif kind == KEY_ROTATE:
        schema.exact_keys(payload, {"sign_pub", "box_pub", "from_seq"}, "key.rotate payload")
        schema.hex_bytes(payload, "sign_pub", 32)
        schema.hex_bytes(payload, "box_pub", 32)
        if schema.integer(payload, "from_seq", minimum=1) != seq + 1:
            raise MalformedError("key.rotate switches keys at the very next seq")
    if kind in (EPOCH_OPEN, KEY_ROTATE) and (obj["ak"] != STATION_AGGREGATE or obj["aid"] != obj["st"]):
        raise MalformedError(f"{kind} belongs to the station aggregate")
    if kind != EPOCH_OPEN and seq == 1:
        raise MalformedError("seq 1 of every epoch is an epoch.open event")


def parse_event(body: bytes) -> Event:
    """Parse and validate one event body.

    Raises:
        SizeLimitError: over MAX_EVENT_BODY.
        NonCanonicalError: not the canonical encoding of itself.
        MalformedError: any schema violation.
    """
    if not isinstance(body, bytes):
        raise MalformedError("expected bytes")
    if len(body) > MAX_EVENT_BODY:
        raise SizeLimitError(f"event body larger than {MAX_EVENT_BODY} bytes")
    obj = schema.require_object(parse_canonical(body), "event")
    schema.exact_keys(obj, _FIELDS, "event")
    version = schema.integer(obj, "v", minimum=1, maximum=1)
    seq = schema.integer(obj, "seq", minimum=1)
    HLC.from_string(schema.string(obj, "hlc", max_length=19))
    own = schema.string(obj, "bo", max_length=64, pattern=schema.HEX64, allow_empty=True)
    payload = schema.require_object(obj["p"], "payload")
    event_type = schema.string(obj, "t", max_length=64, pattern=schema.TYPE_NAME)
    event = Event(
        body=body,
        event_id=compute_event_id(body),
        version=version,
        network=schema.name(obj, "net"),
        station_id=schema.name(obj, "st"),
        epoch=schema.integer(obj, "ep", minimum=1),
        seq=seq,
        prev=schema.hex_id(obj, "prev"),
        hlc=obj["hlc"],
        wall_ms=schema.integer(obj, "wall"),
        actor=schema.string(obj, "actor", max_length=64),
        idempotency_key=schema.string(obj, "ik", max_length=64, pattern=_TOKEN),
        type=event_type,
        schema_version=schema.integer(obj, "sv", minimum=1),
        aggregate_kind=schema.string(obj, "ak", max_length=32, pattern=_AGGREGATE_KIND),
        aggregate_id=schema.string(obj, "aid", max_length=64, pattern=_TOKEN),
        base_version=schema.integer(obj, "bv"),
        base_own_event=own,
        catalog_version=schema.integer(obj, "cat"),
        payload=payload,
        attachments=tuple(
            parse_attachment_ref(a) for a in schema.array(obj, "att", max_items=MAX_ATTACHMENTS)
        ),
    )
    if event_type in PROTOCOL_TYPES:
        schema.integer(obj, "sv", minimum=1, maximum=1)
    _check_protocol_payload(obj, seq)
    return event


def build_event(
    *,
    network: str,
    station_id: str,
    epoch: int,
    seq: int,
    prev: str,
    hlc: HLC | str,
    wall_ms: int,
    actor: str,
    idempotency_key: str,
    type: str,
    schema_version: int,
    aggregate_kind: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    base_version: int = 0,
    base_own_event: str = "",
    catalog_version: int = 0,
    attachments: Sequence[AttachmentRef] = (),
) -> Event:
    """Build the canonical bytes of an event and return it parsed (so a built event is always a valid one).

    Raises:
        MalformedError: a field violates the schema (see docs/PROTOCOL.md §Events).
    """
    obj = {
        "v": PROTOCOL_VERSION,
        "net": network,
        "st": station_id,
        "ep": epoch,
        "seq": seq,
        "prev": prev,
        "hlc": hlc.to_string() if isinstance(hlc, HLC) else hlc,
        "wall": wall_ms,
        "actor": actor,
        "ik": idempotency_key,
        "t": type,
        "sv": schema_version,
        "ak": aggregate_kind,
        "aid": aggregate_id,
        "bv": base_version,
        "bo": base_own_event,
        "cat": catalog_version,
        "p": dict(payload),
        "att": [a.to_dict() for a in attachments],
    }
    return parse_event(canonical_bytes(obj))


def epoch_open_event(
    *,
    network: str,
    station_id: str,
    epoch: int,
    reason: str,
    previous_head: tuple[int, int, str] | None,
    hlc: HLC | str,
    wall_ms: int,
    actor: str,
    catalog_version: int = 0,
) -> Event:
    """Seq 1 of ``epoch``: links to ``previous_head`` = (epoch, seq, event id) of the last epoch, or None."""
    prev_epoch, prev_seq, prev_id = previous_head if previous_head else (0, 0, ZERO_ID)
    return build_event(
        network=network,
        station_id=station_id,
        epoch=epoch,
        seq=1,
        prev=prev_id,
        hlc=hlc,
        wall_ms=wall_ms,
        actor=actor,
        idempotency_key=f"epoch-{epoch}",
        type=EPOCH_OPEN,
        schema_version=1,
        aggregate_kind=STATION_AGGREGATE,
        aggregate_id=station_id,
        payload={"reason": reason, "prev_epoch": prev_epoch, "prev_seq": prev_seq},
        catalog_version=catalog_version,
    )


def key_rotate_event(
    *,
    network: str,
    station_id: str,
    epoch: int,
    seq: int,
    prev: str,
    new_sign_public: bytes,
    new_box_public: bytes,
    hlc: HLC | str,
    wall_ms: int,
    actor: str,
    catalog_version: int = 0,
) -> Event:
    """Announce the station's new keys; checkpoints covering seq+1 onwards are signed by the new key.

    The batch that carries this event must end with it, so the old key signs the announcement.
    """
    return build_event(
        network=network,
        station_id=station_id,
        epoch=epoch,
        seq=seq,
        prev=prev,
        hlc=hlc,
        wall_ms=wall_ms,
        actor=actor,
        idempotency_key=f"key-rotate-{epoch}-{seq}",
        type=KEY_ROTATE,
        schema_version=1,
        aggregate_kind=STATION_AGGREGATE,
        aggregate_id=station_id,
        payload={"sign_pub": new_sign_public.hex(), "box_pub": new_box_public.hex(), "from_seq": seq + 1},
        catalog_version=catalog_version,
    )


def rehome_event(
    original: Event,
    *,
    epoch: int,
    seq: int,
    prev: str,
    hlc: HLC | str,
    wall_ms: int,
    actor: str,
) -> Event:
    """Re-issue a forked event's content in a new epoch, naming the original and keeping its base and clock.

    The idempotency key is the original's, so content central already applied is recognised as a duplicate.
    """
    if original.type == REHOME:
        original_content = original.payload
        origin = {
            "of": original.payload["of"],
            "of_ep": original.payload["of_ep"],
            "of_seq": original.payload["of_seq"],
        }
    else:
        original_content = {
            "hlc": original.hlc,
            "t": original.type,
            "sv": original.schema_version,
            "p": original.payload,
        }
        origin = {"of": original.event_id, "of_ep": original.epoch, "of_seq": original.seq}
    payload = {**origin, **{k: original_content[k] for k in ("hlc", "t", "sv", "p")}}
    return build_event(
        network=original.network,
        station_id=original.station_id,
        epoch=epoch,
        seq=seq,
        prev=prev,
        hlc=hlc,
        wall_ms=wall_ms,
        actor=actor,
        idempotency_key=original.idempotency_key,
        type=REHOME,
        schema_version=1,
        aggregate_kind=original.aggregate_kind,
        aggregate_id=original.aggregate_id,
        payload=payload,
        base_version=original.base_version,
        base_own_event=original.base_own_event,
        catalog_version=original.catalog_version,
        attachments=original.attachments,
    )


def verify_chain(events: Sequence[Event], prev_id: str) -> str:
    """Check that ``events`` are one contiguous run of one (station, epoch) continuing from ``prev_id``.

    Returns the id of the last event (the new head), or ``prev_id`` for an empty run.

    Raises:
        ChainError: mixed station/network/epoch, or the same event twice.
        ForkError: a ``prev`` that is not its predecessor's id, or two different events at one seq.
        GapError: a seq is skipped.
    """
    if not events:
        return prev_id
    first = events[0]
    expected_prev = prev_id
    previous: Event | None = None
    for event in events:
        if (event.network, event.station_id, event.epoch) != (first.network, first.station_id, first.epoch):
            raise ChainError("a chain run must stay within one network, station and epoch")
        if previous is not None:
            if event.seq == previous.seq:
                if event.event_id == previous.event_id:
                    raise ChainError(f"event at seq {event.seq} appears twice")
                raise ForkError(f"two different events at seq {event.seq}", seq=event.seq)
            if event.seq != previous.seq + 1:
                raise GapError(
                    f"seq {previous.seq + 1}..{event.seq - 1} missing", first_missing=previous.seq + 1
                )
        if event.prev != expected_prev:
            raise ForkError(f"prev of seq {event.seq} is not the id of its predecessor", seq=event.seq)
        expected_prev = event.event_id
        previous = event
    return expected_prev
