"""Durable receipt of sealed files (收件箱): stream to a temp file, cap, hash, fsync, rename into inbox/.

Nothing is parsed here. A file is in ``inbox/`` (and has a ``stored`` batch row) before the sender hears 2xx; a
crash between the rename and the row is repaired at start-up by ``recover_inbox``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sync_protocol.errors import MalformedError
from sync_protocol.layout import parse_batch_file_name

from ..db import write_transaction
from ..errors import UploadError
from ..files import fsync_dir
from ..models import Batch

FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
CHUNK = 64 * 1024


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int
    duplicate: bool
    batch_id: int


def check_file_name(name: str) -> str:
    if not FILE_NAME.match(name) or ".." in name:
        raise UploadError("file names are lower-case ASCII letters, digits, '.', '_' or '-'", code="bad_name")
    return name


def _stream_to_temp(stream: BinaryIO, temp: Path, max_bytes: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise UploadError(f"file is larger than {max_bytes} bytes", code="too_large", http_status=413)
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), size


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def store_file(
    stream: BinaryIO, name: str, *, instance: Path, max_bytes: int, via: str = "http"
) -> StoredFile:
    """Store one uploaded file durably; the same name and bytes again is a duplicate, not an error."""
    check_file_name(name)
    inbox, tmp = instance / "inbox", instance / "tmp"
    inbox.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    temp = tmp / f"{name}.{os.getpid()}.{os.urandom(4).hex()}.part"
    try:
        sha256, size = _stream_to_temp(stream, temp, max_bytes)
        with write_transaction():
            existing = Batch.get_or_none(Batch.name == name)
            if existing is not None:
                if existing.sha256 != sha256:
                    # Kept, not dropped: a second file under a used name is evidence of a bug or an attack.
                    quarantine = instance / "quarantine"
                    quarantine.mkdir(parents=True, exist_ok=True)
                    os.replace(temp, quarantine / f"{name}.{sha256[:16]}.name-conflict")
                    raise UploadError(
                        f"a different file named {name} was already received",
                        code="name_conflict",
                        http_status=409,
                    )
                return StoredFile(name, sha256, size, True, existing.id)
            target = inbox / name
            os.replace(temp, target)
            fsync_dir(inbox)
            batch = Batch.create(name=name, sha256=sha256, size=size, via=via, status="stored")
        return StoredFile(name, sha256, size, False, batch.id)
    finally:
        temp.unlink(missing_ok=True)


def _is_batch_name(name: str) -> bool:
    try:
        parse_batch_file_name(name)
    except MalformedError:
        return False
    return True


def import_folder(folder: Path, *, instance: Path, max_bytes: int) -> list[StoredFile]:
    """USB import: store every batch file of a folder (recursively) exactly as if it had been uploaded.

    Only upward batch files are taken; bundles and acks central wrote to the same stick are left alone.
    """
    stored: list[StoredFile] = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and _is_batch_name(p.name)):
        with path.open("rb") as f:
            stored.append(store_file(f, path.name, instance=instance, max_bytes=max_bytes, via="usb"))
    return stored


def recover_inbox(instance: Path) -> list[str]:
    """Give every inbox file without a batch row its row (a crash hit between rename and commit)."""
    inbox = instance / "inbox"
    if not inbox.exists():
        return []
    names: Iterable[Path] = sorted(p for p in inbox.iterdir() if p.is_file() and FILE_NAME.match(p.name))
    recovered: list[str] = []
    with write_transaction():
        known = {row.name for row in Batch.select(Batch.name)}
        for path in names:
            if path.name not in known:
                Batch.create(
                    name=path.name, sha256=_sha256_of(path), size=path.stat().st_size, status="stored"
                )
                recovered.append(path.name)
    return recovered


def unprocessed_batch_names() -> list[str]:
    return [row.name for row in Batch.select(Batch.name).where(Batch.status == "stored").order_by(Batch.id)]
