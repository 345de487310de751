"""Large attachments to central (附件上传): scans a batch does not carry go to central's blob endpoint as their own
sealed files ``blob-<sha256>.age``, resumably (docs/PROTOCOL.md, "Large blob files"; OPERATIONS.md §8).

Every attachment the log records is put on an upload list once (a cursor over the log). During a sync each one is
offered to central: ``HEAD /api/v1/blobs/<sha256>`` first — central may hold it already (uploaded before, or
carried inside a batch) or hold part of it — then ``PUT`` with ``Content-Range`` from the held length on. A blob of
at most 256 KiB normally rides inside its batch, so it is only asked about once central acknowledges that event.

Sealing is randomised, so a blob is sealed once into ``<instance>/outbox/`` and that same file is sent until central
holds it complete; an upload cut halfway continues with the same bytes at the next sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync_protocol.acks import Ack
from sync_protocol.batch import MAX_INLINE_BLOB
from sync_protocol.blobs import DEFAULT_CHUNK, blob_chunks, parse_blob_file_name, seal_blob
from sync_protocol.events import REHOME, parse_event
from sync_protocol.layout import blob_file_name

from ..db import database, write_transaction
from ..errors import SyncError
from ..keystore import write_file_atomically
from ..models import EventLog, NodeState
from .attachments import read_blob
from .central_client import CentralClient

log = logging.getLogger(__name__)
UPLOADS_KEY = "blob_uploads"
OUTBOX = "outbox"
ATTACHMENT_EVENT = "case.attachment_added"
MAX_ATTEMPTS = 3


@dataclass
class UploadResult:
    uploaded: int = 0
    """Blobs whose last byte this sync sent."""
    already_held: int = 0
    """Blobs central held complete when asked (uploaded before, or carried in a batch)."""
    waiting: int = 0
    """Small blobs not asked about yet: central has not acknowledged the event that carries them."""
    bytes_sent: int = 0
    missing_here: list[str] = field(default_factory=list)
    """Blobs the log names but this PC's ``blobs/`` folder no longer holds intact (kept on the list)."""


def _state() -> dict[str, Any]:
    return NodeState.read(UPLOADS_KEY) or {"cursor": 0, "pending": {}}


def queue_new_attachments() -> int:
    """Put the attachments of events recorded since the last scan on the upload list; returns how many are listed."""
    with write_transaction():
        state = _state()
        top = database.execute_sql("SELECT MAX(id) FROM event_log").fetchone()[0] or 0
        rows = (
            EventLog.select(EventLog.body)
            .where((EventLog.id > state["cursor"]) & (EventLog.id <= top))
            .where(EventLog.event_type.in_((ATTACHMENT_EVENT, REHOME)))  # a rehome carries its original's
            .order_by(EventLog.id)
        )
        pending = state["pending"]
        for row in rows:
            event = parse_event(bytes(row.body))
            for ref in event.attachments:
                pending.setdefault(
                    ref.sha256,
                    {"size": ref.size, "mt": ref.media_type, "epoch": event.epoch, "seq": event.seq},
                )
        state["cursor"] = max(int(state["cursor"]), int(top))
        NodeState.write(UPLOADS_KEY, state)
        return len(pending)


def pending_uploads() -> dict[str, dict[str, Any]]:
    return dict(_state()["pending"])


def _done(sha256: str, outbox: Path) -> None:
    with write_transaction():
        state = _state()
        state["pending"].pop(sha256, None)
        NodeState.write(UPLOADS_KEY, state)
    (outbox / blob_file_name(sha256)).unlink(missing_ok=True)


def _sealed(
    outbox: Path, blobs: Path, sha256: str, media_type: str, recipients: Sequence[bytes]
) -> bytes | None:
    """The sealed file for this blob: the one sealed earlier (a resumed upload continues it), or a new one."""
    path = outbox / blob_file_name(sha256)
    if path.is_file():
        return path.read_bytes()
    content = read_blob(blobs, sha256)
    if content is None:
        return None
    data = seal_blob(content, media_type, recipients).data
    write_file_atomically(path, data)
    return data


@dataclass
class StickBlobs:
    """The sealed scan files for a USB stick (``files``: in ``outbox/``, named as on the stick), and the scans this
    PC lacks."""

    files: list[Path] = field(default_factory=list)
    missing_here: list[str] = field(default_factory=list)


