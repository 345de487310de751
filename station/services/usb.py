"""USB carriage: write sealed batch files to a stick, read acks and bundles back, relay other stations' files.

Layout (sync_protocol.layout): ``yiciban/<network>/up|down|acks/<station>/<file>``. Names carry only ids,
numbers and digests — never personal data. Files are written temp → fsync → rename, then read back and compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sync_protocol.layout import ACKS, DOWN, MAX_FILE_SIZE, ROOT, UP, parse_batch_file_name

from ..auth import record_audit
from ..context import NodeContext
from ..errors import SyncError
from ..keystore import write_file_atomically
from .central_client import CentralClient
from .downstream import bundle_state
from .sync import enrolled, pending_batches, receive_ack, receive_bundle


@dataclass
class ImportResult:
    acks: int = 0
    bundles: int = 0
    relayed: int = 0
    refused: list[str] = field(default_factory=list)


def _folder(stick: Path, network: str, kind: str, station: str) -> Path:
    return stick / ROOT / network / kind / station


def export_batches(node: NodeContext, stick: Path, actor: str = "cli") -> list[str]:
    """Write every batch central has not acknowledged to the stick; returns the file names written."""
    if not stick.is_dir():
        raise SyncError(f"{stick} is not a folder (is the USB stick mounted?)")
    who = enrolled()
    target = _folder(stick, who.network, UP, who.station_code)
    written = []
    for batch in pending_batches(
        node.keys, node.settings.get("SYNC_BATCH_EVENTS", 1000), node.instance / "blobs"
    ):
        path = target / batch.name
        write_file_atomically(path, batch.data, mode=0o644)
        if hashlib.sha256(path.read_bytes()).digest() != hashlib.sha256(batch.data).digest():
            raise SyncError(f"{path} did not read back identical: the stick may be failing")
        written.append(batch.name)
    record_audit(actor, "export", files=len(written), folder=str(stick), signed_with="station signing key")
    return written


def import_from(node: NodeContext, stick: Path, actor: str = "cli") -> ImportResult:
    """Read our acks and bundles from the stick; when online, relay other stations' sealed files to central."""
    if not stick.is_dir():
        raise SyncError(f"{stick} is not a folder (is the USB stick mounted?)")
    who = enrolled()
    result = ImportResult()
    for path in sorted(_folder(stick, who.network, ACKS, who.station_code).glob("ack-*.sig")):
        try:
            _, replaced = receive_ack(_read(path))
            result.acks += int(replaced)
        except SyncError as e:
            result.refused.append(f"{path.name}: {e}")
    for path in sorted(_folder(stick, who.network, DOWN, who.station_code).glob("bundle-*.age")):
        if int(path.name.split("-v")[1][:9]) <= bundle_state().version:
            continue
        try:
            receive_bundle(node, _read(path))
            result.bundles += 1
        except SyncError as e:
            result.refused.append(f"{path.name}: {e}")
    url = node.settings.get("CENTRAL_URL")
    if url:
        client = CentralClient(url, node.settings.get("SYNC_TIMEOUT_SECONDS", 30))
        for path in sorted((stick / ROOT / who.network / UP).glob("*/batch-*.age")):
            if path.parent.name == who.station_code:
                continue
            parse_batch_file_name(
                path.name
            )  # relay only well-named files; the content stays sealed to central
            client.request("PUT", f"/api/v1/files/{path.name}", _read(path), ok=(200, 201, 202))
            result.relayed += 1
    record_audit(actor, "import", acks=result.acks, bundles=result.bundles, relayed=result.relayed)
    return result


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_SIZE:
        raise SyncError(f"{path.name} is larger than {MAX_FILE_SIZE} bytes")
    return path.read_bytes()
