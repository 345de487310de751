"""Large blobs (scans, photos) as their own sealed, content-addressed files, resumable and deduplicated by hash.

A blob file is named ``blob-<sha256 of the content>.age`` (no personal data) and is an age v1 file (seal.py) whose
plaintext is::

    yiciban-blob/v1\\n
    {"mt":"<media type>","sha256":"<64 hex>","size":<n>}\\n      canonical JSON, unsigned
    <n content bytes>

The inner header is not signed: the batch checkpoint that references the blob (sha256, size, media type) is, and
``open_blob`` checks the content against both the inner header and the hash the caller expects. Sealing is
randomised, so one content has many possible sealed files; dedup is by the content hash in the name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .canonical import canonical_bytes, parse_canonical
from .errors import BlobMismatchError, MalformedError, SizeLimitError
from .events import AttachmentRef
from .layout import blob_file_name
from .seal import DEFAULT_MAX_SIZE, open_sealed, seal

MAGIC = b"yiciban-blob/v1\n"
MAX_BLOB_SIZE = 63 * 1024 * 1024
"""Content cap: header, STREAM tags and the age header fit in the 64 MiB sealed-file cap."""
MAX_INNER_HEADER = 512
DEFAULT_CHUNK = 1024 * 1024
"""Transfer chunk for resumable uploads (HTTP PUT by offset)."""

_SHA256 = re.compile(r"[0-9a-f]{64}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")
_FILE_NAME = re.compile(r"blob-([0-9a-f]{64})\.age")
_HEADER_FIELDS = frozenset({"mt", "sha256", "size"})


class BlobReference(Protocol):
    """Anything naming a blob by sha256, size and media type."""

    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def media_type(self) -> str: ...


BlobRef = AttachmentRef
"""A blob's reference is exactly the attachment reference an event carries (附件): one type, one encoding."""


def _checked_ref(sha256: Any, size: Any, media_type: Any) -> AttachmentRef:
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise MalformedError("blob sha256 must be 64 lower-case hex digits")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_BLOB_SIZE:
        raise MalformedError("blob size out of range")
    if not isinstance(media_type, str) or not _MEDIA_TYPE.fullmatch(media_type):
        raise MalformedError("blob media type must look like type/subtype in lower case")
    return AttachmentRef(sha256, size, media_type)


@dataclass(frozen=True)
class SealedBlob:
    """A blob ready for a carrier: its reference, file name, sealed bytes and their sha256 (for resumed uploads)."""

    ref: AttachmentRef
    name: str
    data: bytes
    sealed_sha256: str


@dataclass(frozen=True)
class BlobChunk:
    """One piece of a sealed blob file for resumable transfer."""

    offset: int
    data: bytes
    total: int

    @property
    def end(self) -> int:
        return self.offset + len(self.data)

    @property
    def is_last(self) -> bool:
        return self.end == self.total


def parse_blob_file_name(name: str) -> str:
    """The content sha256 a blob file name promises.

    Raises:
        MalformedError: not a blob file name.
    """
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        raise MalformedError("not a blob file name")
    return match.group(1)


def blob_ref(content: bytes, media_type: str) -> AttachmentRef:
    """The reference an event carries for ``content``.

    Raises:
        MalformedError: bad media type.
        SizeLimitError: content larger than MAX_BLOB_SIZE.
    """
    if len(content) > MAX_BLOB_SIZE:
        raise SizeLimitError(f"blob larger than {MAX_BLOB_SIZE} bytes", size=len(content))
    return _checked_ref(hashlib.sha256(content).hexdigest(), len(content), media_type)


def seal_blob(content: bytes, media_type: str, recipients: Sequence[bytes]) -> SealedBlob:
    """Seal ``content`` as its own content-addressed file to ``recipients`` (raw X25519 public keys).

    Raises:
        MalformedError: bad media type.
        SizeLimitError: content larger than MAX_BLOB_SIZE.
        SealError: unusable recipients.
    """
    ref = blob_ref(content, media_type)
    data = seal(
        MAGIC + canonical_bytes(ref.to_dict()) + b"\n" + content, recipients, max_size=DEFAULT_MAX_SIZE
    )
    return SealedBlob(ref, blob_file_name(ref.sha256), data, hashlib.sha256(data).hexdigest())


