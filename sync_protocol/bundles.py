"""Downstream bundles (下行包): central → one station, TUF-shaped.

A bundle is a signed manifest (version N, the id of bundle N-1, snapshot flag, issue time, soft expiry, central
time, and parts with type, per-part version, sha256 and length), new trust roots, and the parts' bytes. It is
sealed to the station's own X25519 key (it carries personal data). Plaintext container, before zlib::

    yiciban-bundle/v1\\n
    root <n>\\n<n bytes: signed root>\\n        (zero or more, ascending version)
    manifest <n>\\n<n bytes: signed manifest>\\n
    part <type> <n>\\n<n bytes>\\n              (exactly the manifest's parts, in its order)
    end\\n

``verify_bundle`` is the station's one verification path, in the order of SYNC-DESIGN §10.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import PROTOCOL_VERSION, schema, tags
from .canonical import canonical_bytes
from .errors import (
    DigestMismatchError,
    MalformedError,
    RollbackError,
    SizeLimitError,
    StaleBundleError,
    WrongNetworkError,
)
from .framing import LENGTH, SectionReader, inflate
from .keys import SigningKey
from .layout import MAX_FILE_SIZE, bundle_file_name
from .schema import ZERO_ID
from .signed import SignedObject, parse_signed, sign_object
from .trust import Root, parse_root, update_root

KIND = "bundle"
MAGIC = b"yiciban-bundle/v1\n"
MiB = 1024 * 1024
PART_CAPS: Mapping[str, int] = {
    "registry": 8 * MiB,
    "catalog": 16 * MiB,
    "calendar": 1 * MiB,
    "decisions": 16 * MiB,
    "acks": 4 * MiB,
    "events": 16 * MiB,
    "authorizations": 1 * MiB,
    "certificate": 64 * 1024,
    "custody": 4 * MiB,
    "netkey": 4 * 1024,
}
"""Per-type size caps; a part type not listed here is refused."""
MAX_ROOTS = 16
MAX_CONTAINER = sum(PART_CAPS.values()) + MAX_ROOTS * 64 * 1024 + MiB
_FIELDS = frozenset({"v", "net", "st", "kid", "ver", "prev", "snap", "issued", "expires", "ct", "parts"})
_PART_FIELDS = frozenset({"type", "ver", "sha256", "len"})
_MANIFEST_OR_ROOT = re.compile(rb"(root|manifest) " + LENGTH)
_PART_OR_END = re.compile(rb"part ([a-z]{1,32}) " + LENGTH + rb"|end")


@dataclass(frozen=True)
class PartRef:
    type: str
    version: int
    sha256: str
    length: int

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "ver": self.version, "sha256": self.sha256, "len": self.length}


@dataclass(frozen=True)
class BundlePart:
    """A part's bytes, verified against its manifest entry."""

    type: str
    version: int
    data: bytes


@dataclass(frozen=True)
class Manifest:
    raw: bytes
    signed: SignedObject
    network: str
    station_id: str
    key_id: str
    version: int
    prev: str
    snapshot: bool
    issued_ms: int
    expires_ms: int
    central_time_ms: int
    parts: tuple[PartRef, ...]

    @property
    def bundle_id(self) -> str:
        """``sha256(tags.BUNDLE || manifest body)``: what bundle N+1 names as its ``prev``."""
        return hashlib.sha256(tags.BUNDLE + self.signed.body).hexdigest()


@dataclass(frozen=True)
class BundleState:
    """What a station records after applying a bundle (persist it in the same transaction)."""

    version: int = 0
    bundle_id: str = ZERO_ID
    part_versions: Mapping[str, int] = field(default_factory=dict)
    trusted_time_ms: int = 0
    """The newest central-signed time seen; trusted time is max(local clock, this)."""


@dataclass(frozen=True)
class VerifiedBundle:
    """What to apply, in one transaction: the roots (already chained), the parts, and the new state."""

    manifest: Manifest
    root: Root
    roots: tuple[bytes, ...]
    parts: tuple[BundlePart, ...]
    state: BundleState
    stale: bool
    noop: bool = False


@dataclass(frozen=True)
class BundleFile:
    name: str
    data: bytes
    bundle_id: str


def _part_ref(item: Any) -> PartRef:
    obj = schema.require_object(item, "bundle part")
    schema.exact_keys(obj, _PART_FIELDS, "bundle part")
    part_type = schema.string(obj, "type", max_length=32)
    if part_type not in PART_CAPS:
        raise MalformedError(f"unknown bundle part type {part_type!r}")
    return PartRef(
        part_type,
        schema.integer(obj, "ver", minimum=1),
        schema.hex_id(obj, "sha256"),
        schema.integer(obj, "len"),
    )


