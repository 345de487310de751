"""Sealing: the age v1 file format (https://age-encryption.org/v1) with X25519 recipients.

Every file that leaves a node is sealed here, to central's ingest key and an offline escrow key, so an auditor can
open any file with the stock ``age`` tool. Built only from ``cryptography`` primitives; the exact bytes are in
docs/PROTOCOL.md, section "Sealing (age v1)".

Parsing is strict and fails closed: one version line, stanzas with canonical unpadded base64 wrapped at 64
columns, a header MAC, then a STREAM payload of 64 KiB ChaCha20-Poly1305 chunks whose last chunk carries the final
flag. A truncated stream, data after the final chunk, an empty final chunk after data, any flipped bit or a header
taken from another file raises a ``SealError`` subclass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import bech32
from .errors import (
    Bech32Error,
    NoIdentityError,
    SealAuthError,
    SealError,
    SealHeaderError,
    SealTruncatedError,
    SizeLimitError,
)

VERSION_LINE = b"age-encryption.org/v1"
X25519_INFO = b"age-encryption.org/v1/X25519"
HEADER_INFO = b"header"
PAYLOAD_INFO = b"payload"
MAC_PREFIX = b"---"
STANZA_PREFIX = b"-> "
X25519_STANZA_TYPE = b"X25519"
BODY_COLUMNS = 64
FILE_KEY_SIZE = 16
PAYLOAD_NONCE_SIZE = 16
KEY_SIZE = 32
TAG_SIZE = 16
CHUNK_SIZE = 64 * 1024
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
MAX_STANZAS = 64
DEFAULT_MAX_SIZE = 64 * 1024 * 1024
RECIPIENT_HRP = "age"
IDENTITY_HRP = "AGE-SECRET-KEY-"

_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_ZERO_NONCE = bytes(12)


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: its arguments (the first is the type) and its decoded body."""

    args: tuple[bytes, ...]
    body: bytes


@dataclass(frozen=True)
class Header:
    """A parsed header: the stanzas, the MAC, the bytes the MAC covers, and where the payload starts."""

    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes
    payload_offset: int


# --- encodings -----------------------------------------------------------------------------------------------


def b64encode_unpadded(data: bytes) -> bytes:
    """Standard base64 without ``=`` padding, as every base64 field of an age header."""
    return base64.b64encode(data).rstrip(b"=")


def b64decode_canonical(text: bytes) -> bytes:
    """Decode unpadded base64, rejecting padding, foreign characters and non-canonical trailing bits.

    Raises:
        SealHeaderError: the text is not the one canonical unpadded encoding of some bytes.
    """
    if not _BASE64_ALPHABET.issuperset(text) or len(text) % 4 == 1:
        raise SealHeaderError("invalid unpadded base64")
    try:
        decoded = base64.b64decode(text + b"=" * (-len(text) % 4), validate=True)
    except binascii.Error as e:  # pragma: no cover - the alphabet and length checks above exclude this
        raise SealHeaderError("invalid base64") from e
    if b64encode_unpadded(decoded) != text:
        raise SealHeaderError("non-canonical base64")
    return decoded


def encode_recipient(public_raw: bytes) -> str:
    """Encode a raw X25519 public key as an age recipient ``age1…``.

    Raises:
        Bech32Error: the key is not 32 bytes.
    """
    if len(public_raw) != KEY_SIZE:
        raise Bech32Error("an X25519 public key is 32 bytes")
    return bech32.encode(RECIPIENT_HRP, bytes(public_raw))


def decode_recipient(text: str) -> bytes:
    """Decode ``age1…`` to the raw 32-byte X25519 public key.

    Raises:
        Bech32Error: not a lower-case age X25519 recipient with a valid checksum.
    """
    hrp, payload = bech32.decode(text.strip())
    if hrp != RECIPIENT_HRP or len(payload) != KEY_SIZE:
        raise Bech32Error("not an age X25519 recipient")
    return payload


def encode_identity(private_raw: bytes) -> str:
    """Encode a raw X25519 private key as an age identity ``AGE-SECRET-KEY-1…``.

    Raises:
        Bech32Error: the key is not 32 bytes.
    """
    if len(private_raw) != KEY_SIZE:
        raise Bech32Error("an X25519 private key is 32 bytes")
    return bech32.encode(IDENTITY_HRP, bytes(private_raw))


