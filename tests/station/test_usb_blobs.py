"""Large scans travel on the USB stick too (docs/PROTOCOL.md §10): an offline village's export writes the sealed
file of every scan over 256 KiB that central has not confirmed (the same file an upload sends), central's folder
import checks each one as the last piece of an upload is checked — a tampered, truncated or foreign file goes to
quarantine with its reason, the rest are kept — and an online township relays them unread. Real SQLite stations
set up by their CLI, a real central served by waitress on 127.0.0.1."""

from __future__ import annotations

import hashlib

import pytest

from central.models import AuditEntry
from central.runtime import current_runtime
from central.services.blobs import blob_path, blob_state, import_blob_folder
from central.services.inbox import import_folder
from central.services.ingest import ingest_file
from station.services.blob_uploads import OUTBOX, pending_uploads
from station.services.usb import export_batches, import_from
from sync_protocol.blobs import open_blob, seal_blob
from sync_protocol.keys import BoxKey
from sync_protocol.layout import blob_file_name
from tests.e2e.nodes import VILLAGE
from tests.e2e.test_daiban_route import network
from tests.station.test_blob_uploads import attach, scan
from tests.station.test_custody import receive_case

pytestmark = [pytest.mark.slow]
__all__ = ["network"]  # a fixture these tests use


def up_folder(central, stick):
    with central.app_context():
        return stick / "yiciban" / current_runtime().network_id / "up" / VILLAGE[0]


def tamper(path):
    data = bytearray(path.read_bytes())
    data[-1000] ^= 0x01  # one bit of the last chunk's ciphertext
    path.write_bytes(bytes(data))


def cut_last_chunk(path):
    """Drop the final STREAM chunk whole: the file ends cleanly after a non-final chunk (a copy that stopped)."""
    data = path.read_bytes()
    header_end = data.index(b"\n", data.index(b"\n--- ") + 1) + 1
    last = (len(data) - header_end - 16) % (65_536 + 16)
    assert last, "the scan sizes below leave a short final chunk"
    path.write_bytes(data[: len(data) - last])


def central_import(central, stick):
    """What ``yiciban-central import`` does with the folder: the scan files, then the batches (stored, ingested)."""
    with central.app_context():
        runtime = current_runtime()
        blobs = import_blob_folder(
            stick, instance=runtime.instance, max_bytes=central.config["MAX_BLOB_BYTES"],
            identities=[runtime.keys.ingest.private_raw],
        )  # fmt: skip
        for stored in import_folder(
            stick, instance=runtime.instance, max_bytes=central.config["MAX_UPLOAD_BYTES"]
        ):
            if not stored.duplicate:
                ingest_file(runtime, stored.name)
    return {b.name: (b.status, b.reason) for b in blobs}


def quarantined(central) -> dict[str, str]:
    with central.app_context():
        folder = current_runtime().instance / "quarantine"
    return {
        p.name.split(".age.")[0] + ".age": p.read_text().split(":")[0] for p in folder.glob("blob-*.reason")
    }


def test_an_offline_villages_large_scans_reach_central_by_stick_and_a_bad_file_is_quarantined(network):
    central, village, _township, _other, stick = network
    stick.mkdir()
    case = receive_case(village.app, "张晓明")
    contents = {name: scan(size, seed) for name, size, seed in
                (("kept", 700_000, 11), ("tampered", 500_000, 12), ("cut", 400_000, 13), ("small", 100_000, 14))}  # fmt: skip
    sha = {name: attach(village, case.id, content, f"stick-{name}") for name, content in contents.items()}
    with village.bound():
        written = export_batches(village.node, stick)
    up = up_folder(central, stick)
    large = {name: blob_file_name(sha[name]) for name in ("kept", "tampered", "cut")}
    assert set(large.values()) <= set(written) and blob_file_name(sha["small"]) not in written
    assert any(name.startswith("batch-") for name in written)
    for name in large.values():
        assert (up / name).read_bytes() == (village.instance / OUTBOX / name).read_bytes(), (
            "the upload's file"
        )
    with village.bound():
        again = export_batches(village.node, stick)
        assert not any(name.startswith("blob-") for name in again), "already on the stick byte for byte"
        assert set(pending_uploads()) == set(sha.values()), "central has confirmed nothing yet"

    tamper(up / large["tampered"])
    cut_last_chunk(up / large["cut"])
    foreign = scan(300_000, seed=15)
    stranger = seal_blob(foreign, "image/png", [BoxKey.generate().public_raw])  # sealed to someone else's key
    (up / stranger.name).write_bytes(stranger.data)

    outcome = central_import(central, stick)
    assert outcome == {
        large["kept"]: ("stored", ""),
        large["tampered"]: ("quarantined", "seal_auth"),
        large["cut"]: ("quarantined", "seal_truncated"),
        stranger.name: ("quarantined", "seal_no_identity"),
    }
    assert quarantined(central) == {
        large["tampered"]: "seal_auth", large["cut"]: "seal_truncated", stranger.name: "seal_no_identity"
    }  # fmt: skip
    with central.app_context():
        runtime = current_runtime()
        kept = blob_path(runtime.instance, sha["kept"]).read_bytes()
        assert kept == (village.instance / OUTBOX / large["kept"]).read_bytes()
        assert (
            open_blob(kept, [runtime.keys.ingest.private_raw], expected_sha256=sha["kept"])[1]
            == contents["kept"]
        )
        assert blob_state(runtime.instance, sha["small"]).complete, "the small scan came inside its batch"
        for name in ("tampered", "cut"):
            assert blob_state(runtime.instance, sha[name]) is None, "nothing kept, nothing left half-done"
        assert AuditEntry.select().where(AuditEntry.action == "blob_quarantined").count() == 3
    second_trip = central_import(central, stick)
    assert second_trip == {**outcome, large["kept"]: ("duplicate", "")}, "a second trip adds nothing"
    with central.app_context():
        assert AuditEntry.select().where(AuditEntry.action == "blob_quarantined").count() == 3
        assert len(list((current_runtime().instance / "quarantine").glob("blob-*"))) == 6, (
            "3 files, 3 reasons"
        )

    # Online at last, the village asks central about each scan: two are held, the two spoilt copies go up.
    village.open(online=True)
    blobs = village.sync()["blobs"]
    assert (blobs["already_held"], blobs["uploaded"], blobs["missing_here"]) == (2, 2, [])
    with central.app_context():
        runtime = current_runtime()
        for name in ("tampered", "cut"):
            held = blob_path(runtime.instance, sha[name]).read_bytes()
            assert open_blob(held, [runtime.keys.ingest.private_raw])[1] == contents[name]
    with village.bound():
        assert pending_uploads() == {}
    assert not (village.instance / OUTBOX / large["kept"]).exists()