def parse_manifest(data: bytes) -> Manifest:
    """Parse a signed bundle manifest WITHOUT checking its signature."""
    signed = parse_signed(data, KIND, max_size=64 * 1024)
    obj = signed.fields
    schema.exact_keys(obj, _FIELDS, "bundle manifest")
    schema.integer(obj, "v", minimum=1, maximum=1)
    parts = tuple(_part_ref(p) for p in schema.array(obj, "parts", max_items=len(PART_CAPS)))
    if [p.type for p in parts] != sorted({p.type for p in parts}):
        raise MalformedError("bundle parts must be in ascending type order, one per type")
    return Manifest(
        raw=data,
        signed=signed,
        network=schema.name(obj, "net"),
        station_id=schema.name(obj, "st"),
        key_id=schema.hex_id(obj, "kid"),
        version=schema.integer(obj, "ver", minimum=1),
        prev=schema.hex_id(obj, "prev"),
        snapshot=schema.boolean(obj, "snap"),
        issued_ms=schema.integer(obj, "issued"),
        expires_ms=schema.integer(obj, "expires"),
        central_time_ms=schema.integer(obj, "ct"),
        parts=parts,
    )


def make_bundle_plaintext(
    *,
    network: str,
    station_id: str,
    version: int,
    prev_bundle_id: str,
    snapshot: bool,
    issued_ms: int,
    expires_ms: int,
    central_time_ms: int,
    parts: Sequence[BundlePart],
    central_key: SigningKey,
    roots: Sequence[bytes] = (),
) -> tuple[Manifest, bytes]:
    """Sign a manifest over ``parts`` and return it with ``zlib(container)`` (what gets sealed)."""
    ordered = sorted(parts, key=lambda p: p.type)
    for part in ordered:
        if part.type not in PART_CAPS or len(part.data) > PART_CAPS[part.type]:
            raise SizeLimitError(f"part {part.type!r} is unknown or over its cap")
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "st": station_id,
            "kid": central_key.key_id,
            "ver": version,
            "prev": prev_bundle_id,
            "snap": snapshot,
            "issued": issued_ms,
            "expires": expires_ms,
            "ct": central_time_ms,
            "parts": [
                PartRef(p.type, p.version, hashlib.sha256(p.data).hexdigest(), len(p.data)).to_dict()
                for p in ordered
            ],
        }
    )
    manifest = parse_manifest(sign_object(KIND, body, central_key))
    chunks = [MAGIC]
    for root in sorted(roots, key=lambda r: parse_root(r).version):
        chunks += [b"root %d\n" % len(root), root, b"\n"]
    chunks += [b"manifest %d\n" % len(manifest.raw), manifest.raw, b"\n"]
    for part in ordered:
        chunks += [b"part %s %d\n" % (part.type.encode(), len(part.data)), part.data, b"\n"]
    chunks.append(b"end\n")
    return manifest, zlib.compress(b"".join(chunks), 9)


def build_bundle(
    *,
    station_box_public: bytes,
    network: str,
    station_id: str,
    version: int,
    prev_bundle_id: str,
    snapshot: bool,
    issued_ms: int,
    expires_ms: int,
    central_time_ms: int,
    parts: Sequence[BundlePart],
    central_key: SigningKey,
    roots: Sequence[bytes] = (),
    extra_recipients: Sequence[bytes] = (),
) -> BundleFile:
    """``make_bundle_plaintext`` sealed to the station's X25519 key (plus any extra recipients, e.g. escrow)."""
    from .seal import seal

    manifest, plaintext = make_bundle_plaintext(
        network=network,
        station_id=station_id,
        version=version,
        prev_bundle_id=prev_bundle_id,
        snapshot=snapshot,
        issued_ms=issued_ms,
        expires_ms=expires_ms,
        central_time_ms=central_time_ms,
        parts=parts,
        central_key=central_key,
        roots=roots,
    )
    sealed = seal(plaintext, [station_box_public, *extra_recipients])
    return BundleFile(
        bundle_file_name(manifest.station_id, manifest.version, sealed), sealed, manifest.bundle_id
    )


