"""USB carriage: write sealed batch files and the sealed files of large scans to a stick, read acks and bundles
back, relay other stations' files — and, when online, bring central's replies back for them: an offline village
is served both ways by a stick its agent carries through the township.

Layout (sync_protocol.layout): ``yiciban/<network>/up|down|acks/<station>/<file>``. Names carry only ids,
numbers and digests — never personal data. Files are written temp → fsync → rename, then read back and compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sync_protocol.acks import parse_ack
from sync_protocol.errors import ProtocolError
from sync_protocol.layout import (
    ACKS,
    DOWN,
    MAX_FILE_SIZE,
    ROOT,
    UP,
    ack_file_name,
    bundle_file_name,
    parse_batch_file_name,
)
from sync_protocol.schema import check_name

from ..auth import record_audit
from ..context import NodeContext
from ..errors import SyncError
from ..keystore import write_file_atomically
from .blob_uploads import relay_blob, sealed_for_stick
from .central_client import CentralClient
from .downstream import bundle_state
from .sync import enrolled, pending_batches, receive_ack, receive_bundle


@dataclass
class ImportResult:
    acks: int = 0
    bundles: int = 0
    relayed: int = 0
    replies: int = 0  # acks and bundles written to the stick for the other stations it serves
    refused: list[str] = field(default_factory=list)


def _folder(stick: Path, network: str, kind: str, station: str) -> Path:
    return stick / ROOT / network / kind / station


def export_batches(node: NodeContext, stick: Path, actor: str = "cli") -> list[str]:
    """Write every batch central has not acknowledged to the stick, and the sealed file of every scan too large to
    ride in a batch that central has not confirmed (``blob-<sha256>.age``, the same file an upload sends); returns
    the file names written. A scan file the stick already carries, byte for byte, is not written again."""
    if not stick.is_dir():
        raise SyncError(f"{stick} is not a folder (is the USB stick mounted?)")
    who = enrolled()
    target = _folder(stick, who.network, UP, who.station_code)
    written = []
    for batch in pending_batches(
        node.keys, node.settings.get("SYNC_BATCH_EVENTS", 1000), node.instance / "blobs"
    ):
        _write(target / batch.name, batch.data)
        written.append(batch.name)
    scans = sealed_for_stick(node.instance, who.recipients)
    for sealed in scans.files:
        data = sealed.read_bytes()
        on_stick = target / sealed.name
        if on_stick.is_file() and on_stick.stat().st_size == len(data) and _same(on_stick, data):
            continue
        _write(on_stick, data)
        written.append(sealed.name)
    record_audit(
        actor, "export", files=len(written), folder=str(stick), signed_with="station signing key",
        scans_missing_here=len(scans.missing_here),
    )  # fmt: skip
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
        for path in sorted((stick / ROOT / who.network / UP).glob("*/blob-*.age")):
            if path.parent.name == who.station_code:
                continue
            try:  # sealed to central like the batches: forwarded unread, checked there
                result.relayed += int(relay_blob(client, path.name, _read(path)))
            except (SyncError, ProtocolError) as e:
                result.refused.append(f"{path.name}: {e}")
        for code in _served_by_stick(stick, who.network, who.station_code):
            try:
                result.replies += _bring_back_replies(client, stick, who.network, code)
            except (SyncError, ProtocolError) as e:
                result.refused.append(f"{code}: {e}")
    record_audit(
        actor,
        "import",
        acks=result.acks,
        bundles=result.bundles,
        relayed=result.relayed,
        replies=result.replies,
    )
    return result


def _served_by_stick(stick: Path, network: str, ours: str) -> list[str]:
    """The other stations this stick carries files for (a folder of theirs under ``up``)."""
    codes = []
    for folder in sorted((stick / ROOT / network / UP).glob("*")):
        try:
            code = check_name(folder.name, "station id")
        except ProtocolError:
            continue
        if folder.is_dir() and code != ours:
            codes.append(code)
    return codes


def _bring_back_replies(client: CentralClient, stick: Path, network: str, code: str) -> int:
    """Central's replies for another station, written unread (the ack is signed, the bundle sealed to that
    station): its newest ack, and the bundle that follows the newest one already on the stick (the whole state
    when there is none). Returns the files written."""
    written = 0
    reply = client.request("GET", f"/api/v1/stations/{code}/ack", ok=(200, 404))
    if reply.status == 200:
        version = parse_ack(reply.body).version
        _write(_folder(stick, network, ACKS, code) / ack_file_name(code, version), reply.body)
        written += 1
    down = _folder(stick, network, DOWN, code)
    after = max((int(p.name.split("-v")[1][:9]) for p in down.glob("bundle-*.age")), default=0)
    reply = client.request("GET", f"/api/v1/stations/{code}/bundles?after={after}", ok=(200, 204))
    if reply.status == 200:
        version = int(reply.header("X-Bundle-Version", "0"))
        _write(down / bundle_file_name(code, version, reply.body), reply.body)
        written += 1
    return written


def _write(path: Path, data: bytes) -> None:
    write_file_atomically(path, data, mode=0o644)
    if not _same(path, data):
        raise SyncError(f"{path} did not read back identical: the stick may be failing")


def _same(path: Path, data: bytes) -> bool:
    return hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_SIZE:
        raise SyncError(f"{path.name} is larger than {MAX_FILE_SIZE} bytes")
    return path.read_bytes()
