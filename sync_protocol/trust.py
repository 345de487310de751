"""Trust (信任): central's root keys and their rotation, station enrollment requests and certificates (the
signed station registry is in registry.py).

A *root* lists the root keys (which sign the next root) and central's online keys (which sign acks, bundles,
certificates and registries). Root 1 is pinned at installation; root N+1 must be signed by a root key of root N.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import PROTOCOL_VERSION, schema
from .canonical import canonical_bytes
from .errors import (
    EnrollmentError,
    MalformedError,
    RootRotationError,
    SignatureError,
    UnknownKeyError,
    WrongNetworkError,
)
from .keys import SigningKey, key_id
from .signed import SignedObject, parse_signed, sign_object

MAX_ROOT_KEYS = 16
LEVELS = frozenset({"village", "township", "county"})
"""Station levels: 村(社区) village, 乡镇(街道) township, 县 county."""
ENROLLMENT_CODE_TAG = b"yiciban/v1/enrollment-code\x00"


def _publics(
    obj: Mapping[str, Any], key: str, *, max_items: int, allow_empty: bool = False
) -> tuple[bytes, ...]:
    items = schema.array(obj, key, max_items=max_items)
    if not items and not allow_empty:
        raise MalformedError(f"{key} must not be empty")
    keys = tuple(schema.hex_bytes({key: item}, key, 32) for item in items)
    if len(set(keys)) != len(keys):
        raise MalformedError(f"{key} lists a key twice")
    return keys


def check_network(found: str, network: str, what: str) -> None:
    if found != network:
        raise WrongNetworkError(f"{what} is for network {found!r}, not {network!r}")


# --- roots ---------------------------------------------------------------------------------------------------

ROOT_FIELDS = frozenset({"v", "net", "ver", "kid", "root_keys", "central_keys", "issued"})


@dataclass(frozen=True)
class Root:
    """One version of central's trust root."""

    raw: bytes
    signed: SignedObject
    network: str
    version: int
    signer_key_id: str
    root_keys: tuple[bytes, ...]
    central_keys: tuple[bytes, ...]
    issued_ms: int

    @property
    def root_key_ids(self) -> frozenset[str]:
        return frozenset(key_id(k) for k in self.root_keys)

    def central_public_for(self, kid: str) -> bytes:
        """The central online key with id ``kid``; raises UnknownKeyError when this root does not list it."""
        for public in self.central_keys:
            if key_id(public) == kid:
                return public
        raise UnknownKeyError("central key not in the trust root", key_id=kid)

    def verify_central_signed(self, signed: SignedObject) -> None:
        """Check a central-signed object (ack, bundle, certificate, registry) against this root's central keys."""
        signer = schema.hex_id(signed.fields, "kid") if "kid" in signed.fields else ""
        signed.verify(self.central_public_for(signer))


def make_root(
    *,
    network: str,
    version: int,
    root_keys: Sequence[bytes],
    central_keys: Sequence[bytes],
    issued_ms: int,
    signing_key: SigningKey,
) -> Root:
    """Sign root ``version``: with one of its own root keys for version 1, with a key of root N-1 after that."""
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "ver": version,
            "kid": signing_key.key_id,
            "root_keys": [k.hex() for k in root_keys],
            "central_keys": [k.hex() for k in central_keys],
            "issued": issued_ms,
        }
    )
    return parse_root(sign_object("root", body, signing_key))


def parse_root(data: bytes) -> Root:
    """Parse a signed root WITHOUT checking who signed it."""
    signed = parse_signed(data, "root", max_size=64 * 1024)
    obj = signed.fields
    schema.exact_keys(obj, ROOT_FIELDS, "root")
    schema.integer(obj, "v", minimum=1, maximum=1)
    return Root(
        raw=data,
        signed=signed,
        network=schema.name(obj, "net"),
        version=schema.integer(obj, "ver", minimum=1),
        signer_key_id=schema.hex_id(obj, "kid"),
        root_keys=_publics(obj, "root_keys", max_items=MAX_ROOT_KEYS),
        central_keys=_publics(obj, "central_keys", max_items=MAX_ROOT_KEYS),
        issued_ms=schema.integer(obj, "issued"),
    )