def _decode(plaintext: bytes) -> tuple[list[bytes], Manifest, list[tuple[str, bytes]]]:
    reader = SectionReader(inflate(plaintext, MAX_CONTAINER), MAGIC)
    roots: list[bytes] = []
    while (match := reader.header(_MANIFEST_OR_ROOT)).group(1) == b"root":
        if len(roots) >= MAX_ROOTS:
            raise SizeLimitError("too many roots in one bundle")
        roots.append(reader.take(int(match.group(2))))
    manifest = parse_manifest(reader.take(int(match.group(2))))
    parts: list[tuple[str, bytes]] = []
    while (match := reader.header(_PART_OR_END)).group(1) is not None:
        part_type = match.group(1).decode()
        length = int(match.group(2))
        if part_type not in PART_CAPS or length > PART_CAPS[part_type]:
            raise SizeLimitError(f"part {part_type!r} is unknown or over its cap")
        parts.append((part_type, reader.take(length)))
    reader.finish()
    return roots, manifest, parts


def verify_bundle_plaintext(
    plaintext: bytes,
    *,
    root: Root,
    network: str,
    station_id: str,
    state: BundleState | None,
    local_clock_ms: int,
) -> VerifiedBundle:
    """Verify a decrypted bundle in SYNC-DESIGN §10 order; see ``verify_bundle``."""
    roots, manifest, sections = _decode(plaintext)
    new_root = update_root(root, roots)  # 1. trust root N -> N+1, each signed by the previous
    new_root.verify_central_signed(manifest.signed)  # 2. bundle signature under the (new) root
    if manifest.network != network or manifest.station_id != station_id:  # 3. network and station
        raise WrongNetworkError("bundle is for another network or station")
    held = state or BundleState()
    trusted_time = max(local_clock_ms, held.trusted_time_ms, manifest.central_time_ms)
    if manifest.version < held.version:  # 4. version
        raise RollbackError(f"bundle {manifest.version} is older than applied bundle {held.version}")
    if manifest.version == held.version:
        return VerifiedBundle(
            manifest, new_root, (), (), held, stale=trusted_time > manifest.expires_ms, noop=True
        )
    if not manifest.snapshot and manifest.prev != held.bundle_id:  # 5. a delta continues the last applied
        raise StaleBundleError("delta does not follow the last applied bundle: ask for a snapshot")
    if [t for t, _ in sections] != [p.type for p in manifest.parts]:  # 6. parts: hash and length under caps
        raise DigestMismatchError("part sections differ from the manifest")
    to_apply: list[BundlePart] = []
    part_versions = dict(held.part_versions)
    for ref, (_, data) in zip(manifest.parts, sections, strict=True):
        if len(data) != ref.length or hashlib.sha256(data).hexdigest() != ref.sha256:
            raise DigestMismatchError(f"part {ref.type!r} does not match its hash or length")
        applied = held.part_versions.get(ref.type, 0)
        if ref.version < applied:  # 7. per-part versions never go backwards
            raise RollbackError(f"part {ref.type!r} version {ref.version} is older than {applied}")
        if ref.version > applied:
            to_apply.append(BundlePart(ref.type, ref.version, data))
            part_versions[ref.type] = ref.version
    new_state = BundleState(manifest.version, manifest.bundle_id, part_versions, trusted_time)
    return VerifiedBundle(
        manifest,
        new_root,
        tuple(r for r in roots if parse_root(r).version > root.version),
        tuple(to_apply),
        new_state,
        stale=trusted_time > manifest.expires_ms,
    )


def verify_bundle(
    sealed: bytes,
    *,
    identities: Sequence[bytes],
    root: Root,
    network: str,
    station_id: str,
    state: BundleState | None,
    local_clock_ms: int,
) -> VerifiedBundle:
    """The station's one path for a downstream bundle: decrypt → trust root N→N+1 → signature → network and
    station → version (lower: rollback; equal: no-op) → a delta's ``prev`` → every part's hash and length under
    its cap → per-part versions never backwards. Expiry is soft: ``stale`` is set, never raised.

    Returns what to apply in one transaction. ``state`` is None before the first bundle (which must then be a
    snapshot, or its ``prev`` would not match).

    Raises:
        SizeLimitError, SealError: the file does not open.
        MalformedError, DigestMismatchError: framing, manifest or part mismatch.
        RootRotationError, UnknownKeyError, SignatureError, WrongNetworkError: authenticity failures.
        RollbackError: bundle or part version went backwards (alert).
        StaleBundleError: a delta that does not continue from ``state`` (ask central for a snapshot).
    """
    from .seal import open_sealed

    if len(sealed) > MAX_FILE_SIZE:
        raise SizeLimitError(f"sealed file larger than {MAX_FILE_SIZE} bytes")
    return verify_bundle_plaintext(
        open_sealed(sealed, identities),
        root=root,
        network=network,
        station_id=station_id,
        state=state,
        local_clock_ms=local_clock_ms,
    )
