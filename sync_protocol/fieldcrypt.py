"""Field-level encryption at rest for personal data (ID numbers, phones) and a keyed lookup hash.

One 32-byte local *data key* is split by HKDF-SHA256 into an encryption key (AES-256-GCM) and a lookup key
(HMAC-SHA256), so the searchable hash never reveals anything about the ciphertext key. A value is encrypted
under a *context* (for example ``"applicant.id_number"``) that is bound in as associated data, so a ciphertext
copied into another column does not open. The lookup hash is computed over a normalised value so equal inputs
typed slightly differently (full-width digits, a trailing space, lower-case ``x``) find each other.

Ciphertext layout: ``version (1 byte, 0x01) || nonce (12 bytes) || AES-GCM ciphertext+tag``.
This module knows nothing of any particular field: callers choose contexts and what to store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import FieldCryptError

DATA_KEY_SIZE = 32
FORMAT_VERSION = 1
NONCE_SIZE = 12
_TAG_SIZE = 16
_ENCRYPTION_INFO = b"yiciban/v1/fieldcrypt/encrypt"
_LOOKUP_INFO = b"yiciban/v1/fieldcrypt/lookup"


def generate_data_key() -> bytes:
    """Return a fresh random 32-byte data key."""
    return os.urandom(DATA_KEY_SIZE)


def normalise_lookup_value(value: str) -> str:
    """Canonical form used for lookup hashes: NFKC, trimmed, inner whitespace removed, case-folded."""
    folded = unicodedata.normalize("NFKC", value)
    return "".join(folded.split()).casefold()


def _derive(data_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key)


class FieldCipher:
    """Encrypts, decrypts and hashes personal-data fields with keys derived from one local data key."""

    def __init__(self, data_key: bytes) -> None:
        if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_SIZE:
            raise FieldCryptError("the data key must be exactly 32 bytes")
        self._aead = AESGCM(_derive(data_key, _ENCRYPTION_INFO))
        self._lookup_key = _derive(data_key, _LOOKUP_INFO)

    def encrypt(self, plaintext: str, context: str) -> bytes:
        """Encrypt ``plaintext`` (UTF-8) bound to ``context``; a fresh random nonce every call.

        Raises:
            FieldCryptError: the context is empty.
        """
        if not context:
            raise FieldCryptError("a field context is required")
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return bytes([FORMAT_VERSION]) + nonce + sealed

    def decrypt(self, blob: bytes, context: str) -> str:
        """Open a value produced by :meth:`encrypt` under the same key and context.

        Raises:
            FieldCryptError: unknown version, truncated bytes, wrong key or context, or tampering.
        """
        data = bytes(blob)
        if len(data) < 1 + NONCE_SIZE + _TAG_SIZE:
            raise FieldCryptError("encrypted field is truncated")
        if data[0] != FORMAT_VERSION:
            raise FieldCryptError(f"unknown encrypted field version {data[0]}")
        nonce, sealed = data[1 : 1 + NONCE_SIZE], data[1 + NONCE_SIZE :]
        try:
            plain = self._aead.decrypt(nonce, sealed, context.encode("utf-8"))
        except InvalidTag as e:
            raise FieldCryptError(
                "encrypted field does not authenticate (wrong key, context or damaged)"
            ) from e
        return plain.decode("utf-8")

    def lookup_hash(self, value: str, context: str) -> str:
        """Keyed HMAC-SHA256 (hex) of the normalised value, separated per context, for equality search."""
        message = context.encode("utf-8") + b"\x00" + normalise_lookup_value(value).encode("utf-8")
        return hmac.new(self._lookup_key, message, hashlib.sha256).hexdigest()
