"""The sync client: push what central has not acknowledged, pull the newest valid ack and downstream bundles.

Order of one sync: pull the ack (so only what is missing is sent) → push sealed batches of the missing ranges →
pull the ack again and every new bundle → upload the large attachments central lacks (blob_uploads). One sync
at a time per process; a failed attempt backs off exponentially with jitter; the last error is kept in words for
the sync page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync_protocol.acks import Ack, EpochAck, accept_ack, parse_ack
from sync_protocol.batch import MAX_INLINE_BLOB, BatchFile, InlineBlob, build_batch, split_into_batches
from sync_protocol.bundles import verify_bundle
from sync_protocol.errors import ProtocolError
from sync_protocol.events import parse_event
from sync_protocol.hlc import HLC
from sync_protocol.seal import decode_recipient

from ..auth import record_audit
from ..context import NodeContext
from ..db import database, write_transaction
from ..errors import NotEnrolledError, SyncError
from ..keystore import InstanceKeys
from ..models import EventLog, NodeState, StationIdentity
from .blob_uploads import pending_uploads, upload_pending
from .central_client import CentralClient
from .downstream import apply_bundle, bundle_state
from .enrollment import central_info, trusted_root
from .epochs import current_epoch_status
from .log import HLC_KEY, check_against_ack, observe_remote_clock, rollback_state

log = logging.getLogger(__name__)
ACK_KEY = "ack"
STATUS_KEY = "sync_status"
PROGRESS_KEY = "sync_progress"
FIRST_RETRY_SECONDS = 30
_running = threading.Lock()


@dataclass(frozen=True)
class Enrolled:
    identity: StationIdentity
    info: dict[str, Any]

    @property
    def network(self) -> str:
        return str(self.info["network"])

    @property
    def station_code(self) -> str:
        return str(self.identity.station_code)

    @property
    def recipients(self) -> list[bytes]:
        keys = [decode_recipient(self.info["ingest_recipient"])]
        if self.info.get("escrow_recipient"):
            keys.append(decode_recipient(self.info["escrow_recipient"]))
        return keys


def enrolled() -> Enrolled:
    identity = StationIdentity.current()
    info = central_info()
    if identity is None or info is None or not identity.certificate:
        raise NotEnrolledError("this station is not enrolled with central yet (yiciban-station enroll)")
    return Enrolled(identity, info)


# --- acks -------------------------------------------------------------------------------------------------------


def stored_ack() -> Ack | None:
    raw = NodeState.read(ACK_KEY)
    return None if raw is None else parse_ack(raw.encode("ascii"))


def receive_ack(data: bytes) -> tuple[Ack, bool]:
    """Keep ``data`` if it is a valid ack newer than ours; returns (ack kept, whether it replaced ours).

    Raises:
        SyncError: the ack does not verify (wrong key, network or station, damaged).
    """
    who = enrolled()
    root = trusted_root(who.info)
    with write_transaction():
        current = stored_ack()
        try:
            kept = accept_ack(
                current, data, root.central_keys, network=who.network, station_id=who.station_code
            )
        except ProtocolError as e:
            raise SyncError(f"central's ack was refused: {e.message}") from e
        replaced = current is None or kept.version != current.version
        if replaced:
            NodeState.write(ACK_KEY, kept.raw.decode("ascii"))
            observe_remote_clock(HLC(kept.central_time_ms, 0).to_string())
        forks = {entry.epoch: min(f.seq for f in entry.forks) for entry in kept.epochs if entry.forks}
        check_against_ack({entry.epoch: entry.through for entry in kept.epochs}, forks)
    return kept, replaced


# --- what to send -------------------------------------------------------------------------------------------------


def _epochs() -> list[tuple[int, int]]:
    """(epoch, head seq) of every epoch, each found by an index seek so the cost does not grow with history."""
    found = []
    epoch = 0
    while True:
        row = database.execute_sql("SELECT MIN(epoch) FROM event_log WHERE epoch > ?", (epoch,)).fetchone()
        if row is None or row[0] is None:
            return found
        epoch = int(row[0])
        head = database.execute_sql("SELECT MAX(seq) FROM event_log WHERE epoch = ?", (epoch,)).fetchone()[0]
        found.append((epoch, int(head)))


def missing_ranges(ack: Ack | None) -> list[tuple[int, int, int]]:
    """(epoch, first, last) ranges of our log that central does not hold according to ``ack``."""
    ranges = []
    for epoch, head in _epochs():
        entry = ack.for_epoch(epoch) if ack else EpochAck(epoch)
        ranges.extend((epoch, a, b) for a, b in entry.to_resend(head))
    return ranges


def unacked_count(ack: Ack | None = None) -> int:
    ack = ack if ack is not None else stored_ack()
    return sum(last - first + 1 for _, first, last in missing_ranges(ack))


INLINE_BLOBS_PER_BATCH = 2 * 1024 * 1024


def _inline_blobs(run: list, blobs: Path | None) -> list[InlineBlob]:
    """Small scans referenced by the run travel inside the batch; larger ones stay for a separate blob file."""
    from .attachments import read_blob

    if blobs is None:
        return []
    carried: list[InlineBlob] = []
    seen: set[str] = set()
    total = 0
    for event in run:
        for ref in event.attachments:
            if ref.sha256 in seen or ref.size > MAX_INLINE_BLOB or total + ref.size > INLINE_BLOBS_PER_BATCH:
                continue
            content = read_blob(blobs, ref.sha256)
            if content is not None:
                carried.append(InlineBlob(content, ref.media_type))
                seen.add(ref.sha256)
                total += ref.size
    return carried


def pending_batches(keys: InstanceKeys, max_events: int, blobs: Path | None = None) -> Iterator[BatchFile]:
    """Sealed batches covering every range central lacks (rebuilt on demand; duplicates are no-ops there)."""
    who = enrolled()
    ack = stored_ack()
    bundle_version = bundle_state().version
    for epoch, first, last in missing_ranges(ack):
        rows = (
            EventLog.select(EventLog.body)
            .where((EventLog.epoch == epoch) & (EventLog.seq >= first) & (EventLog.seq <= last))
            .order_by(EventLog.seq)
        )
        events = [parse_event(bytes(row.body)) for row in rows]
        for run in split_into_batches(events, max_events=max_events):
            yield build_batch(
                run,
                network=who.network,
                station_id=who.station_code,
                signing_key=keys.signing_key,
                recipient_keys=who.recipients,
                bundle_version=bundle_version,
                hlc=NodeState.read(HLC_KEY) or HLC.zero().to_string(),
                wall_ms=int(time.time() * 1000),
                blobs=_inline_blobs(run, blobs),
            )


# --- status -------------------------------------------------------------------------------------------------------


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def sync_status() -> dict[str, Any]:
    return dict(NodeState.read(STATUS_KEY, {}) or {})


def _write_status(**changes: Any) -> None:
    with write_transaction():
        status = sync_status()
        status.update(changes)
        NodeState.write(STATUS_KEY, status)


def _progress(phase: str, done: int, total: int) -> None:
    with write_transaction():
        NodeState.write(PROGRESS_KEY, {"phase": phase, "done": done, "total": total, "at": _now_iso()})


def sync_summary() -> dict[str, Any]:
    """What the home and sync pages show: last contact, queue sizes, progress, last error."""
    status = sync_status()
    identity = StationIdentity.current()
    enrolled_ok = bool(identity and identity.certificate)
    try:
        unacked = unacked_count() if EventLog.select().exists() else 0
    except ProtocolError:
        unacked = EventLog.select().count()
    return {
        "enrolled": enrolled_ok,
        "network": identity.network_id if identity else "",
        "last_attempt": status.get("last_attempt"),
        "last_success": status.get("last_success"),
        "last_error": status.get("last_error"),
        "failures": status.get("failures", 0),
        "next_due_ms": status.get("next_due_ms"),
        "unacked": unacked,
        "total_events": sum(head for _, head in _epochs()),  # seqs are contiguous per epoch
        "ack_version": (stored_ack().version if NodeState.read(ACK_KEY) else 0),
        "bundle_version": bundle_state().version,
        "progress": NodeState.read(PROGRESS_KEY),
        "running": _running.locked(),
        "integrity": rollback_state(),
        "epoch": current_epoch_status(),
        "scans_waiting": len(pending_uploads()),
    }


def next_delay_seconds(
    failures: int, interval: int, backoff_max: int, rng: random.Random | None = None
) -> float:
    """After a success: the interval. After n failures: exponential from 30 s, capped, with full jitter."""
    if failures <= 0:
        return float(interval)
    ceiling = min(backoff_max, FIRST_RETRY_SECONDS * 2 ** (failures - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def sync_is_due(node: NodeContext, now_ms: int | None = None) -> bool:
    if not node.settings.get("CENTRAL_URL"):
        return False
    identity = StationIdentity.current()
    if identity is None or not identity.certificate:
        return False
    due = sync_status().get("next_due_ms") or 0
    return (now_ms if now_ms is not None else int(time.time() * 1000)) >= due


# --- one sync -----------------------------------------------------------------------------------------------------


def push(node: NodeContext, client: CentralClient) -> dict[str, int]:
    sent_batches = sent_events = 0
    batches = list(
        pending_batches(node.keys, node.settings.get("SYNC_BATCH_EVENTS", 1000), node.instance / "blobs")
    )
    for index, batch in enumerate(batches):
        _progress("push", index, len(batches))
        client.request("PUT", f"/api/v1/files/{batch.name}", batch.data, ok=(200, 201, 202))
        sent_batches += 1
        sent_events += _events_in(batch.name)
    _progress("push", len(batches), len(batches))
    if batches:
        record_audit(
            "sync", "key.sign_batches", batches=len(batches), first=batches[0].name, last=batches[-1].name
        )
    return {"batches": sent_batches, "events": sent_events}


def _events_in(name: str) -> int:
    from sync_protocol.layout import parse_batch_file_name

    parsed = parse_batch_file_name(name)
    return parsed.last_seq - parsed.first_seq + 1


def pull_ack(client: CentralClient, station_code: str) -> int:
    reply = client.request("GET", f"/api/v1/stations/{station_code}/ack", ok=(200, 404))
    if reply.status == 404:
        return 0
    kept, _ = receive_ack(reply.body)
    return kept.version


def pull_bundles(node: NodeContext, client: CentralClient, station_code: str, limit: int = 20) -> int:
    applied = 0
    for _ in range(limit):
        after = bundle_state().version
        reply = client.request("GET", f"/api/v1/stations/{station_code}/bundles?after={after}", ok=(200, 204))
        if reply.status == 204 or not reply.body:
            break
        result = receive_bundle(node, reply.body)
        if result.noop:
            break
        applied += 1
    return applied


def receive_bundle(node: NodeContext, sealed: bytes):
    """Verify a sealed downstream bundle and apply it in one transaction."""
    who = enrolled()
    root = trusted_root(who.info)
    try:
        verified = verify_bundle(
            sealed,
            identities=[node.keys.box_key.private_raw],
            root=root,
            network=who.network,
            station_id=who.station_code,
            state=bundle_state() if bundle_state().version else None,
            local_clock_ms=int(time.time() * 1000),
        )
    except ProtocolError as e:
        raise SyncError(f"a downstream bundle was refused ({e.reason}): {e.message}") from e
    if not verified.noop:
        apply_bundle(verified, node.keys.field_cipher)
    return verified


def run_sync(node: NodeContext, trigger: str = "button") -> dict[str, Any]:
    """One full sync; never raises for a sync failure: the error is recorded in words and returned."""
    if not _running.acquire(blocking=False):
        return {"ok": False, "error": "a sync is already running"}
    started = _now_iso()
    try:
        url = node.settings.get("CENTRAL_URL") or ""
        if not url:
            raise SyncError("no CENTRAL_URL is set: this station syncs by USB only")
        who = enrolled()
        client = CentralClient(url, node.settings.get("SYNC_TIMEOUT_SECONDS", 30))
        _progress("ack", 0, 1)
        pull_ack(client, who.station_code)
        pushed = push(node, client)
        ack_version = pull_ack(client, who.station_code)
        _progress("bundles", 0, 1)
        bundles = pull_bundles(node, client, who.station_code)
        blobs = upload_pending(
            client, node.instance, who.recipients, stored_ack(),
            progress=lambda done, total: _progress("blobs", done, total),
        )  # fmt: skip
        _progress("done", 1, 1)
    except (
        Exception
    ) as e:  # every failure is recorded in words and retried later, never a crash of the worker
        if not isinstance(e, SyncError | NotEnrolledError | ProtocolError):
            log.exception("unexpected error during sync")
        failures = int(sync_status().get("failures", 0)) + 1
        delay = next_delay_seconds(failures, node.settings.get("SYNC_INTERVAL_SECONDS", 300),
                                   node.settings.get("SYNC_BACKOFF_MAX_SECONDS", 3600))  # fmt: skip
        message = getattr(e, "message", None) or str(e)
        if not isinstance(e, SyncError | NotEnrolledError | ProtocolError):
            message = f"unexpected error ({type(e).__name__}: {e}); the details are in the station's log"
        _write_status(last_attempt=started, last_error=message, failures=failures, trigger=trigger,
                      next_due_ms=int(time.time() * 1000 + delay * 1000))  # fmt: skip
        return {"ok": False, "error": message}
    finally:
        _running.release()
    interval = node.settings.get("SYNC_INTERVAL_SECONDS", 300)
    _write_status(last_attempt=started, last_success=_now_iso(), last_error=None, failures=0, trigger=trigger,
                  next_due_ms=int(time.time() * 1000 + interval * 1000))  # fmt: skip
    uploaded = {"uploaded": blobs.uploaded, "already_held": blobs.already_held, "waiting": blobs.waiting,
                "bytes_sent": blobs.bytes_sent, "missing_here": blobs.missing_here}  # fmt: skip
    return {"ok": True, "pushed": pushed, "ack_version": ack_version, "bundles": bundles, "blobs": uploaded}
