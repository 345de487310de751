"""Blob files at central (附件文件): resumable receipt of sealed blobs, verification, and inline blobs of batches.

A sealed blob travels as ``blob-<content sha256>.age`` (sync_protocol.blobs). Uploads arrive in pieces with
``Content-Range``; the bytes held so far live in ``blobs/partial/`` so a cut connection resumes where it stopped.
When the last byte arrives the file is opened with central's ingest key and checked against the hash its name
promises; only then is it renamed into ``blobs/``. A file that fails is moved to ``quarantine/`` with a reason file
next to it and an audit entry, never kept as if it were good.

Small blobs carried inside a batch are already verified (the batch signature covers them); ``save_inline_blobs``
re-seals them at ingest commit as the same ``blobs/blob-<sha256>.age`` files.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sync_protocol.batch import InlineBlob
from sync_protocol.blobs import open_blob, parse_blob_file_name, seal_blob
from sync_protocol.errors import ProtocolError
from sync_protocol.layout import blob_file_name

from ..errors import UploadError
from ..files import atomic_write, fsync_dir
from .audit import record_audit

SHA256 = re.compile(r"^[0-9a-f]{64}$")
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
CHUNK = 64 * 1024
HELD_LENGTH_HEADER = "X-Blob-Held-Length"

# Appends to one partial file must not interleave; uploads are rare and small, so one lock is enough.
_append_lock = threading.Lock()


class BlobOffsetError(UploadError):
    """The piece does not start where the held bytes end (the sender resumes from the held length)."""

    code = "offset_mismatch"
    http_status = 409

    def __init__(self, message: str, held: int) -> None:
        super().__init__(message)
        self.held = held


class BlobRejectedError(UploadError):
    """The complete blob file failed verification and was quarantined."""

    code = "blob_quarantined"
    http_status = 422

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class BlobState:
    held: int
    complete: bool


@dataclass(frozen=True)
class ContentRange:
    start: int
    end: int  # inclusive, as HTTP writes it
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def check_sha256(sha256: str) -> str:
    if not SHA256.match(sha256):
        raise UploadError("a blob is named by 64 lower-case hex digits", code="bad_name")
    return sha256


def parse_content_range(header: str | None, body_length: int | None) -> ContentRange:
    """``bytes <start>-<end>/<total>``; without the header the body is the whole file."""
    if header is None:
        if body_length is None or body_length == 0:
            raise UploadError("Content-Range or Content-Length is required", code="bad_range")
        return ContentRange(0, body_length - 1, body_length)
    match = CONTENT_RANGE.match(header.strip())
    if match is None:
        raise UploadError("Content-Range must be 'bytes <start>-<end>/<total>'", code="bad_range")
    start, end, total = (int(g) for g in match.groups())
    if not start <= end < total:
        raise UploadError("Content-Range needs start <= end < total", code="bad_range")
    if body_length is not None and body_length != end - start + 1:
        raise UploadError("the body length does not match Content-Range", code="bad_range")
    return ContentRange(start, end, total)


def blob_path(instance: Path, sha256: str) -> Path:
    return instance / "blobs" / blob_file_name(sha256)


def _partial_path(instance: Path, sha256: str) -> Path:
    return instance / "blobs" / "partial" / f"{blob_file_name(sha256)}.part"


def blob_state(instance: Path, sha256: str) -> BlobState | None:
    """How many bytes of the sealed file are held, and whether it is complete; None when nothing is."""
    check_sha256(sha256)
    final = blob_path(instance, sha256)
    if final.exists():
        return BlobState(final.stat().st_size, True)
    partial = _partial_path(instance, sha256)
    if partial.exists():
        return BlobState(partial.stat().st_size, False)
    return None


def _append(stream: BinaryIO, partial: Path, held: int, length: int) -> int:
    """Append exactly ``length`` bytes of ``stream``; on any failure cut the file back to ``held``."""
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as out:
        out.seek(held)
        written = 0
        try:
            while written < length:
                chunk = stream.read(min(CHUNK, length - written))
                if not chunk:
                    raise UploadError("the body ended before Content-Range said", code="bad_range")
                out.write(chunk)
                written += len(chunk)
            if stream.read(1):
                raise UploadError("the body is longer than Content-Range said", code="bad_range")
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            out.truncate(held)
            raise
    return held + written


def _quarantine(instance: Path, sha256: str, partial: Path, reason: str, message: str) -> None:
    folder = instance / "quarantine"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{blob_file_name(sha256)}.{os.urandom(4).hex()}"
    os.replace(partial, target)
    atomic_write(target.with_name(target.name + ".reason"), f"{reason}: {message}\n".encode())
    fsync_dir(folder)
    from ..db import write_transaction

    with write_transaction():
        record_audit(
            "system", "blob_quarantined", blob_file_name(sha256), {"reason": reason, "message": message}
        )


def _seal_in(instance: Path, sha256: str, partial: Path, identities: list[bytes]) -> None:
    try:
        open_blob(partial.read_bytes(), identities, expected_sha256=sha256)
    except ProtocolError as e:
        _quarantine(instance, sha256, partial, e.reason, e.message)
        raise BlobRejectedError(f"blob failed verification ({e.reason}) and was quarantined", e.reason) from e
    final = blob_path(instance, sha256)
    os.chmod(partial, 0o600)
    os.replace(partial, final)
    fsync_dir(final.parent)


def receive_blob_piece(
    stream: BinaryIO,
    sha256: str,
    content_range: ContentRange,
    *,
    instance: Path,
    max_bytes: int,
    identities: list[bytes],
) -> BlobState:
    """Store one piece of a sealed blob; a blob already complete is a duplicate (content addressed).

    Raises:
        UploadError: bad name or range, or over ``max_bytes`` (413).
        BlobOffsetError: the piece does not start at the held length (409; the held length rides along).
        BlobRejectedError: the finished file failed verification and went to quarantine.
    """
    check_sha256(sha256)
    if content_range.total > max_bytes:
        raise UploadError(f"blob file is larger than {max_bytes} bytes", code="too_large", http_status=413)
    with _append_lock:
        if blob_path(instance, sha256).exists():
            held = blob_path(instance, sha256).stat().st_size
            return BlobState(held, True)
        partial = _partial_path(instance, sha256)
        partial.parent.mkdir(parents=True, exist_ok=True)
        held = partial.stat().st_size if partial.exists() else 0
        if content_range.start != held:
            raise BlobOffsetError(f"{held} bytes are held; resume from there", held)
        held = _append(stream, partial, held, content_range.length)
        if held < content_range.total:
            return BlobState(held, False)
        _seal_in(instance, sha256, partial, identities)
        return BlobState(held, True)


@dataclass(frozen=True)
class ImportedBlob:
    """What became of one sealed blob file carried on a USB stick."""

    name: str
    status: str  # "stored", "duplicate" (already held complete), "quarantined" or "refused" (not taken)
    reason: str = ""  # the reason code when quarantined or refused


def import_blob_file(path: Path, *, instance: Path, max_bytes: int, identities: list[bytes]) -> ImportedBlob:
    """Take a whole sealed blob file from a stick through the same check as the last piece of an upload: opened with
    the ingest key and checked against the hash its name promises, kept in ``blobs/`` — or, failing, moved to
    ``quarantine/`` with its reason (the stick's copy is left as it is). Bytes an interrupted upload left in
    ``blobs/partial/`` are not touched: the stick's file is assembled beside them."""
    name = path.name
    sha256 = check_sha256(parse_blob_file_name(name))
    size = path.stat().st_size
    if size > max_bytes:
        return ImportedBlob(name, "refused", "too_large")
    with _append_lock:
        if blob_path(instance, sha256).exists():
            return ImportedBlob(name, "duplicate")
        earlier = _quarantined_copy(instance, path)
        if earlier is not None:  # the same stick read again: the same bytes were judged already
            return ImportedBlob(name, "quarantined", earlier)
        folder = instance / "blobs" / "partial"
        folder.mkdir(parents=True, exist_ok=True)
        candidate = folder / f"{name}.usb-{os.urandom(4).hex()}.part"
        try:
            with path.open("rb") as source:
                _append(source, candidate, 0, size)
            _seal_in(instance, sha256, candidate, identities)
        except BlobRejectedError as e:
            return ImportedBlob(name, "quarantined", e.reason)
        except UploadError as e:  # the file changed size while it was read (a failing stick)
            return ImportedBlob(name, "refused", e.code)
        finally:
            candidate.unlink(missing_ok=True)
    return ImportedBlob(name, "stored")


def save_inline_blobs(
    instance: Path, blobs: tuple[InlineBlob, ...] | list[InlineBlob], recipients: list[bytes]
) -> list[str]:
    """Store each blob a verified batch carried as a sealed ``blobs/blob-<sha256>.age``; returns the new hashes.

    Re-sealed to ``recipients`` (central's ingest key and the escrow key) so every blob at rest has one form,
    readable by the same keys as an uploaded one, and a station's HEAD sees it as already held.
    """
    saved: list[str] = []
    for blob in blobs:
        target = blob_path(instance, blob.sha256)
        if not target.exists():
            atomic_write(target, seal_blob(blob.data, blob.media_type, recipients).data)
            saved.append(blob.sha256)
    return saved


def _quarantined_copy(instance: Path, path: Path) -> str | None:
    """The reason code of an earlier quarantined copy of exactly these bytes, if there is one."""
    size, digest = path.stat().st_size, None
    for copy in sorted((instance / "quarantine").glob(f"{path.name}.*")):
        if copy.name.endswith(".reason") or copy.stat().st_size != size:
            continue
        if digest is None:
            digest = hashlib.sha256(path.read_bytes()).digest()
        if hashlib.sha256(copy.read_bytes()).digest() == digest:
            reason = copy.with_name(copy.name + ".reason")
            return reason.read_text().split(":")[0] if reason.exists() else "quarantined"
    return None


def import_blob_folder(
    folder: Path, *, instance: Path, max_bytes: int, identities: list[bytes]
) -> list[ImportedBlob]:
    """USB import: every sealed blob file of a folder (recursively, by name), each through ``import_blob_file``;
    one bad file is quarantined or refused with its reason and the rest are still taken."""
    paths = sorted(p for p in Path(folder).rglob("blob-*.age") if p.is_file() and _is_blob_name(p.name))
    return [
        import_blob_file(path, instance=instance, max_bytes=max_bytes, identities=identities)
        for path in paths
    ]


def _is_blob_name(name: str) -> bool:
    try:
        parse_blob_file_name(name)
    except ProtocolError:
        return False
    return True
