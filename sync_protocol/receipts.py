"""Compact signed payloads for the QR codes on receipts (kind ``r``) and custody folder labels (kind ``c``).

A county clerk, or the station receiving a folder, checks a scanned code offline against the registry of station
keys. The text is short enough to stay scannable on paper (typically 280–320 characters)::

    YCB1.<kind>.<base64url(canonical field array)>.<base64url(Ed25519 signature)>

The fields travel as a canonical JSON array (``canonical.canonical_bytes``) in a fixed order per kind, the
last element being the signer's key reference: the first 16 hex characters of its key id
(``sha256(raw public key)``). The signature covers ``tag || field bytes`` with ``tags.RECEIPT_QR`` or
``tags.CUSTODY_QR``, so a receipt can never be replayed as a custody label. A case id (a UUID) is carried as
22 base64url characters. Base64url is unpadded and must be the one canonical encoding of its bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import tags
from .canonical import canonical_bytes, parse_canonical
from .errors import MalformedError, SignatureError, SizeLimitError, UnknownKeyError

PREFIX = "YCB1"
RECEIPT = "r"
CUSTODY = "c"
KEY_REF_LENGTH = 16
MAX_PAYLOAD_CHARS = 1024
SIGNATURE_LENGTH = 64
MAX_TEXT = 64

_TAGS = {RECEIPT: tags.RECEIPT_QR, CUSTODY: tags.CUSTODY_QR}
_FIELDS: dict[str, tuple[str, ...]] = {
    RECEIPT: ("case_id", "case_number", "item_code", "station_id", "issued_on", "doc_type"),
    CUSTODY: (
        "case_id",
        "case_number",
        "item_code",
        "sending_station",
        "masked_applicant",
        "material_count",
        "manifest_id",
    ),
}
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_HEX = re.compile(r"[0-9a-f]+")
_ASCII_ID = re.compile(r"[\x21-\x7e]+")
_RAW_NUMBER = re.compile(r"\d{6,}")
_WIRE_DATE = re.compile(r"\d{8}")

PublicKeyLookup = Callable[[str], bytes | None]
"""Given a 16-hex key reference, the station's raw 32-byte Ed25519 public key, or None when unknown."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """Strict unpadded base64url: only the alphabet, and the one canonical encoding of the decoded bytes."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise MalformedError(f"{what} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:  # pragma: no cover - the regex and length check guard this
        raise MalformedError(f"{what} is not base64url") from e
    if b64url_encode(data) != text:
        raise MalformedError(f"{what} is not canonical base64url")
    return data


def key_reference(key_id: str) -> str:
    """The 16-hex prefix of a key id that a payload carries.

    Raises:
        MalformedError: not 16–64 lower-case hex characters.
    """
    if not isinstance(key_id, str) or not _HEX.fullmatch(key_id) or not 16 <= len(key_id) <= 64:
        raise MalformedError("key id must be 16 to 64 lower-case hex characters")
    return key_id[:KEY_REF_LENGTH]


def _text(fields: Mapping[str, Any], name: str, *, ascii_only: bool = True) -> str:
    value = fields[name]
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise MalformedError(f"{name} must be a non-empty string of at most {MAX_TEXT} characters")
    if ascii_only and not _ASCII_ID.fullmatch(value):
        raise MalformedError(f"{name} must be printable ASCII without spaces")
    return value


def _case_id_to_wire(value: Any) -> str:
    if not isinstance(value, str):
        raise MalformedError("case_id must be a UUID string")
    try:
        return b64url_encode(uuid.UUID(value).bytes)
    except ValueError as e:
        raise MalformedError("case_id must be a UUID") from e


def _date_to_wire(value: Any) -> str:
    if not isinstance(value, str):
        raise MalformedError("issued_on must be an ISO date string")
    try:
        parsed = date.fromisoformat(value)
    except ValueError as e:
        raise MalformedError("issued_on must be YYYY-MM-DD") from e
    if parsed.isoformat() != value:
        raise MalformedError("issued_on must be YYYY-MM-DD")
    return parsed.strftime("%Y%m%d")


def _masked_applicant(fields: Mapping[str, Any]) -> str:
    value = _text(fields, "masked_applicant", ascii_only=False)
    if len(value) > 16 or _RAW_NUMBER.search(value) or not value.isprintable():
        raise MalformedError("masked_applicant must be a short masked name, never an ID or phone number")
    return value


def _to_wire(kind: str, fields: Mapping[str, Any], key_ref: str) -> list[Any]:
    if not isinstance(fields, Mapping) or set(fields) != set(_FIELDS[kind]):
        raise MalformedError(f"kind {kind!r} needs exactly the fields {', '.join(_FIELDS[kind])}")
    wire: list[Any] = [
        _case_id_to_wire(fields["case_id"]),
        _text(fields, "case_number"),
        _text(fields, "item_code"),
    ]
    if kind == RECEIPT:
        wire += [_text(fields, "station_id"), _date_to_wire(fields["issued_on"]), _text(fields, "doc_type")]
    else:
        count = fields["material_count"]
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 9999:
            raise MalformedError("material_count must be an integer from 0 to 9999")
        wire += [
            _text(fields, "sending_station"),
            _masked_applicant(fields),
            count,
            _text(fields, "manifest_id"),
        ]
    return [*wire, key_ref]