def decode_identity(text: str) -> bytes:
    """Decode ``AGE-SECRET-KEY-1…`` to the raw 32-byte X25519 private key.

    Raises:
        Bech32Error: not an upper-case age X25519 identity with a valid checksum.
    """
    hrp, payload = bech32.decode(text.strip())
    if hrp != IDENTITY_HRP or len(payload) != KEY_SIZE:
        raise Bech32Error("not an age X25519 identity")
    return payload


def public_key_of(private_raw: bytes) -> bytes:
    """The raw X25519 public key (age recipient) of a raw private key (age identity)."""
    return X25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes_raw()


# --- key schedule --------------------------------------------------------------------------------------------


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _header_mac(file_key: bytes, mac_input: bytes) -> bytes:
    return hmac.new(_hkdf(file_key, b"", HEADER_INFO), mac_input, hashlib.sha256).digest()


def _chunk_nonce(counter: int, final: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def _wrap_file_key(file_key: bytes, recipient: bytes, ephemeral_secret: bytes) -> Stanza:
    ephemeral = X25519PrivateKey.from_private_bytes(ephemeral_secret)
    share = ephemeral.public_key().public_bytes_raw()
    try:
        shared_secret = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    except ValueError as e:  # a low-order point gives the all-zero secret
        raise SealError("unusable recipient public key") from e
    wrap_key = _hkdf(shared_secret, share + recipient, X25519_INFO)
    body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza(args=(X25519_STANZA_TYPE, b64encode_unpadded(share)), body=body)


def _unwrap_file_key(stanza: Stanza, identity: X25519PrivateKey, identity_public: bytes) -> bytes | None:
    share = b64decode_canonical(stanza.args[1])
    try:
        shared_secret = identity.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError as e:
        raise SealHeaderError("X25519 stanza share is a low-order point") from e
    wrap_key = _hkdf(shared_secret, share + identity_public, X25519_INFO)
    try:
        return ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
    except InvalidTag:
        return None


# --- header --------------------------------------------------------------------------------------------------


def _encode_stanza(stanza: Stanza) -> bytes:
    body = b64encode_unpadded(stanza.body)
    lines = [body[i : i + BODY_COLUMNS] for i in range(0, len(body), BODY_COLUMNS)]
    if not lines or len(lines[-1]) == BODY_COLUMNS:
        lines.append(b"")
    return STANZA_PREFIX + b" ".join(stanza.args) + b"\n" + b"".join(line + b"\n" for line in lines)


def _encode_header(stanzas: Sequence[Stanza], file_key: bytes) -> bytes:
    mac_input = VERSION_LINE + b"\n" + b"".join(_encode_stanza(s) for s in stanzas) + MAC_PREFIX
    return mac_input + b" " + b64encode_unpadded(_header_mac(file_key, mac_input)) + b"\n"


def _is_argument(arg: bytes) -> bool:
    return bool(arg) and all(0x21 <= c <= 0x7E for c in arg)


def _check_x25519_stanza(stanza: Stanza) -> None:
    if len(stanza.args) != 2:
        raise SealHeaderError("an X25519 stanza has exactly two arguments")
    if len(b64decode_canonical(stanza.args[1])) != KEY_SIZE:
        raise SealHeaderError("an X25519 share is 32 bytes")
    if len(stanza.body) != FILE_KEY_SIZE + TAG_SIZE:
        raise SealHeaderError("an X25519 stanza body is 32 bytes")


def parse_header(data: bytes) -> Header:
    """Parse and structurally validate an age v1 header; the MAC is checked later, once the file key is known.

    Raises:
        SealHeaderError: any deviation from the v1 header grammar.
    """
    position = 0

    def next_line() -> bytes:
        nonlocal position
        end = data.find(b"\n", position)
        if end < 0:
            raise SealHeaderError("header ends without a line feed")
        line = data[position:end]
        position = end + 1
        return line

    if next_line() != VERSION_LINE:
        raise SealHeaderError("not an age v1 file")
    stanzas: list[Stanza] = []
    while True:
        line_start = position
        line = next_line()
        if line.startswith(MAC_PREFIX):
            if line[3:4] != b" " or len(line) != 4 + 43:
                raise SealHeaderError("malformed MAC line")
            mac = b64decode_canonical(line[4:])
            break
        if not line.startswith(STANZA_PREFIX):
            raise SealHeaderError("expected a stanza or the MAC line")
        args = tuple(line[len(STANZA_PREFIX) :].split(b" "))
        if not all(_is_argument(a) for a in args):
            raise SealHeaderError("stanza arguments must be non-empty printable ASCII")
        body_lines: list[bytes] = []
        while True:
            body_line = next_line()
            if len(body_line) > BODY_COLUMNS:
                raise SealHeaderError("stanza body line longer than 64 columns")
            body_lines.append(body_line)
            if len(body_line) < BODY_COLUMNS:
                break
        stanza = Stanza(args=args, body=b64decode_canonical(b"".join(body_lines)))
        if stanza.args[0] == X25519_STANZA_TYPE:
            _check_x25519_stanza(stanza)
        stanzas.append(stanza)
        if len(stanzas) > MAX_STANZAS:
            raise SealHeaderError("too many stanzas")
    if not stanzas:
        raise SealHeaderError("a header needs at least one stanza")
    return Header(stanzas=tuple(stanzas), mac=mac, mac_input=data[: line_start + 3], payload_offset=position)


# --- payload (STREAM) ----------------------------------------------------------------------------------------


def encrypt_chunks(payload_key: bytes, plaintext: bytes) -> Iterator[bytes]:
    """Yield the encrypted 64 KiB chunks of ``plaintext``; the last carries the final flag (0x01)."""
    aead = ChaCha20Poly1305(payload_key)
    view = memoryview(plaintext)
    count = max(1, -(-len(view) // CHUNK_SIZE))
    for counter in range(count):
        chunk = view[counter * CHUNK_SIZE : (counter + 1) * CHUNK_SIZE]
        yield aead.encrypt(_chunk_nonce(counter, counter == count - 1), chunk, None)


def decrypt_chunks(payload_key: bytes, ciphertext: memoryview) -> Iterator[bytes]:
    """Yield decrypted chunks, verifying the final flag sits on the last chunk and nowhere else.

    Raises:
        SealTruncatedError: no final chunk (the stream stops at a chunk boundary or inside the tag).
        SealAuthError: a chunk fails authentication, data follows the final chunk, or a final chunk is empty.
    """
    if not ciphertext:
        raise SealTruncatedError("payload has no chunks")
    aead = ChaCha20Poly1305(payload_key)
    count = -(-len(ciphertext) // ENCRYPTED_CHUNK_SIZE)
    for counter in range(count):
        chunk = ciphertext[counter * ENCRYPTED_CHUNK_SIZE : (counter + 1) * ENCRYPTED_CHUNK_SIZE]
        last = counter == count - 1
        if len(chunk) < TAG_SIZE:
            raise SealTruncatedError("payload ends inside a chunk tag")
        try:
            plain = aead.decrypt(_chunk_nonce(counter, last), chunk, None)
        except InvalidTag:
            raise _classify_failed_chunk(aead, counter, chunk, last) from None
        if last and not plain and counter > 0:
            raise SealAuthError("empty final chunk after a non-empty payload")
        yield plain


def _classify_failed_chunk(aead: ChaCha20Poly1305, counter: int, chunk: memoryview, last: bool) -> SealError:
    try:
        aead.decrypt(_chunk_nonce(counter, not last), chunk, None)
    except InvalidTag:
        return SealAuthError("payload chunk fails authentication", chunk=counter)
    if last:
        return SealTruncatedError("payload stops before its final chunk", chunk=counter)
    return SealAuthError("data follows the final chunk", chunk=counter)


# --- public API ----------------------------------------------------------------------------------------------


def seal(plaintext: bytes, recipients: Sequence[bytes], *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Seal ``plaintext`` to every recipient as one age v1 file.

    Args:
        plaintext: the bytes to protect.
        recipients: raw 32-byte X25519 public keys (central ingest and escrow); one stanza each, in order.
        max_size: cap on the sealed file's length.

    Raises:
        SealError: no recipients, or a recipient is not a usable X25519 public key.
        SizeLimitError: the sealed file would exceed ``max_size``.
    """
    if len(plaintext) > max_size:
        raise SizeLimitError("plaintext is larger than the sealed-file cap", size=len(plaintext))
    return _seal_with(
        plaintext,
        recipients,
        file_key=os.urandom(FILE_KEY_SIZE),
        ephemeral_secrets=[os.urandom(KEY_SIZE) for _ in recipients],
        payload_nonce=os.urandom(PAYLOAD_NONCE_SIZE),
        max_size=max_size,
    )


def _seal_with(
    plaintext: bytes,
    recipients: Sequence[bytes],
    *,
    file_key: bytes,
    ephemeral_secrets: Sequence[bytes],
    payload_nonce: bytes,
    max_size: int = DEFAULT_MAX_SIZE,
) -> bytes:
    """Seal with caller-chosen randomness. Only ``seal`` and the test-vector generator may call this."""
    if not recipients:
        raise SealError("seal needs at least one recipient")
    if not all(_is_raw_key(r) for r in recipients) or len(ephemeral_secrets) != len(recipients):
        raise SealError("recipients are raw 32-byte X25519 public keys")
    stanzas = [
        _wrap_file_key(file_key, bytes(r), e) for r, e in zip(recipients, ephemeral_secrets, strict=True)
    ]
    payload_key = _hkdf(file_key, payload_nonce, PAYLOAD_INFO)
    parts = [_encode_header(stanzas, file_key), payload_nonce]
    parts.extend(encrypt_chunks(payload_key, plaintext))
    sealed = b"".join(parts)
    if len(sealed) > max_size:
        raise SizeLimitError("sealed file is larger than the cap", size=len(sealed))
    return sealed


def open_sealed(data: bytes, identities: Sequence[bytes], *, max_size: int = DEFAULT_MAX_SIZE) -> bytes:
    """Open an age v1 file with any of ``identities`` and return the plaintext.

    Args:
        data: the whole sealed file.
        identities: raw 32-byte X25519 private keys; each is tried against every X25519 stanza.
        max_size: cap on the sealed file's length, checked before any parsing.

    Raises:
        SizeLimitError: ``data`` is longer than ``max_size``.
        SealHeaderError: the header is malformed or its MAC does not verify.
        NoIdentityError: no identity unwraps any stanza.
        SealTruncatedError: the payload ends before its final chunk.
        SealAuthError: a payload chunk fails authentication, or data follows the final chunk.
    """
    if len(data) > max_size:
        raise SizeLimitError("sealed file is larger than the cap", size=len(data))
    data = bytes(data)
    header = parse_header(data)
    file_key = _find_file_key(header, identities)
    if not hmac.compare_digest(_header_mac(file_key, header.mac_input), header.mac):
        raise SealHeaderError("header MAC does not verify")
    payload = memoryview(data)[header.payload_offset :]
    if len(payload) < PAYLOAD_NONCE_SIZE:
        raise SealTruncatedError("payload ends inside its nonce")
    payload_key = _hkdf(file_key, bytes(payload[:PAYLOAD_NONCE_SIZE]), PAYLOAD_INFO)
    return b"".join(decrypt_chunks(payload_key, payload[PAYLOAD_NONCE_SIZE:]))


def _is_raw_key(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == KEY_SIZE


def _find_file_key(header: Header, identities: Sequence[bytes]) -> bytes:
    x25519_stanzas = [s for s in header.stanzas if s.args[0] == X25519_STANZA_TYPE]
    for raw in identities:
        if not _is_raw_key(raw):
            raise SealError("identities are raw 32-byte X25519 private keys")
        identity = X25519PrivateKey.from_private_bytes(bytes(raw))
        identity_public = identity.public_key().public_bytes_raw()
        for stanza in x25519_stanzas:
            file_key = _unwrap_file_key(stanza, identity, identity_public)
            if file_key is not None:
                return file_key
    raise NoIdentityError("no identity opens any stanza of this file")
