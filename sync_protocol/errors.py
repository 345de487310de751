"""Every failure the wire can produce, each with a stable reason code central can show to a human.

Tree::

    ProtocolError                      reason codes are lower_snake_case and stable on the wire (acks, quarantine)
    ├── MalformedError                 bytes that do not parse, or a schema violation
    │   ├── NonCanonicalError          the body is not the one canonical encoding of itself
    │   ├── SizeLimitError             over a documented size cap
    │   ├── Bech32Error                an age key string that is not valid Bech32
    │   ├── BlobMismatchError          a blob whose content does not match its reference
    │   └── DigestMismatchError        a section whose sha256 differs from the signed digest
    ├── SealError                      the age container
    │   ├── SealHeaderError            header unparsable, or its MAC fails
    │   ├── SealTruncatedError         the STREAM ended before a final chunk
    │   ├── SealAuthError              a payload chunk fails authentication
    │   └── NoIdentityError            none of our identities opens any stanza
    ├── SignatureError                 an Ed25519 signature does not verify
    ├── WrongNetworkError              signed for another deployment
    ├── WrongRecipientError            checkpoint names a different recipient key
    ├── TrustError                     keys, certificates, roots, registry
    │   ├── UnknownKeyError            station or key not (yet) enrolled
    │   ├── RevokedKeyError            key revoked before this seq
    │   └── RootRotationError          a new root not signed by the old one
    ├── ChainError                     hash chain and epochs
    │   ├── ForkError                  two different events claim one (station, epoch, seq)
    │   └── GapError                   a predecessor is missing
    ├── RollbackError                  a version (ack, bundle, part) went backwards
    ├── StaleBundleError               a delta whose prev is not what we last applied
    ├── EnrollmentError                an enrollment request or code is unusable
    ├── FieldCryptError                a field encrypted at rest cannot be decrypted
    └── ResolutionConflictError        a second, different resolution for a conflict already resolved

Modules of this package may add subclasses at the END of this file (append only), each with a one-line
docstring and a unique ``reason``.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error raised by sync_protocol."""

    reason = "protocol_error"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__doc__ or self.reason)
        self.message = message or (self.__class__.__doc__ or self.reason)
        self.details = details

    def to_dict(self) -> dict[str, object]:
        """Plain form for quarantine records and acks."""
        return {"reason": self.reason, "message": self.message}


class MalformedError(ProtocolError):
    """The bytes do not parse, or a field violates the schema."""

    reason = "malformed"


class NonCanonicalError(MalformedError):
    """The body is not the canonical encoding of its own content."""

    reason = "non_canonical"


class SizeLimitError(MalformedError):
    """The input is larger than the documented cap."""

    reason = "size_limit"


class SealError(ProtocolError):
    """The sealed (age v1) container cannot be opened."""

    reason = "seal_failed"


class SealHeaderError(SealError):
    """The age header is malformed or its MAC does not verify."""

    reason = "seal_header"


class SealTruncatedError(SealError):
    """The payload stream ended before its final chunk."""

    reason = "seal_truncated"


class SealAuthError(SealError):
    """A payload chunk failed ChaCha20-Poly1305 authentication."""

    reason = "seal_auth"


class NoIdentityError(SealError):
    """None of the supplied identities can open this file."""

    reason = "seal_no_identity"


class SignatureError(ProtocolError):
    """An Ed25519 signature does not verify."""

    reason = "bad_signature"


class WrongNetworkError(ProtocolError):
    """The object was signed for another deployment (network id)."""

    reason = "wrong_network"


class WrongRecipientError(ProtocolError):
    """The signed checkpoint names a different recipient than the one that opened it."""

    reason = "wrong_recipient"


class TrustError(ProtocolError):
    """A key, certificate, root or registry problem."""

    reason = "trust"


class UnknownKeyError(TrustError):
    """The station or key is not (yet) enrolled."""

    reason = "unknown_key"


class RevokedKeyError(TrustError):
    """The key was revoked before this sequence number."""

    reason = "revoked_key"


class RootRotationError(TrustError):
    """A new trust root is not signed by the previous root."""

    reason = "root_rotation"


class ChainError(ProtocolError):
    """The hash chain or epoch structure is broken."""

    reason = "chain"


class ForkError(ChainError):
    """Two different events claim the same (station, epoch, seq)."""

    reason = "fork"


class GapError(ChainError):
    """A predecessor of this event is missing."""

    reason = "gap"


class RollbackError(ProtocolError):
    """A version (ack, bundle or part) is older than the one already held."""

    reason = "rollback"


class StaleBundleError(ProtocolError):
    """A delta bundle does not continue from the last applied bundle: ask for a snapshot."""

    reason = "stale_bundle"


class EnrollmentError(ProtocolError):
    """An enrollment request or one-time code cannot be used."""

    reason = "enrollment"


class Bech32Error(MalformedError):
    """A Bech32 key string (age1…, AGE-SECRET-KEY-1…) is malformed or fails its checksum."""

    reason = "bech32"


class BlobMismatchError(MalformedError):
    """An opened blob's content does not match its declared or expected sha256, size or media type."""

    reason = "blob_mismatch"


class FieldCryptError(ProtocolError):
    """An encrypted field cannot be opened: wrong key, wrong field context, or damaged bytes."""

    reason = "field_crypt"


class DigestMismatchError(MalformedError):
    """A section's sha256 or length differs from what its signed manifest says."""

    reason = "digest_mismatch"


class ResolutionConflictError(ProtocolError):
    """A central resolution names a conflict that another resolution already ended."""

    reason = "already_resolved"
