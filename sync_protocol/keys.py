"""Key wrappers: an Ed25519 signing key and an X25519 box key (the age recipient of sealed files).

Private keys are raw 32-byte values here; writing them to disk (mode 0600, atomically) is the node's job, never
this package's. A key id is ``sha256(raw public key)`` in lower-case hex.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from .errors import MalformedError, SignatureError

KEY_LENGTH = 32
SIGNATURE_LENGTH = 64


def key_id(public_raw: bytes) -> str:
    """The key id of a raw 32-byte public key: sha256 of the key, lower-case hex."""
    _require_raw(public_raw, "public key")
    return hashlib.sha256(public_raw).hexdigest()


def _require_raw(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != KEY_LENGTH:
        raise MalformedError(f"{what} must be {KEY_LENGTH} raw bytes")


class SigningKey:
    """An Ed25519 key that signs ``tag || data`` for one kind of object at a time."""

    __slots__ = ("_private", "_public_raw")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self._public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's random source."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> SigningKey:
        """Load a key from its raw 32-byte private seed.

        Raises:
            MalformedError: not 32 bytes.
        """
        _require_raw(raw, "Ed25519 private key")
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    def private_bytes(self) -> bytes:
        """The raw 32-byte private seed (for the node's 0600 key file)."""
        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    @property
    def public_raw(self) -> bytes:
        return self._public_raw

    @property
    def key_id(self) -> str:
        return key_id(self._public_raw)

    def sign(self, tag: bytes, data: bytes) -> bytes:
        """Sign ``tag || data``; the tag separates kinds of signed objects (see tags.py)."""
        if not tag.endswith(b"\x00"):
            raise ValueError("domain tags end with a NUL byte")
        return self._private.sign(tag + data)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id[:16]}…)"


def verify_signature(public_raw: bytes, tag: bytes, data: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature over ``tag || data``.

    Raises:
        SignatureError: the key or signature is malformed, or the signature does not verify.
    """
    if not isinstance(public_raw, bytes) or len(public_raw) != KEY_LENGTH:
        raise SignatureError("public key must be 32 raw bytes")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LENGTH:
        raise SignatureError("signature must be 64 raw bytes")
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, tag + data)
    except (InvalidSignature, ValueError) as e:
        raise SignatureError("signature does not verify") from e


class BoxKey:
    """An X25519 key: the station's (or central's, or escrow's) age recipient for sealed files."""

    __slots__ = ("_private_raw", "_public_raw")

    def __init__(self, private_raw: bytes) -> None:
        _require_raw(private_raw, "X25519 private key")
        private = X25519PrivateKey.from_private_bytes(private_raw)
        self._private_raw = private_raw
        self._public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def generate(cls) -> BoxKey:
        """A fresh key from the operating system's random source."""
        private = X25519PrivateKey.generate()
        return cls(private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> BoxKey:
        """Load a key from its raw 32-byte private scalar.

        Raises:
            MalformedError: not 32 bytes.
        """
        return cls(raw)

    @property
    def private_raw(self) -> bytes:
        return self._private_raw

    def private_bytes(self) -> bytes:
        """Same as ``private_raw``; named like ``SigningKey.private_bytes`` for symmetry."""
        return self._private_raw

    @property
    def public_raw(self) -> bytes:
        return self._public_raw

    @property
    def key_id(self) -> str:
        return key_id(self._public_raw)

    @property
    def recipient(self) -> str:
        """The age recipient string ``age1…`` (what ``age -r`` takes)."""
        from .seal import encode_recipient  # imported late: seal.py is a sibling module with its own owner

        return encode_recipient(self._public_raw)

    @property
    def identity(self) -> str:
        """The age identity string ``AGE-SECRET-KEY-1…`` (what ``age -d -i`` reads)."""
        from .seal import encode_identity

        return encode_identity(self._private_raw)

    def __repr__(self) -> str:
        return f"BoxKey(key_id={self.key_id[:16]}…)"


def box_public_from_private(private_raw: bytes) -> bytes:
    """The raw X25519 public key of a raw private key (to learn which recipient an identity is)."""
    return BoxKey(private_raw).public_raw