def _signed_by_one_of(signed: SignedObject, keys: Sequence[bytes], signer: str) -> None:
    for public in keys:
        if key_id(public) == signer:
            signed.verify(public)
            return
    raise RootRotationError("root is not signed by a key of the previous root", key_id=signer)


def trust_initial_root(data: bytes, *, network: str, pinned_key_id: str | None = None) -> Root:
    """Accept root 1 (shipped with the installer): self-signed by one of its root keys, optionally pinned.

    Raises:
        MalformedError, SignatureError, WrongNetworkError, RootRotationError.
    """
    root = parse_root(data)
    check_network(root.network, network, "root")
    if root.version != 1:
        raise RootRotationError("the initial root must be version 1")
    if pinned_key_id is not None and pinned_key_id not in root.root_key_ids:
        raise RootRotationError("the initial root does not contain the pinned key")
    _signed_by_one_of(root.signed, root.root_keys, root.signer_key_id)
    return root


def rotate_root(current: Root, data: bytes) -> Root:
    """Move from root N to root N+1, which must be signed by a root key of root N.

    Raises:
        MalformedError, SignatureError, WrongNetworkError, RootRotationError (not N+1 or not signed by root N).
    """
    new = parse_root(data)
    check_network(new.network, current.network, "root")
    if new.version != current.version + 1:
        raise RootRotationError(f"root {new.version} does not follow root {current.version}")
    _signed_by_one_of(new.signed, current.root_keys, new.signer_key_id)
    return new


def update_root(current: Root, chain: Sequence[bytes]) -> Root:
    """Apply a sequence of roots, skipping versions already held; each new one must follow the last."""
    root = current
    for data in sorted(chain, key=lambda d: parse_root(d).version):
        if parse_root(data).version <= root.version:
            continue
        root = rotate_root(root, data)
    return root


# --- enrollment ----------------------------------------------------------------------------------------------

REQUEST_FIELDS = frozenset({"v", "net", "st", "kid", "sign_pub", "box_pub", "proof", "wall"})


@dataclass(frozen=True)
class EnrollmentRequest:
    """A station's request to be enrolled (入网申请), signed by its new key."""

    raw: bytes
    network: str
    station_id: str
    sign_public: bytes
    box_public: bytes
    proof: str
    wall_ms: int


def enrollment_proof(code: str, network: str, station_id: str, sign_public: bytes, box_public: bytes) -> str:
    """HMAC-SHA256 keyed by the one-time code over the identity it is spent on (the code itself never travels)."""
    message = b"\n".join(
        [
            ENROLLMENT_CODE_TAG + network.encode(),
            station_id.encode(),
            sign_public.hex().encode(),
            box_public.hex().encode(),
        ]
    )
    return hmac.new(code.encode("utf-8"), message, hashlib.sha256).hexdigest()


def make_enrollment_request(
    *, network: str, station_id: str, signing_key: SigningKey, box_public: bytes, code: str, wall_ms: int
) -> bytes:
    """The request file a new station sends (online or on a stick)."""
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "st": station_id,
            "kid": signing_key.key_id,
            "sign_pub": signing_key.public_raw.hex(),
            "box_pub": box_public.hex(),
            "proof": enrollment_proof(code, network, station_id, signing_key.public_raw, box_public),
            "wall": wall_ms,
        }
    )
    return sign_object("enrollment_request", body, signing_key)


def verify_enrollment_request(data: bytes, *, network: str, code: str | None) -> EnrollmentRequest:
    """Check a request's self-signature and network, and (when central has it) the one-time code proof.

    Raises:
        MalformedError, SignatureError, WrongNetworkError, EnrollmentError (the code does not match).
    """
    signed = parse_signed(data, "enrollment_request", max_size=16 * 1024)
    obj = signed.fields
    schema.exact_keys(obj, REQUEST_FIELDS, "enrollment request")
    schema.integer(obj, "v", minimum=1, maximum=1)
    request = EnrollmentRequest(
        raw=data,
        network=schema.name(obj, "net"),
        station_id=schema.name(obj, "st"),
        sign_public=schema.hex_bytes(obj, "sign_pub", 32),
        box_public=schema.hex_bytes(obj, "box_pub", 32),
        proof=schema.hex_id(obj, "proof"),
        wall_ms=schema.integer(obj, "wall"),
    )
    if schema.hex_id(obj, "kid") != key_id(request.sign_public):
        raise SignatureError("request kid is not its own signing key")
    signed.verify(request.sign_public)
    check_network(request.network, network, "enrollment request")
    if code is not None:
        expected = enrollment_proof(
            code, network, request.station_id, request.sign_public, request.box_public
        )
        if not hmac.compare_digest(expected, request.proof):
            raise EnrollmentError("the one-time code does not match this request")
    return request


