"""Acks (回执): central's signed statement of what it durably holds from one station, per epoch.

Cumulative (``through`` seq and its id) plus selective (ranges held beyond a gap, missing ranges, forks,
quarantined events with reasons, events received but not applied with their conflict ids). Central signs an ack
only after the commit that stored the events; a station replaces its stored ack only with a newer valid one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import PROTOCOL_VERSION, schema
from .canonical import canonical_bytes
from .errors import MalformedError, SignatureError, WrongNetworkError
from .keys import SigningKey, key_id
from .schema import ZERO_ID
from .signed import SignedObject, parse_signed, sign_object

KIND = "ack"
MAX_ACK = 4 * 1024 * 1024
MAX_ENTRIES = 100_000

_ACK_FIELDS = frozenset({"v", "net", "st", "ver", "ct", "kid", "epochs"})
_EPOCH_FIELDS = frozenset(
    {"ep", "through", "through_id", "held", "missing", "forks", "quarantined", "not_applied"}
)
SeqRange = tuple[int, int]


@dataclass(frozen=True)
class ForkNote:
    """Central holds ``held_id`` at ``seq`` and received a different ``received_id``."""

    seq: int
    held_id: str
    received_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "held": self.held_id, "got": self.received_id}


@dataclass(frozen=True)
class QuarantineNote:
    seq: int
    event_id: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.event_id, "reason": self.reason}


@dataclass(frozen=True)
class NotAppliedNote:
    """Received and stored, but not applied to the domain: a conflict a human or rule will resolve."""

    seq: int
    event_id: str
    conflict_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "id": self.event_id, "conflict": self.conflict_id}


@dataclass(frozen=True)
class EpochAck:
    epoch: int
    through: int = 0
    through_id: str = ZERO_ID
    held: tuple[SeqRange, ...] = ()
    missing: tuple[SeqRange, ...] = ()
    forks: tuple[ForkNote, ...] = ()
    quarantined: tuple[QuarantineNote, ...] = ()
    not_applied: tuple[NotAppliedNote, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ep": self.epoch,
            "through": self.through,
            "through_id": self.through_id,
            "held": [list(r) for r in self.held],
            "missing": [list(r) for r in self.missing],
            "forks": [f.to_dict() for f in self.forks],
            "quarantined": [q.to_dict() for q in self.quarantined],
            "not_applied": [n.to_dict() for n in self.not_applied],
        }

    def is_received(self, seq: int) -> bool:
        """True when central durably holds something for ``seq`` (so the station may stop offering it)."""
        return (
            seq <= self.through
            or any(a <= seq <= b for a, b in self.held)
            or any(q.seq == seq for q in self.quarantined)
            or any(f.seq == seq for f in self.forks)
        )

    def to_resend(self, head_seq: int) -> list[SeqRange]:
        """The ranges of 1..head_seq central does not hold: what the station sends next.

        Computed from the ranges, never seq by seq: a station that was offline for months may hold hundreds of
        thousands of unacknowledged events and asks this on every sync page."""
        covered = sorted(
            [*self.held, *((q.seq, q.seq) for q in self.quarantined), *((f.seq, f.seq) for f in self.forks)]
        )
        ranges: list[SeqRange] = []
        next_needed = self.through + 1
        for low, high in covered:
            if next_needed > head_seq:
                break
            if high < next_needed:
                continue
            if low > next_needed:
                ranges.append((next_needed, min(low - 1, head_seq)))
            next_needed = max(next_needed, high + 1)
        if next_needed <= head_seq:
            ranges.append((next_needed, head_seq))
        return ranges


@dataclass(frozen=True)
class Ack:
    raw: bytes
    signed: SignedObject
    network: str
    station_id: str
    version: int
    central_time_ms: int
    key_id: str
    epochs: tuple[EpochAck, ...]

    def for_epoch(self, epoch: int) -> EpochAck:
        """This ack's entry for ``epoch`` (an empty one when central has seen nothing of it)."""
        for entry in self.epochs:
            if entry.epoch == epoch:
                return entry
        return EpochAck(epoch)


def _ranges(value: Any, what: str) -> tuple[SeqRange, ...]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise MalformedError(f"{what} must be an array of ranges")
    ranges = tuple(schema.seq_range(item, what) for item in value)
    for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
        if start <= end + 1:
            raise MalformedError(f"{what} ranges must be ascending, disjoint and not adjacent")
    return ranges