def sealed_for_stick(instance: Path, recipients: Sequence[bytes]) -> StickBlobs:
    """The sealed files of the listed scans too large to ride inside a batch, for a station that syncs by USB: the
    same file an upload sends (sealed once into ``outbox/``), named ``blob-<sha256>.age``. A scan stays listed —
    and is written to every stick — until central confirms it holds it (a later online sync asks, or the upload
    completes); central takes a copy it already holds as a duplicate."""
    queue_new_attachments()
    carried = StickBlobs()
    listed = sorted(pending_uploads().items(), key=lambda item: (item[1]["epoch"], item[1]["seq"], item[0]))
    for sha256, entry in listed:
        if entry["size"] <= MAX_INLINE_BLOB:
            continue  # rides inside the batch that carries its event
        if _sealed(instance / OUTBOX, instance / "blobs", sha256, entry["mt"], recipients) is None:
            log.warning("blob %s is named in the log but missing or damaged in blobs/", sha256)
            carried.missing_here.append(sha256)
            continue
        carried.files.append(instance / OUTBOX / blob_file_name(sha256))
    return carried


def _held(client: CentralClient, sha256: str) -> tuple[int, bool]:
    reply = client.request("HEAD", f"/api/v1/blobs/{sha256}", ok=(200, 404))
    if reply.status == 404:
        return 0, False
    return int(reply.header("Content-Length", "0") or 0), reply.header("X-Blob-Complete") == "true"


def send_blob(
    client: CentralClient,
    sha256: str,
    data: bytes,
    held: int,
    chunk_size: int,
    *,
    resend_refused: bool = True,
) -> int:
    """Send ``data`` (the sealed file) from ``held`` on; returns the bytes sent. Central answering that it holds a
    different length (409) moves the start there; a file central refused after checking it (422: quarantined
    there, e.g. the rest of an earlier sealing this PC no longer has) is sent again from the start — unless
    ``resend_refused`` is off (a relayed file is what it is: refused once, it is refused)."""
    sent = 0
    for _ in range(MAX_ATTEMPTS):
        if held > len(data):
            raise SyncError(f"central holds more of blob {sha256[:12]}… than its sealed file has")
        restart = None
        for chunk in blob_chunks(data, chunk_size, start=held):
            reply = client.request(
                "PUT", f"/api/v1/blobs/{sha256}", chunk.data, ok=(200, 202, 409, 422),
                headers={"Content-Range": f"bytes {chunk.offset}-{chunk.end - 1}/{chunk.total}"},
            )  # fmt: skip
            if reply.status == 409:
                restart = int(reply.header("X-Blob-Held-Length", "0") or 0)
                break
            if reply.status == 422:
                if not resend_refused:
                    raise SyncError(f"central quarantined blob {sha256[:12]}…: {reply.json().get('message')}")
                restart = 0
                break
            sent += len(chunk.data)
            if reply.status == 200:
                return sent
        if restart is None:
            raise SyncError(f"central did not confirm blob {sha256[:12]}… after its last byte")
        held = restart
        if held >= len(data):
            held, complete = _held(client, sha256)
            if complete:
                return sent
    raise SyncError(f"central refused blob {sha256[:12]}… {MAX_ATTEMPTS} times")


def relay_blob(client: CentralClient, name: str, data: bytes, *, chunk_size: int = DEFAULT_CHUNK) -> bool:
    """Forward another station's sealed blob file from a stick to central unread (this station cannot open it):
    ``HEAD``, then the rest by resumable ``PUT``. Returns False when central held it complete already.

    Raises:
        SyncError: central refused the file after checking it (quarantined there), or central is unreachable.
    """
    sha256 = parse_blob_file_name(name)
    held, complete = _held(client, sha256)
    if complete:
        return False
    send_blob(client, sha256, data, held, chunk_size, resend_refused=False)
    return True


def upload_pending(
    client: CentralClient,
    instance: Path,
    recipients: Sequence[bytes],
    ack: Ack | None,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> UploadResult:
    """Offer every listed blob to central (HEAD, then resumable PUT); a blob leaves the list once central holds it
    complete. A network failure raises SyncError with the blob's upload left to continue next time."""
    queue_new_attachments()
    result = UploadResult()
    outbox = instance / OUTBOX
    listed = sorted(pending_uploads().items(), key=lambda item: (item[1]["epoch"], item[1]["seq"], item[0]))
    for index, (sha256, entry) in enumerate(listed):
        if progress is not None:
            progress(index, len(listed))
        acked = ack is not None and ack.for_epoch(entry["epoch"]).is_received(entry["seq"])
        if entry["size"] <= MAX_INLINE_BLOB and not acked:
            result.waiting += 1
            continue
        held, complete = _held(client, sha256)
        if complete:
            result.already_held += 1
            _done(sha256, outbox)
            continue
        data = _sealed(outbox, instance / "blobs", sha256, entry["mt"], recipients)
        if data is None:
            log.warning("blob %s is named in the log but missing or damaged in blobs/", sha256)
            result.missing_here.append(sha256)
            continue
        result.bytes_sent += send_blob(client, sha256, data, held, chunk_size)
        result.uploaded += 1
        _done(sha256, outbox)
    if progress is not None:
        progress(len(listed), len(listed))
    return result
