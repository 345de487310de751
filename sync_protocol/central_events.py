"""Central events (中心事件): what central itself says, signed — conflict resolutions and decisions relayed to
stations (SYNC-DESIGN §1, §9: "every resolution is a signed central event naming the competing events").

Body (kind ``central_event``, signed by a central key of the trust root)::

    {"v":1, "net", "kid", "t", "sv", "ak", "aid", "issued", "p"}

Its id is ``hex(sha256(tags.CENTRAL_EVENT || body))``: the same object arriving twice (two bundles, a replayed
part) is recognised by id. Type ``conflict.resolved`` is the protocol's own and its payload is validated here::

    {"conflict": token, "class": token, "events": [64 hex, ascending, 1..64], "outcome": token,
     "winner": one of events or "", "value": any canonical JSON (the merged value, or null)}

``ResolutionLedger`` is the receiver's pure model of SYNC-DESIGN §12 invariant 5: every conflict ends in exactly
one resolution, and a replayed resolution is a no-op. A bundle ``decisions`` part may carry central events as
``encode_central_events`` frames them: each envelope followed by one newline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import PROTOCOL_VERSION, schema, tags
from .canonical import canonical_bytes
from .errors import MalformedError, ResolutionConflictError, UnknownKeyError
from .keys import SigningKey, key_id
from .signed import SignedObject, join_envelopes, parse_signed, sign_object, split_envelopes
from .trust import check_network

KIND = "central_event"
MAX_CENTRAL_EVENT = 64 * 1024
MAX_COMPETING_EVENTS = 64
MAX_EVENTS_PER_PART = 100_000
RESOLUTION = "conflict.resolved"
_FIELDS = frozenset({"v", "net", "kid", "t", "sv", "ak", "aid", "issued", "p"})
_RESOLUTION_FIELDS = frozenset({"conflict", "class", "events", "outcome", "winner", "value"})
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_AGGREGATE_KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class Resolution:
    """The payload of a ``conflict.resolved`` central event (冲突裁决)."""

    conflict: str
    conflict_class: str
    events: tuple[str, ...]
    outcome: str
    winner: str
    value: Any


@dataclass(frozen=True)
class CentralEvent:
    """A central-signed event as received; ``raw`` is the exact envelope to store and relay."""

    raw: bytes
    signed: SignedObject
    event_id: str
    network: str
    issuer_key_id: str
    type: str
    schema_version: int
    aggregate_kind: str
    aggregate_id: str
    issued_ms: int
    payload: dict[str, Any]

    @property
    def resolution(self) -> Resolution | None:
        """The parsed resolution for ``conflict.resolved`` events, else None."""
        return _resolution(self.payload) if self.type == RESOLUTION else None


def compute_central_event_id(body: bytes) -> str:
    """``sha256(tags.CENTRAL_EVENT || body)`` in lower-case hex."""
    return hashlib.sha256(tags.CENTRAL_EVENT + body).hexdigest()


def _resolution(payload: Mapping[str, Any]) -> Resolution:
    schema.exact_keys(payload, _RESOLUTION_FIELDS, "resolution payload")
    events = schema.array(payload, "events", max_items=MAX_COMPETING_EVENTS)
    ids = tuple(schema.hex_id({"events": item}, "events") for item in events)
    if not ids or list(ids) != sorted(set(ids)):
        raise MalformedError("a resolution names its competing events in ascending order, each once")
    winner = schema.string(payload, "winner", max_length=64, pattern=schema.HEX64, allow_empty=True)
    if winner and winner not in ids:
        raise MalformedError("the winner must be one of the competing events")
    return Resolution(
        conflict=schema.string(payload, "conflict", max_length=64, pattern=_TOKEN),
        conflict_class=schema.string(payload, "class", max_length=64, pattern=_CODE),
        events=ids,
        outcome=schema.string(payload, "outcome", max_length=64, pattern=_CODE),
        winner=winner,
        value=payload["value"],
    )


def _from_signed(signed: SignedObject) -> CentralEvent:
    obj = signed.fields
    schema.exact_keys(obj, _FIELDS, "central event")
    schema.integer(obj, "v", minimum=1, maximum=1)
    event = CentralEvent(
        raw=signed.raw,
        signed=signed,
        event_id=compute_central_event_id(signed.body),
        network=schema.name(obj, "net"),
        issuer_key_id=schema.hex_id(obj, "kid"),
        type=schema.string(obj, "t", max_length=64, pattern=schema.TYPE_NAME),
        schema_version=schema.integer(obj, "sv", minimum=1),
        aggregate_kind=schema.string(obj, "ak", max_length=32, pattern=_AGGREGATE_KIND),
        aggregate_id=schema.string(obj, "aid", max_length=64, pattern=_TOKEN),
        issued_ms=schema.integer(obj, "issued"),
        payload=schema.require_object(obj["p"], "payload"),
    )
    if event.type == RESOLUTION:
        schema.integer(obj, "sv", minimum=1, maximum=1)
        _resolution(event.payload)
    return event


def build_central_event(
    *,
    network: str,
    type: str,
    schema_version: int,
    aggregate_kind: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    issued_ms: int,
    central_key: SigningKey,
) -> CentralEvent:
    """Sign a central event (returned parsed, so a built event is always a valid one).

    Raises:
        MalformedError: a field violates the schema.
    """
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "kid": central_key.key_id,
            "t": type,
            "sv": schema_version,
            "ak": aggregate_kind,
            "aid": aggregate_id,
            "issued": issued_ms,
            "p": dict(payload),
        }
    )
    return parse_central_event(sign_object(KIND, body, central_key))


def build_resolution(
    *,
    network: str,
    conflict: str,
    conflict_class: str,
    events: Iterable[str],
    outcome: str,
    winner: str = "",
    value: Any = None,
    aggregate_kind: str,
    aggregate_id: str,
    issued_ms: int,
    central_key: SigningKey,
) -> CentralEvent:
    """Sign the one resolution of ``conflict``, naming the competing station event ids (sorted here)."""
    payload = {
        "conflict": conflict,
        "class": conflict_class,
        "events": sorted(set(events)),
        "outcome": outcome,
        "winner": winner,
        "value": value,
    }
    return build_central_event(
        network=network,
        type=RESOLUTION,
        schema_version=1,
        aggregate_kind=aggregate_kind,
        aggregate_id=aggregate_id,
        payload=payload,
        issued_ms=issued_ms,
        central_key=central_key,
    )


def parse_central_event(data: bytes) -> CentralEvent:
    """Parse a central event envelope WITHOUT checking its signature.

    Raises:
        MalformedError: (or a subclass) not a well-formed central event.
    """
    return _from_signed(parse_signed(data, KIND, max_size=MAX_CENTRAL_EVENT))


def verify_central_event(
    event: CentralEvent | bytes, central_keys: Collection[bytes], *, network: str
) -> CentralEvent:
    """Parse (if needed) and check a central event against central's online keys (a root's ``central_keys``).

    Raises:
        MalformedError: not a well-formed central event.
        UnknownKeyError: signed by a key that is not one of ``central_keys``.
        SignatureError: the signature does not verify.
        WrongNetworkError: signed for another deployment.
    """
    parsed = parse_central_event(event) if isinstance(event, bytes) else event
    for public in central_keys:
        if key_id(public) == parsed.issuer_key_id:
            parsed.signed.verify(public)
            check_network(parsed.network, network, "central event")
            return parsed
    raise UnknownKeyError("central event signed by a key that is not central's", key_id=parsed.issuer_key_id)


def encode_central_events(events: Sequence[CentralEvent]) -> bytes:
    """Frame central events for a bundle part: each envelope followed by ``\\n`` (``signed.join_envelopes``)."""
    return join_envelopes([e.raw for e in events])


def parse_central_events(data: bytes) -> list[CentralEvent]:
    """Split a part framed by ``encode_central_events`` and parse every envelope (signatures NOT checked).

    Raises:
        MalformedError: (or a subclass) bad framing or a malformed envelope.
    """
    return [parse_central_event(e) for e in split_envelopes(data, max_items=MAX_EVENTS_PER_PART)]


@dataclass(frozen=True)
class ResolutionLedger:
    """Which resolution ended each conflict, as a receiver (station or central projection) has applied them."""

    resolved: Mapping[str, str] = field(default_factory=dict)
    """conflict id -> id of the central event that resolved it."""

    def apply(self, event: CentralEvent) -> tuple[ResolutionLedger, bool]:
        """Apply one (already verified) resolution: the new ledger and whether anything changed.

        The same resolution again is a no-op; non-resolution events pass through unchanged.

        Raises:
            ResolutionConflictError: a different resolution for a conflict already resolved.
        """
        resolution = event.resolution
        if resolution is None:
            return self, False
        held = self.resolved.get(resolution.conflict)
        if held == event.event_id:
            return self, False
        if held is not None:
            raise ResolutionConflictError(
                f"conflict {resolution.conflict} is already resolved", held=held, got=event.event_id
            )
        return ResolutionLedger({**self.resolved, resolution.conflict: event.event_id}), True

    def apply_all(self, events: Iterable[CentralEvent]) -> ResolutionLedger:
        ledger = self
        for event in events:
            ledger, _ = ledger.apply(event)
        return ledger


__all__ = [
    "RESOLUTION",
    "CentralEvent",
    "Resolution",
    "ResolutionLedger",
    "build_central_event",
    "build_resolution",
    "compute_central_event_id",
    "encode_central_events",
    "parse_central_event",
    "parse_central_events",
    "verify_central_event",
]
