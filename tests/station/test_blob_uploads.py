"""Scans over 256 KiB reach central's blob endpoint during sync: HEAD first, resumable PUT, the same sealed file
continued after the link dropped (real central served by waitress on 127.0.0.1, a real enrolled station)."""

from __future__ import annotations

import hashlib
import random
import socket

import pytest

from central.runtime import current_runtime
from central.services.blobs import blob_path, blob_state
from station.services import sync as sync_service
from station.services.attachments import attach_scan
from station.services.blob_uploads import OUTBOX, pending_uploads
from station.services.cases import Actor
from station.services.central_client import CentralClient
from station.services.sync import run_sync
from sync_protocol.blobs import DEFAULT_CHUNK, open_blob
from sync_protocol.layout import blob_file_name
from tests.station.test_custody import receive_case
from tests.station.test_custody_bundles import network

pytestmark = [pytest.mark.slow]
__all__ = ["network"]  # a fixture these tests use
MiB = 1024 * 1024


def scan(size: int, seed: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(size - 8)


def attach(village, case_id: str, content: bytes, token: str) -> str:
    with village.bound():
        _, problems = attach_scan(
            village.instance / "blobs",
            Actor("village", "village_staff"),
            case_id,
            content,
            "",
            token,
            64 * MiB,
        )
    assert problems == {}
    return hashlib.sha256(content).hexdigest()


def dead_url() -> str:
    """An address on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class LinkDrops(CentralClient):
    """A real HTTP client whose link goes down after ``pieces`` blob pieces: later requests meet a closed port."""

    def __init__(self, base_url: str, timeout: float = 30.0, pieces: int = 1) -> None:
        super().__init__(base_url, timeout)
        self.pieces = pieces

    def request(
        self, method, path, body=None, content_type="application/octet-stream", ok=(200,), headers=None
    ):
        if method == "PUT" and path.startswith("/api/v1/blobs/"):
            if self.pieces == 0:
                self.base_url = dead_url()
            self.pieces -= 1
        return super().request(method, path, body, content_type, ok, headers)


def test_a_large_scan_upload_cut_halfway_resumes_with_the_same_sealed_file(network, monkeypatch):
    central, village = network
    case = receive_case(village.app, "张晓明")
    large = scan(2 * MiB + 300_000, seed=1)  # three 1 MiB pieces
    small = scan(100_000, seed=2)  # rides inside its batch
    large_sha = attach(village, case.id, large, "scan-large")
    small_sha = attach(village, case.id, small, "scan-small")
    with central.app_context():
        runtime = current_runtime()
        central_instance, ingest_key = runtime.instance, runtime.keys.ingest.private_raw

    monkeypatch.setattr(sync_service, "CentralClient", lambda url, timeout: LinkDrops(url, timeout, pieces=1))
    with village.bound():
        cut = run_sync(village.node, "button")
    assert not cut["ok"] and "not reachable" in cut["error"]
    held = blob_state(central_instance, large_sha)
    assert held is not None and (held.held, held.complete) == (DEFAULT_CHUNK, False), "one piece arrived"
    outbox_file = village.instance / OUTBOX / blob_file_name(large_sha)
    sealed = outbox_file.read_bytes()
    with village.bound():
        assert set(pending_uploads()) == {large_sha, small_sha}
    clerk = village.client("village")
    assert "<th>待中心确认的扫描件</th><td>2</td>" in clerk.get("/sync/").get_data(as_text=True)

    monkeypatch.undo()
    resumed = village.sync()
    assert resumed["blobs"]["uploaded"] == 1
    assert resumed["blobs"]["bytes_sent"] == len(sealed) - DEFAULT_CHUNK, "only the rest was sent"
    assert resumed["blobs"]["already_held"] == 1, "the small scan came inside its batch; HEAD said so"
    kept = blob_path(central_instance, large_sha).read_bytes()
    assert kept == sealed, "central assembled exactly the file sealed before the cut"
    ref, content = open_blob(kept, [ingest_key], expected_sha256=large_sha)
    assert content == large and ref.media_type == "image/png"
    assert blob_state(central_instance, small_sha).complete
    assert not outbox_file.exists()
    with village.bound():
        assert pending_uploads() == {}
    assert "<th>待中心确认的扫描件</th><td>0</td>" in clerk.get("/sync/").get_data(as_text=True)

    again = village.sync()
    assert again["blobs"] == {
        "uploaded": 0, "already_held": 0, "waiting": 0, "bytes_sent": 0, "missing_here": []
    }  # fmt: skip


def test_a_scan_central_already_holds_is_not_sent_again(network):
    central, village = network
    case = receive_case(village.app, "李秀兰")
    content = scan(400_000, seed=3)
    sha = attach(village, case.id, content, "scan-1")
    first = village.sync()
    assert first["blobs"]["uploaded"] == 1 and first["blobs"]["bytes_sent"] > len(content)
    # A second case with the same scan (the same ID card copy): its event is new, the blob is not.
    other = receive_case(village.app, "王五", id_number="513434196001010813")
    assert attach(village, other.id, content, "scan-2") == sha
    second = village.sync()
    assert (second["blobs"]["uploaded"], second["blobs"]["already_held"]) == (0, 1)


def test_a_scan_missing_on_this_pc_stays_listed_and_is_reported(network):
    _central, village = network
    case = receive_case(village.app, "赵六", id_number="11010519491231002X")
    sha = attach(village, case.id, scan(300_000, seed=4), "scan-gone")
    (village.instance / "blobs" / sha[:2] / sha).unlink()
    outcome = village.sync()
    assert outcome["blobs"]["missing_here"] == [sha] and outcome["blobs"]["uploaded"] == 0
    with village.bound():
        assert sha in pending_uploads()