def test_an_online_township_relays_a_villages_scan_files_unread_and_central_checks_them(network):
    central, village, township, _other, stick = network
    stick.mkdir()
    case = receive_case(village.app, "李秀兰")
    good, bad = scan(600_000, seed=21), scan(450_000, seed=22)
    good_sha, bad_sha = (attach(village, case.id, c, f"relay-{n}") for n, c in (("good", good), ("bad", bad)))
    with village.bound():
        export_batches(village.node, stick)
    up = up_folder(central, stick)
    tamper(up / blob_file_name(bad_sha))

    with township.bound():
        relayed = import_from(township.node, stick)
    assert relayed.relayed == 2, "the batch and the good scan"
    [refusal] = relayed.refused
    assert refusal.startswith(f"{blob_file_name(bad_sha)}: central quarantined blob {bad_sha[:12]}")
    assert "seal_auth" in refusal
    with central.app_context():
        runtime = current_runtime()
        assert (
            blob_path(runtime.instance, good_sha).read_bytes() == (up / blob_file_name(good_sha)).read_bytes()
        )
        assert blob_state(runtime.instance, bad_sha) is None
    assert quarantined(central) == {blob_file_name(bad_sha): "seal_auth"}
    assert hashlib.sha256((up / blob_file_name(good_sha)).read_bytes()).hexdigest() != good_sha, (
        "sealed, unread"
    )

    with township.bound():
        again = import_from(township.node, stick)
    assert again.relayed == 1, "the batch is put again (idempotent); central holds the good scan: not sent"
    assert len(again.refused) == 1

    village.open(online=True)
    blobs = village.sync()["blobs"]
    assert (blobs["already_held"], blobs["uploaded"]) == (1, 1), "only the spoilt one goes up again"


def test_a_scan_re_issued_by_fork_recovery_is_listed_from_its_rehome_event(app, instance):
    """The upload list reads attachments from a ``rehome`` too: a store whose list never saw the original (it
    came back from central as the rehome alone) still lists the scan for the stick and for upload."""
    from click.testing import CliRunner

    from station import db as dbmod
    from station.cli import main
    from station.db import write_transaction
    from station.models import EventLog, NodeState
    from station.services.attachments import attach_scan
    from station.services.blob_uploads import UPLOADS_KEY, queue_new_attachments
    from station.services.cases import CASE, Actor
    from station.services.log import check_against_ack, events_of
    from sync_protocol.events import REHOME

    case = receive_case(app, "王五")
    content = scan(300_000, seed=31)
    _, problems = attach_scan(instance / "blobs", Actor("village", "village_staff"), case.id, content, "",
                              "rehomed-scan", len(content))  # fmt: skip
    assert problems == {}
    sha = hashlib.sha256(content).hexdigest()
    [added] = [e for e in events_of(CASE, case.id) if e.type == "case.attachment_added"]
    with write_transaction():
        assert check_against_ack({1: added.seq - 1}, forks={1: added.seq}) is True
    app.extensions["station"].database.close()
    restored = CliRunner().invoke(main, ["restore", "--instance", str(instance)])
    assert restored.exit_code == 0, restored.output
    with dbmod.bound(app.extensions["station"].database):
        [rehome] = [e for e in events_of(CASE, case.id) if e.type == REHOME]
        assert rehome.effective_type == "case.attachment_added"
        original_row = EventLog.get(EventLog.event_id == added.event_id).id
        with write_transaction():  # the list as a store that never held the original would have it
            NodeState.write(UPLOADS_KEY, {"cursor": original_row, "pending": {}})
        assert queue_new_attachments() == 1
        assert pending_uploads()[sha] == {
            "size": len(content), "mt": "image/png", "epoch": rehome.epoch, "seq": rehome.seq
        }  # fmt: skip
