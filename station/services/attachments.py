"""Scans and photos of materials (附件): stored on disk by sha256 in ``blobs/``, referenced by an
``attachment_added`` event (the event carries the reference, never the bytes)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from casework.errors import Message, message
from sync_protocol.blobs import blob_ref

from ..db import write_transaction
from ..keystore import write_file_atomically
from ..models import CaseRecord
from .cases import CASE, Actor, case_view, project_case, station
from .log import append_event, find_by_idempotency_key

# Accepted by their first bytes, not by what the browser claims.
MAGIC_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    media_type: str


def sniff_media_type(content: bytes) -> str | None:
    return next((kind for magic, kind in MAGIC_TYPES if content.startswith(magic)), None)


def blob_path(blobs: Path, sha256: str) -> Path:
    return blobs / sha256[:2] / sha256


def store_blob(blobs: Path, content: bytes, media_type: str) -> StoredBlob:
    """Write the bytes once under their hash (a second upload of the same scan is a no-op)."""
    ref = blob_ref(content, media_type)
    path = blob_path(blobs, ref.sha256)
    if not path.exists():
        write_file_atomically(path, content)
    return StoredBlob(ref.sha256, ref.size, ref.media_type)


def read_blob(blobs: Path, sha256: str) -> bytes | None:
    path = blob_path(blobs, sha256)
    if not path.is_file():
        return None
    content = path.read_bytes()
    return content if hashlib.sha256(content).hexdigest() == sha256 else None


def attach_scan(blobs: Path, actor: Actor, case_id: str, content: bytes, material: str, token: str,
                max_bytes: int) -> tuple[CaseRecord | None, dict[str, Message]]:  # fmt: skip
    """Store an uploaded scan and record ``attachment_added`` on the case (one transaction)."""
    if not content:
        return None, {"file": message("file_required", "请选择要上传的扫描件", "Choose a scan to upload")}
    if len(content) > max_bytes:
        return None, {"file": message("file_too_large", "文件太大", "The file is too large")}
    media_type = sniff_media_type(content)
    if media_type is None:
        return None, {
            "file": message("file_type", "只能上传 JPEG、PNG 或 PDF 文件", "Only JPEG, PNG or PDF files")
        }
    stored = store_blob(blobs, content, media_type)
    with write_transaction():
        if find_by_idempotency_key(token) is not None:
            return CaseRecord.get_by_id(case_id), {}
        station()
        view = case_view(case_id)
        payload = {"sha256": stored.sha256, "size": stored.size, "media_type": stored.media_type}
        if material and material in view.materials:
            payload["material"] = material
        from casework.events import validate_payload
        from sync_protocol.events import AttachmentRef

        validate_payload("attachment_added", payload)
        append_event(
            actor=actor.username,
            event_type="case.attachment_added",
            aggregate_kind=CASE,
            aggregate_id=case_id,
            payload=payload,
            idempotency_key=token,
            attachments=(AttachmentRef(stored.sha256, stored.size, stored.media_type),),
        )
        return project_case(case_id), {}