def open_blob(
    data: bytes,
    identities: Sequence[bytes],
    *,
    expected: BlobReference | None = None,
    expected_sha256: str | None = None,
) -> tuple[AttachmentRef, bytes]:
    """Open a sealed blob file and verify its content hash and size against its inner header and the caller.

    Args:
        data: the sealed file.
        identities: raw X25519 private keys.
        expected: the reference a verified checkpoint or event named; all three fields must match.
        expected_sha256: the hash the file name promised (see ``parse_blob_file_name``).

    Raises:
        SealError: the age layer fails (truncation, tampering, wrong key).
        MalformedError: the plaintext is not a blob container.
        BlobMismatchError: the content does not match its header or what the caller expected.
    """
    plaintext = open_sealed(data, identities)
    if not plaintext.startswith(MAGIC):
        raise MalformedError("not a yiciban blob")
    end = plaintext.find(b"\n", len(MAGIC), len(MAGIC) + MAX_INNER_HEADER)
    if end < 0:
        raise MalformedError("blob header missing or too long")
    fields = parse_canonical(plaintext[len(MAGIC) : end])
    if not isinstance(fields, dict) or set(fields) != _HEADER_FIELDS:
        raise MalformedError("blob header needs exactly mt, sha256 and size")
    declared = _checked_ref(fields["sha256"], fields["size"], fields["mt"])
    content = plaintext[end + 1 :]
    actual = hashlib.sha256(content).hexdigest()
    if len(content) != declared.size or actual != declared.sha256:
        raise BlobMismatchError("blob content does not match its header")
    if expected is not None and (expected.sha256, expected.size, expected.media_type) != (
        declared.sha256,
        declared.size,
        declared.media_type,
    ):
        raise BlobMismatchError("blob is not the one referenced")
    if expected_sha256 is not None and expected_sha256 != actual:
        raise BlobMismatchError("blob content does not match its file name")
    return declared, content


def blob_chunks(data: bytes, size: int = DEFAULT_CHUNK, *, start: int = 0) -> Iterator[BlobChunk]:
    """Split a sealed blob file into transfer chunks from ``start`` (the offset the receiver already holds).

    Raises:
        ValueError: ``size`` is not positive or ``start`` lies outside the file.
    """
    if size <= 0:
        raise ValueError("chunk size must be positive")
    if not 0 <= start <= len(data):
        raise ValueError("start offset outside the file")
    view = memoryview(data)
    if not data and start == 0:
        yield BlobChunk(0, b"", 0)
        return
    for offset in range(start, len(data), size):
        yield BlobChunk(offset, bytes(view[offset : offset + size]), len(data))


def bytes_to_append(held: int, offset: int, chunk: bytes, total: int) -> bytes:
    """Receiver side of a resumed upload: the part of ``chunk`` (sent at ``offset``) beyond the ``held`` bytes.

    A chunk wholly inside what is held is a repeat and yields nothing; one that starts past the held end would
    leave a hole and is refused. The assembled file is checked against the sender's ``sealed_sha256`` and then
    opened with ``open_blob``, so overlapping bytes need not be compared here.

    Raises:
        MalformedError: the chunk starts after the held bytes, or negative offsets.
        SizeLimitError: the chunk runs past the declared total or the total is over the sealed-file cap.
    """
    if held < 0 or offset < 0 or total < 0:
        raise MalformedError("offsets and sizes are not negative")
    if total > DEFAULT_MAX_SIZE:
        raise SizeLimitError("blob file larger than the sealed-file cap", size=total)
    if offset > held:
        raise MalformedError("chunk starts after the bytes already held", held=held, offset=offset)
    if offset + len(chunk) > total:
        raise SizeLimitError("chunk runs past the declared file size", total=total)
    return chunk[held - offset :] if offset + len(chunk) > held else b""


def dedup_refs(refs: Iterable[AttachmentRef]) -> list[AttachmentRef]:
    """Distinct blobs by content hash, first occurrence first.

    Raises:
        BlobMismatchError: one hash is declared with two different sizes or media types.
    """
    seen: dict[str, AttachmentRef] = {}
    for ref in refs:
        held = seen.setdefault(ref.sha256, ref)
        if held != ref:
            raise BlobMismatchError("one content hash declared with different size or media type")
    return list(seen.values())


def missing_blobs(wanted: Iterable[AttachmentRef], held_sha256: Iterable[str]) -> list[AttachmentRef]:
    """The blobs among ``wanted`` (deduplicated) whose content hash the receiver does not hold yet."""
    held = set(held_sha256)
    return [ref for ref in dedup_refs(wanted) if ref.sha256 not in held]
