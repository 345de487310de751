"""The signed station registry (站点名录): enrolled stations, their keys, and revocation by seq.

Revocation is by position, not time (station clocks lie): a key revoked after (epoch E, seq S) still
authenticates events up to (E, S); later ones go to human review. A key rotation revokes the old key after the
``key.rotate`` event's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import PROTOCOL_VERSION, schema
from .canonical import canonical_bytes
from .errors import MalformedError, RollbackError, UnknownKeyError
from .ingest import KeyStatus
from .keys import SigningKey, key_id
from .signed import SignedObject, parse_signed, sign_object
from .trust import LEVELS, Root, check_network

MAX_REGISTRY = 8 * 1024 * 1024
MAX_STATIONS = 50_000
MAX_KEYS_PER_STATION = 64

REGISTRY_FIELDS = frozenset({"v", "net", "ver", "issued", "kid", "stations"})
STATION_FIELDS = frozenset({"st", "level", "parent", "keys"})
KEY_FIELDS = frozenset({"sign_pub", "box_pub", "rev"})
Position = tuple[int, int]


@dataclass(frozen=True)
class StationKey:
    """One signing key of a station; ``revoked_after`` = (epoch, seq): later events are quarantined."""

    sign_public: bytes
    box_public: bytes
    revoked_after: Position | None = None

    @property
    def key_id(self) -> str:
        return key_id(self.sign_public)

    def to_dict(self) -> dict[str, object]:
        rev = list(self.revoked_after) if self.revoked_after is not None else None
        return {"sign_pub": self.sign_public.hex(), "box_pub": self.box_public.hex(), "rev": rev}


@dataclass(frozen=True)
class StationEntry:
    station_id: str
    level: str
    parent: str
    keys: tuple[StationKey, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "st": self.station_id,
            "level": self.level,
            "parent": self.parent,
            "keys": [k.to_dict() for k in self.keys],
        }


@dataclass(frozen=True)
class Registry:
    """The signed list of enrolled stations and their keys (站点名录)."""

    raw: bytes
    signed: SignedObject
    network: str
    version: int
    issued_ms: int
    stations: dict[str, StationEntry]

    def station_key(self, station_id: str, kid: str) -> StationKey:
        """Raises UnknownKeyError when the station or key is not enrolled."""
        entry = self.stations.get(station_id)
        if entry is not None:
            for key in entry.keys:
                if key.key_id == kid:
                    return key
        raise UnknownKeyError("station or key not in the registry", station=station_id, key_id=kid)

    def public_key_for(self, station_id: str, kid: str) -> bytes:
        """The lookup ``batch.open_batch`` needs: raw Ed25519 public key or UnknownKeyError."""
        return self.station_key(station_id, kid).sign_public

    def is_revoked_at(self, station_id: str, kid: str, position: Position) -> bool:
        """True when the key was revoked before (epoch, seq) ``position``."""
        revoked = self.station_key(station_id, kid).revoked_after
        return revoked is not None and position > revoked

    def key_status(self, station_id: str, kid: str) -> KeyStatus:
        """The view ``ingest.decide`` takes of the key that signed a batch."""
        try:
            key = self.station_key(station_id, kid)
        except UnknownKeyError:
            return KeyStatus(known=False)
        return KeyStatus(known=True, revoked_after=key.revoked_after)

    def box_key_for(self, station_id: str) -> bytes:
        """The X25519 key to seal a station's bundles to: its newest unrevoked key."""
        entry = self.stations.get(station_id)
        live = [k for k in entry.keys if k.revoked_after is None] if entry else []
        if not live:
            raise UnknownKeyError("station has no live key", station=station_id)
        return live[-1].box_public


def _station_key(item: object) -> StationKey:
    obj = schema.require_object(item, "registry key")
    schema.exact_keys(obj, KEY_FIELDS, "registry key")
    rev = obj["rev"]
    revoked: Position | None = None
    if rev is not None:
        if (
            not isinstance(rev, list)
            or len(rev) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in rev)
            or rev[0] < 1
        ):
            raise MalformedError("rev must be null or [epoch >= 1, seq >= 0]")
        revoked = (rev[0], rev[1])
    return StationKey(schema.hex_bytes(obj, "sign_pub", 32), schema.hex_bytes(obj, "box_pub", 32), revoked)


def _station_entry(item: object) -> StationEntry:
    obj = schema.require_object(item, "registry station")
    schema.exact_keys(obj, STATION_FIELDS, "registry station")
    level = schema.string(obj, "level", max_length=16)
    if level not in LEVELS:
        raise MalformedError(f"unknown station level {level!r}")
    keys = tuple(_station_key(k) for k in schema.array(obj, "keys", max_items=MAX_KEYS_PER_STATION))
    if len({k.key_id for k in keys}) != len(keys):
        raise MalformedError("a registry station lists a key twice")
    return StationEntry(
        schema.name(obj, "st"),
        level,
        schema.string(obj, "parent", max_length=64, pattern=schema.NAME, allow_empty=True),
        keys,
    )


def build_registry(
    *, network: str, version: int, issued_ms: int, stations: Sequence[StationEntry], central_key: SigningKey
) -> Registry:
    """Sign a registry version; stations are written in ascending id order."""
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "ver": version,
            "issued": issued_ms,
            "kid": central_key.key_id,
            "stations": [s.to_dict() for s in sorted(stations, key=lambda s: s.station_id)],
        }
    )
    return parse_registry(sign_object("registry", body, central_key))


def parse_registry(data: bytes) -> Registry:
    """Parse a registry WITHOUT checking its signature."""
    signed = parse_signed(data, "registry", max_size=MAX_REGISTRY)
    obj = signed.fields
    schema.exact_keys(obj, REGISTRY_FIELDS, "registry")
    schema.integer(obj, "v", minimum=1, maximum=1)
    schema.hex_id(obj, "kid")
    entries = [_station_entry(s) for s in schema.array(obj, "stations", max_items=MAX_STATIONS)]
    ids = [e.station_id for e in entries]
    if ids != sorted(set(ids)):
        raise MalformedError("registry stations must be in ascending id order without repeats")
    return Registry(
        raw=data,
        signed=signed,
        network=schema.name(obj, "net"),
        version=schema.integer(obj, "ver", minimum=1),
        issued_ms=schema.integer(obj, "issued"),
        stations={e.station_id: e for e in entries},
    )


def verify_registry(data: bytes, root: Root, *, network: str, current_version: int = 0) -> Registry:
    """Parse and verify a registry; its version must not be older than ``current_version``.

    Raises:
        MalformedError, UnknownKeyError, SignatureError, WrongNetworkError, RollbackError.
    """
    registry = parse_registry(data)
    root.verify_central_signed(registry.signed)
    check_network(registry.network, network, "registry")
    if registry.version < current_version:
        raise RollbackError(f"registry {registry.version} is older than {current_version}")
    return registry