def _from_wire(kind: str, wire: Any) -> tuple[dict[str, Any], str]:
    names = _FIELDS[kind]
    if not isinstance(wire, list) or len(wire) != len(names) + 1:
        raise MalformedError(f"kind {kind!r} carries {len(names) + 1} values")
    *values, key_ref = wire
    if not isinstance(key_ref, str) or len(key_ref) != KEY_REF_LENGTH or not _HEX.fullmatch(key_ref):
        raise MalformedError("key reference must be 16 lower-case hex characters")
    raw = dict(zip(names, values, strict=True))
    case_id = raw["case_id"]
    if not isinstance(case_id, str) or len(case_id) != 22:
        raise MalformedError("case_id is not a compact UUID")
    raw["case_id"] = str(uuid.UUID(bytes=b64url_decode(case_id, "case_id")))
    if kind == RECEIPT:
        issued = raw["issued_on"]
        if not isinstance(issued, str) or not _WIRE_DATE.fullmatch(issued):
            raise MalformedError("issued_on is not YYYYMMDD")
        try:
            raw["issued_on"] = date(int(issued[:4]), int(issued[4:6]), int(issued[6:])).isoformat()
        except ValueError as e:
            raise MalformedError("issued_on is not a real date") from e
    # Re-encoding checks every field's type and limits with the same rules the signer applied.
    if _to_wire(kind, raw, key_ref) != wire:
        raise MalformedError("fields are not in their canonical form")
    return raw, key_ref


def sign_qr_payload(kind: str, fields: Mapping[str, Any], private_raw: bytes, key_id: str) -> str:
    """Build the signed QR text for a receipt (``"r"``) or a custody folder label (``"c"``).

    Args:
        kind: ``"r"`` with case_id (UUID), case_number, item_code, station_id, issued_on (YYYY-MM-DD), doc_type;
            or ``"c"`` with case_id, case_number, item_code, sending_station, masked_applicant (e.g. 张*明),
            material_count (int), manifest_id.
        fields: exactly the fields of the kind; identifiers are printable ASCII of at most 64 characters.
        private_raw: the station's raw 32-byte Ed25519 private key.
        key_id: the station key id (sha256 hex of the public key) or its 16-hex prefix.

    Raises:
        MalformedError: unknown kind, wrong field set, or a field outside its limits (a masked_applicant
            that contains a run of six digits is refused: no raw ID number may reach a label).
    """
    if kind not in _TAGS:
        raise MalformedError(f"unknown QR payload kind {kind!r}")
    if not isinstance(private_raw, bytes) or len(private_raw) != 32:
        raise MalformedError("private key must be 32 raw bytes")
    body = canonical_bytes(_to_wire(kind, fields, key_reference(key_id)))
    signature = Ed25519PrivateKey.from_private_bytes(private_raw).sign(_TAGS[kind] + body)
    return f"{PREFIX}.{kind}.{b64url_encode(body)}.{b64url_encode(signature)}"


def _split(text: Any) -> tuple[str, bytes, dict[str, Any], str, bytes]:
    if not isinstance(text, str):
        raise MalformedError("a QR payload is text")
    if len(text) > MAX_PAYLOAD_CHARS:
        raise SizeLimitError(f"a QR payload is at most {MAX_PAYLOAD_CHARS} characters")
    parts = text.split(".")
    if len(parts) != 4:
        raise MalformedError("a QR payload has four dot-separated parts")
    prefix, kind, body_text, signature_text = parts
    if prefix != PREFIX:
        raise MalformedError("not a yiciban QR payload of a known version")
    if kind not in _TAGS:
        raise MalformedError(f"unknown QR payload kind {kind!r}")
    body = b64url_decode(body_text, "fields")
    signature = b64url_decode(signature_text, "signature")
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedError("an Ed25519 signature is 64 bytes")
    fields, key_ref = _from_wire(kind, parse_canonical(body))
    return kind, body, fields, key_ref, signature


def parse_qr_payload(text: str) -> tuple[str, dict[str, Any], str, bytes]:
    """Parse without verifying: ``(kind, fields, key_ref, signature)``; key_ref is the 16-hex key id prefix.

    Raises:
        MalformedError: anything that is not a well-formed payload (SizeLimitError when over 1024 characters).
    """
    kind, _body, fields, key_ref, signature = _split(text)
    return kind, fields, key_ref, signature


def verify_qr_payload(
    text: str, lookup_public_key: PublicKeyLookup, expected_kind: str | None = None
) -> dict[str, Any]:
    """Verify a scanned payload offline and return its fields.

    Args:
        text: the scanned QR text.
        lookup_public_key: resolves the 16-hex key reference to a raw public key (None or KeyError when unknown).
        expected_kind: ``"r"`` or ``"c"`` when the caller knows what it scanned.

    Raises:
        MalformedError: not a well-formed payload, or not of the expected kind.
        UnknownKeyError: the key reference is not in the registry.
        SignatureError: the signature does not verify (tampered, or signed by another key).
    """
    kind, body, fields, key_ref, signature = _split(text)
    if expected_kind is not None and kind != expected_kind:
        raise MalformedError(f"expected a QR payload of kind {expected_kind!r}, got {kind!r}")
    try:
        public_raw = lookup_public_key(key_ref)
    except KeyError:
        public_raw = None
    if public_raw is None:
        raise UnknownKeyError(f"no station key with id {key_ref}…", key_ref=key_ref)
    if not isinstance(public_raw, bytes) or len(public_raw) != 32:
        raise MalformedError("the registry returned a public key that is not 32 raw bytes")
    if not hashlib.sha256(public_raw).hexdigest().startswith(key_ref):
        raise SignatureError("the registry key does not match the payload's key id")
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, _TAGS[kind] + body)
    except InvalidSignature as e:
        raise SignatureError("the QR payload's signature does not verify") from e
    return fields