def _notes(value: Any, fields: set[str], what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise MalformedError(f"{what} must be an array")
    notes = []
    last = 0
    for item in value:
        obj = schema.require_object(item, what)
        schema.exact_keys(obj, fields, what)
        seq = schema.integer(obj, "seq", minimum=1)
        if seq <= last:
            raise MalformedError(f"{what} must be in ascending seq order")
        last = seq
        notes.append(obj)
    return notes


def _epoch(item: Any) -> EpochAck:
    obj = schema.require_object(item, "ack epoch")
    schema.exact_keys(obj, _EPOCH_FIELDS, "ack epoch")
    through = schema.integer(obj, "through")
    through_id = schema.hex_id(obj, "through_id")
    if (through == 0) != (through_id == ZERO_ID):
        raise MalformedError("through_id is zeros exactly when through is 0")
    held = _ranges(obj["held"], "held")
    missing = _ranges(obj["missing"], "missing")
    if any(a <= through for a, _ in held + missing):
        raise MalformedError("held and missing ranges lie beyond through")
    forks = tuple(
        ForkNote(schema.integer(f, "seq", minimum=1), schema.hex_id(f, "held"), schema.hex_id(f, "got"))
        for f in _notes(obj["forks"], {"seq", "held", "got"}, "forks")
    )
    quarantined = tuple(
        QuarantineNote(
            schema.integer(q, "seq", minimum=1),
            schema.hex_id(q, "id"),
            schema.string(q, "reason", max_length=64, pattern=schema.TYPE_NAME),
        )
        for q in _notes(obj["quarantined"], {"seq", "id", "reason"}, "quarantined")
    )
    not_applied = tuple(
        NotAppliedNote(
            schema.integer(n, "seq", minimum=1),
            schema.hex_id(n, "id"),
            schema.string(n, "conflict", max_length=64),
        )
        for n in _notes(obj["not_applied"], {"seq", "id", "conflict"}, "not_applied")
    )
    return EpochAck(
        schema.integer(obj, "ep", minimum=1),
        through,
        through_id,
        held,
        missing,
        forks,
        quarantined,
        not_applied,
    )


def make_ack(
    *,
    network: str,
    station_id: str,
    version: int,
    central_time_ms: int,
    epochs: Sequence[EpochAck],
    central_key: SigningKey,
) -> Ack:
    """Sign an ack (central, after the commit that stored what it acknowledges)."""
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "st": station_id,
            "ver": version,
            "ct": central_time_ms,
            "kid": central_key.key_id,
            "epochs": [e.to_dict() for e in sorted(epochs, key=lambda e: e.epoch)],
        }
    )
    return parse_ack(sign_object(KIND, body, central_key))


def parse_ack(data: bytes) -> Ack:
    """Parse an ack WITHOUT checking its signature.

    Raises:
        MalformedError (or a subclass).
    """
    signed = parse_signed(data, KIND, max_size=MAX_ACK)
    obj = signed.fields
    schema.exact_keys(obj, _ACK_FIELDS, "ack")
    schema.integer(obj, "v", minimum=1, maximum=1)
    epochs = tuple(_epoch(e) for e in schema.array(obj, "epochs", max_items=10_000))
    if [e.epoch for e in epochs] != sorted({e.epoch for e in epochs}):
        raise MalformedError("ack epochs must be ascending without repeats")
    return Ack(
        raw=data,
        signed=signed,
        network=schema.name(obj, "net"),
        station_id=schema.name(obj, "st"),
        version=schema.integer(obj, "ver", minimum=1),
        central_time_ms=schema.integer(obj, "ct"),
        key_id=schema.hex_id(obj, "kid"),
        epochs=epochs,
    )


def verify_ack(
    data: bytes | Ack, central_keys: bytes | Sequence[bytes], *, network: str, station_id: str
) -> Ack:
    """Parse (if needed) and verify an ack for this station.

    ``central_keys``: raw Ed25519 public key(s) of central (a trust root's ``central_keys``).

    Raises:
        MalformedError, SignatureError (no listed key signed it), WrongNetworkError (other network or station).
    """
    ack = parse_ack(data) if isinstance(data, bytes) else data
    keys = [central_keys] if isinstance(central_keys, bytes) else list(central_keys)
    signer = next((k for k in keys if key_id(k) == ack.key_id), None)
    if signer is None:
        raise SignatureError("ack is not signed by a central key we trust")
    ack.signed.verify(signer)
    if ack.network != network or ack.station_id != station_id:
        raise WrongNetworkError("ack is for another network or station")
    return ack


def accept_ack(
    current: Ack | None,
    new: bytes | Ack,
    central_pub: bytes | Sequence[bytes],
    *,
    network: str,
    station_id: str,
) -> Ack:
    """Station side: return the ack to keep — ``new`` if it verifies and is newer, else ``current``.

    An older or equal ack (a stale copy on a USB stick) is not an error; an invalid one is.

    Raises:
        MalformedError, SignatureError, WrongNetworkError: ``new`` does not verify.
    """
    ack = verify_ack(new, central_pub, network=network, station_id=station_id)
    if current is None or ack.version > current.version:
        return ack
    return current


def shows_rollback(ack: Ack | None, local_heads: Mapping[int, int]) -> bool:
    """Start-up self-check: True when central acknowledged more of some epoch than the local log holds — the store
    was restored from a backup, so the station must stop appending and open a ``restore`` epoch.

    ``local_heads`` maps each epoch to the station's last seq in it (absent = nothing).
    """
    if ack is None:
        return False
    return any(entry.through > local_heads.get(entry.epoch, 0) for entry in ack.epochs)
