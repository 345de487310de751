"""The signed-object envelope shared by checkpoints, acks, bundle manifests, roots, certificates, enrollment
requests and registries.

Layout (exact bytes)::

    b"yiciban-signed/v1 " + kind + b" " + signature_hex + b"\\n" + body

``kind`` is a name from ``tags.ALL`` (lower-case ASCII with underscores), ``signature_hex`` is the 128 lower-case
hex digits of an Ed25519 signature over ``tags.ALL[kind] || body``, and ``body`` is canonical JSON that names the
signing key in its ``kid`` field. The body bytes are kept verbatim: nothing is ever re-serialised to verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import tags
from .canonical import parse_canonical
from .errors import MalformedError, SizeLimitError
from .keys import SigningKey, verify_signature
from .schema import HEX128, require_object

MAGIC = b"yiciban-signed/v1 "
MAX_SIGNED_OBJECT = 16 * 1024 * 1024


@dataclass(frozen=True)
class SignedObject:
    """An envelope as received: the kind, the signature and the exact body bytes, plus the parsed body."""

    kind: str
    signature: bytes
    body: bytes
    fields: dict[str, Any]
    raw: bytes

    def verify(self, public_raw: bytes) -> None:
        """Raises SignatureError unless the signature verifies under ``public_raw``."""
        verify_signature(public_raw, tags.ALL[self.kind], self.body, self.signature)


def sign_object(kind: str, body: bytes, signing_key: SigningKey) -> bytes:
    """Wrap canonical ``body`` bytes in a signed envelope of ``kind``."""
    tag = tags.ALL[kind]
    signature = signing_key.sign(tag, body)
    return MAGIC + kind.encode("ascii") + b" " + signature.hex().encode("ascii") + b"\n" + body


def parse_signed(data: bytes, kind: str, *, max_size: int = MAX_SIGNED_OBJECT) -> SignedObject:
    """Split an envelope of the expected ``kind`` and parse its canonical body (the signature is NOT checked).

    Raises:
        SizeLimitError: larger than ``max_size``.
        MalformedError: not an envelope of this kind, or the body is not canonical JSON of an object.
    """
    if not isinstance(data, bytes):
        raise MalformedError("expected bytes")
    if len(data) > max_size:
        raise SizeLimitError(f"signed {kind} larger than {max_size} bytes")
    if not data.startswith(MAGIC):
        raise MalformedError("not a yiciban signed object")
    newline = data.find(b"\n")
    if newline < 0:
        raise MalformedError("signed object has no header line")
    header = data[len(MAGIC) : newline].split(b" ")
    if len(header) != 2:
        raise MalformedError("signed object header must be '<kind> <signature>'")
    found_kind, signature_hex = header
    if found_kind != kind.encode("ascii"):
        raise MalformedError(f"expected a signed {kind}")
    try:
        signature_text = signature_hex.decode("ascii")
    except UnicodeDecodeError as e:
        raise MalformedError("signature is not hex") from e
    if not HEX128.fullmatch(signature_text):
        raise MalformedError("signature must be 128 lower-case hex digits")
    body = data[newline + 1 :]
    fields = require_object(parse_canonical(body), f"{kind} body")
    return SignedObject(kind, bytes.fromhex(signature_text), body, fields, data)


def join_envelopes(envelopes: Sequence[bytes]) -> bytes:
    """Frame signed envelopes for a bundle part: each one followed by ``\\n``. An envelope has exactly one
    newline of its own (after the header; canonical JSON never contains 0x0A), so every envelope is a pair of
    lines."""
    for envelope in envelopes:
        if envelope.count(b"\n") != 1:
            raise ValueError("a signed envelope holds exactly one newline")
    return b"".join(envelope + b"\n" for envelope in envelopes)


def split_envelopes(data: bytes, *, max_items: int) -> list[bytes]:
    """Undo ``join_envelopes`` (the envelopes themselves are NOT parsed or verified here).

    Raises:
        MalformedError: not pairs of lines each ending in a newline, a pair without the envelope magic, or more
            than ``max_items`` envelopes.
    """
    if not isinstance(data, bytes):
        raise MalformedError("expected bytes")
    lines = data.split(b"\n")
    if lines.pop() != b"" or len(lines) % 2:
        raise MalformedError("envelopes must be pairs of lines, each ending in a newline")
    if len(lines) // 2 > max_items:
        raise MalformedError(f"more than {max_items} envelopes")
    out = []
    for header, body in zip(lines[::2], lines[1::2], strict=True):
        if not header.startswith(MAGIC):
            raise MalformedError("expected a signed envelope header")
        out.append(header + b"\n" + body)
    return out