# --- certificates --------------------------------------------------------------------------------------------

CERTIFICATE_FIELDS = frozenset(
    {"v", "net", "st", "level", "parent", "sign_pub", "box_pub", "ep", "serial", "issued", "kid"}
)


@dataclass(frozen=True)
class Certificate:
    """Central's statement of who a station is and which keys speak for it (站点证书)."""

    raw: bytes
    signed: SignedObject
    network: str
    station_id: str
    level: str
    parent: str
    sign_public: bytes
    box_public: bytes
    epoch: int
    serial: int
    issued_ms: int
    issuer_key_id: str

    @property
    def station_key_id(self) -> str:
        return key_id(self.sign_public)


def issue_certificate(
    *,
    network: str,
    station_id: str,
    level: str,
    parent: str,
    sign_public: bytes,
    box_public: bytes,
    epoch: int,
    serial: int,
    issued_ms: int,
    central_key: SigningKey,
) -> Certificate:
    """Sign a certificate; ``parent`` is the supervising station's id ("" for a county hall)."""
    body = canonical_bytes(
        {
            "v": PROTOCOL_VERSION,
            "net": network,
            "st": station_id,
            "level": level,
            "parent": parent,
            "sign_pub": sign_public.hex(),
            "box_pub": box_public.hex(),
            "ep": epoch,
            "serial": serial,
            "issued": issued_ms,
            "kid": central_key.key_id,
        }
    )
    return parse_certificate(sign_object("certificate", body, central_key))


def parse_certificate(data: bytes) -> Certificate:
    """Parse a certificate WITHOUT checking its signature."""
    signed = parse_signed(data, "certificate", max_size=16 * 1024)
    obj = signed.fields
    schema.exact_keys(obj, CERTIFICATE_FIELDS, "certificate")
    schema.integer(obj, "v", minimum=1, maximum=1)
    level = schema.string(obj, "level", max_length=16)
    if level not in LEVELS:
        raise MalformedError(f"unknown station level {level!r}")
    return Certificate(
        raw=data,
        signed=signed,
        network=schema.name(obj, "net"),
        station_id=schema.name(obj, "st"),
        level=level,
        parent=schema.string(obj, "parent", max_length=64, pattern=schema.NAME, allow_empty=True),
        sign_public=schema.hex_bytes(obj, "sign_pub", 32),
        box_public=schema.hex_bytes(obj, "box_pub", 32),
        epoch=schema.integer(obj, "ep", minimum=1),
        serial=schema.integer(obj, "serial", minimum=1),
        issued_ms=schema.integer(obj, "issued"),
        issuer_key_id=schema.hex_id(obj, "kid"),
    )


def verify_certificate(data: bytes, root: Root, *, network: str) -> Certificate:
    """Parse and verify a certificate against the central keys of ``root``.

    Raises:
        MalformedError, UnknownKeyError (issuer not in root), SignatureError, WrongNetworkError.
    """
    cert = parse_certificate(data)
    root.verify_central_signed(cert.signed)
    check_network(cert.network, network, "certificate")
    return cert


def check_certificate_matches_request(cert: Certificate, request: EnrollmentRequest) -> None:
    """A station installs a certificate only if it names the keys it generated."""
    if (cert.network, cert.station_id, cert.sign_public, cert.box_public) != (
        request.network,
        request.station_id,
        request.sign_public,
        request.box_public,
    ):
        raise EnrollmentError("certificate does not match our enrollment request")


__all__ = [
    "Certificate",
    "EnrollmentRequest",
    "Root",
    "check_certificate_matches_request",
    "enrollment_proof",
    "issue_certificate",
    "make_enrollment_request",
    "make_root",
    "parse_certificate",
    "parse_root",
    "rotate_root",
    "trust_initial_root",
    "update_root",
    "verify_certificate",
    "verify_enrollment_request",
]
