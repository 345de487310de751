"""PUT /api/v1/files → inbox → ingest (SYNC-DESIGN §7) → central log, projections, signed ack; real sealed batches."""

from __future__ import annotations

import pytest

from central.db import database
from central.models import Batch, CaseRecord, ForkEvidence, HeldEvent, LogEvent, StationChain
from central.runtime import current_runtime
from central.services.ingest import ingest_file
from sync_protocol.acks import verify_ack
from sync_protocol.trust import trust_initial_root

from .builders import SimStation
from .conftest import VILLAGE, issue, login

pytestmark = pytest.mark.usefixtures("stations")


def put(client, batch):
    return client.put(f"/api/v1/files/{batch.name}", data=batch.data)


def latest_ack(client, central_info, code=VILLAGE):
    response = client.get(f"/api/v1/stations/{code}/ack")
    assert response.status_code == 200
    root = trust_initial_root(central_info["roots"][0].encode(), network="test-net")
    return verify_ack(response.data, list(root.central_keys), network="test-net", station_id=code)


def test_a_batch_is_stored_applied_projected_and_acked(client, village, central_info):
    case_id = village.receive_case()
    village.append(
        "accepted", case_id, {"from": "village_received", "to": "accepted", "accepted_on": "2026-03-03"}
    )
    batch = village.batch(village.events, central_info)
    response = put(client, batch)
    assert response.status_code == 202 and response.get_json()["status"] == "stored"
    row = Batch.get(Batch.name == batch.name)
    assert (row.status, row.applied_count, row.station_code, row.seq_first, row.seq_last) == (
        "applied",
        3,
        VILLAGE,
        1,
        3,
    )
    assert [e.seq for e in LogEvent.select().order_by(LogEvent.central_seq)] == [1, 2, 3]
    assert (
        bytes(LogEvent.get(LogEvent.seq == 2).body) == village.events[1].body
    )  # the exact bytes that were sent
    case = CaseRecord.get_by_id(case_id)
    assert (case.state, case.origin_station, case.case_number) == (
        "accepted",
        VILLAGE,
        "990101101201-20260301-0001",
    )
    ack = latest_ack(client, central_info)
    assert ack.for_epoch(1).through == 3 and ack.for_epoch(1).through_id == village.events[-1].event_id


def test_the_same_file_twice_is_a_duplicate_not_an_error(client, village, central_info):
    village.receive_case()
    batch = village.batch(village.events, central_info)
    assert put(client, batch).status_code == 202
    again = put(client, batch)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert LogEvent.select().count() == 2


def test_overlapping_batches_apply_only_what_is_new(client, village, central_info):
    village.receive_case()
    put(client, village.batch(village.events[:2], central_info))
    village.receive_case("990101101201-20260301-0002")
    put(client, village.batch(village.events, central_info))
    row = Batch.select().order_by(Batch.id.desc()).first()
    assert (row.status, row.applied_count, row.duplicate_count) == ("applied", 1, 2)
    assert LogEvent.select().count() == 3


def test_a_gap_is_held_then_released_when_filled(client, village, central_info):
    for n in range(5):
        village.receive_case(f"990101101201-20260301-{n:04d}")
    early, late = village.events[:3], village.events[3:]
    put(client, village.batch(late, central_info))
    held_batch = Batch.select().order_by(Batch.id.desc()).first()
    assert held_batch.status == "pending_gap" and HeldEvent.select().count() == 3
    epoch = latest_ack(client, central_info).for_epoch(1)
    assert (epoch.through, epoch.held, epoch.missing) == (0, ((4, 6),), ((1, 3),))
    put(client, village.batch(early, central_info))
    assert Batch.get_by_id(held_batch.id).status == "applied"
    assert HeldEvent.select().count() == 0
    assert [e.seq for e in LogEvent.select().order_by(LogEvent.central_seq)] == [1, 2, 3, 4, 5, 6]
    assert StationChain.get().head_seq == 6
    assert latest_ack(client, central_info).for_epoch(1).through == 6
    assert CaseRecord.select().count() == 5


def test_a_fork_is_kept_as_evidence_and_the_newcomer_quarantined(client, village, central_info):
    village.receive_case()
    put(client, village.batch(village.events, central_info))
    # The station restored an old backup and wrote a different event at seq 2.
    branch = [village.events[0]]
    village.append("received", "case-b", dict(_received_payload(), case_no="B-1"), events=branch)
    response = put(client, village.batch(branch, central_info))
    assert response.status_code == 202  # received and verified: not applied is not an error
    row = Batch.select().order_by(Batch.id.desc()).first()
    assert (row.status, row.reason) == ("quarantined", "fork")
    evidence = ForkEvidence.get()
    assert (evidence.seq, evidence.held_event_id, evidence.incoming_event_id) == (
        2,
        village.events[1].event_id,
        branch[1].event_id,
    )
    assert LogEvent.select().count() == 2
    forks = latest_ack(client, central_info).for_epoch(1).forks
    assert forks[0].seq == 2 and forks[0].received_id == branch[1].event_id


def test_a_batch_from_an_unknown_station_waits_and_is_applied_after_enrollment(
    stations, client, central_info
):
    stranger = SimStation("990101101000", central_info["network"])
    stranger.open_epoch()
    batch = stranger.batch(stranger.events, central_info)
    put(client, batch)
    assert (Batch.get(Batch.name == batch.name).status, Batch.get(Batch.name == batch.name).reason) == (
        "quarantined",
        "unknown_key",
    )
    code = issue(stations, "990101101000")
    assert client.post("/api/v1/enroll", data=stranger.enrollment_request(code)).status_code == 200
    row = Batch.get(Batch.name == batch.name)
    assert (row.status, row.reason) == ("applied", ""), row.detail


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: data[:-20], "seal_truncated"),
        (lambda data: data[:200] + bytes([data[200] ^ 1]) + data[201:], "seal_header"),
        (lambda data: data[:-30] + bytes([data[-30] ^ 1]) + data[-29:], "seal_auth"),
        (lambda data: b"not an age file at all", "seal_header"),
    ],
)
def test_damaged_files_are_rejected_and_kept_in_quarantine(
    client, village, central_info, instance_path, damage, reason
):
    village.receive_case()
    batch = village.batch(village.events, central_info)
    response = client.put(f"/api/v1/files/{batch.name}", data=damage(batch.data))
    assert response.status_code == 202
    row = Batch.get(Batch.name == batch.name)
    assert row.status == "rejected" and row.reason.startswith("seal"), row.reason
    assert (instance_path / "quarantine" / batch.name).exists()
    assert LogEvent.select().count() == 0


def test_a_batch_for_another_network_is_rejected(client, stations, central_info):
    foreign = SimStation(VILLAGE, "other-net")
    foreign.open_epoch()
    batch = foreign.batch(foreign.events, central_info)
    put(client, batch)
    assert Batch.get(Batch.name == batch.name).reason in {"wrong_network", "unknown_key"}


def test_oversized_upload_is_refused_before_storage(client, app, instance_path):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    response = client.put("/api/v1/files/batch-x.age", data=b"x" * 1001)
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert not any((instance_path / "inbox").iterdir())


@pytest.mark.parametrize("name", ["UPPER.age", "..", ".hidden", "a b", "x" * 201])
def test_bad_file_names_are_refused(client, name):
    response = client.put(f"/api/v1/files/{name}", data=b"abc")
    assert response.status_code in (400, 404)


def test_a_different_file_under_a_used_name_is_refused_and_kept(client, instance_path):
    assert client.put("/api/v1/files/batch-a.age", data=b"first").status_code == 202
    response = client.put("/api/v1/files/batch-a.age", data=b"second")
    assert response.status_code == 409
    assert any(p.name.startswith("batch-a.age.") for p in (instance_path / "quarantine").iterdir())


def test_ingest_is_idempotent_when_run_again(client, village, central_info):
    village.receive_case()
    batch = village.batch(village.events, central_info)
    put(client, batch)
    outcome = ingest_file(current_runtime(), batch.name)
    assert outcome.status == "applied" and LogEvent.select().count() == 2


def test_review_pages_show_batches_events_and_cases_in_chinese(client, village, central_info):
    applicant = village.create_applicant("张晓明", "330110********1236")
    case_id = village.receive_case(applicant_id=applicant)
    put(client, village.batch(village.events, central_info))
    login(client, "auditor")
    batches = client.get(f"/batches/?station={VILLAGE}").get_data(as_text=True)
    assert "已应用" in batches
    batch_id = Batch.get().id
    detail = client.get(f"/batches/{batch_id}").get_data(as_text=True)
    assert "开启日志纪元" in detail and "代收" in detail
    cases = client.get("/cases/").get_data(as_text=True)
    assert "990101101201-20260301-0001" in cases
    assert "高龄津贴申请（80周岁以上）" in cases, "the item's name, not its code"
    assert "张** 330110********1236" in cases and "张晓明" not in cases, "the applicant, masked"
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "办理过程" in page and "高龄津贴申请（80周岁以上）" in page and "张** 330110********1236" in page
    english = client.get("/cases/?lang=en").get_data(as_text=True)
    assert "Old-age (80+) allowance" in english and "高龄津贴申请" not in english
    client.get("/cases/?lang=zh")
    station_page = client.get(f"/stations/{VILLAGE}").get_data(as_text=True)
    assert "纪元 1: 3" in station_page  # epoch.open, applicant, received
    health = client.get("/stations/").get_data(as_text=True)
    assert "1:3" in health and "各纪元链高度" in health
    assert "等待人工处理" in client.get("/").get_data(as_text=True)
    database.close()


def _received_payload():
    return {
        "from": None,
        "to": "village_received",
        "case_no": "X",
        "item_code": "GF00301000",
        "item_version": 1,
        "applicant_id": "a1",
        "station": VILLAGE,
        "received_on": "2026-03-02",
        "channel": "village",
        "materials": [],
    }


def test_a_malformed_event_inside_a_signed_batch_is_kept_as_evidence_and_the_rest_applies(
    client, village, central_info
):
    import hashlib
    import types
    import zlib

    from central.models import QuarantinedEvent
    from sync_protocol.batch import COMPRESSION_LEVEL, encode_container
    from sync_protocol.checkpoint import sign_checkpoint
    from sync_protocol.events import build_event, compute_event_id
    from sync_protocol.keys import key_id
    from sync_protocol.layout import batch_file_name
    from sync_protocol.seal import decode_recipient, seal

    opening = village.events[0]
    good = village.receive_case()
    second = village.events[1]
    # The station wrote seq 2 with a stray space: not canonical, so central rejects that one event.
    broken = second.body.replace(b'":', b'": ', 1)
    after = build_event(
        network="test-net", station_id=VILLAGE, epoch=1, seq=3, prev=compute_event_id(broken),
        hlc=village._tick(), wall_ms=village.clock.wall_ms, actor="village", idempotency_key="op-x",
        type="note_added", schema_version=1, aggregate_kind="case", aggregate_id=good,
        payload={"note_id": "n1", "text": "补充说明"},
    )  # fmt: skip
    bodies = [opening.body, broken, after.body]
    ingest_key = decode_recipient(central_info["ingest_recipient"])
    checkpoint = sign_checkpoint(
        network="test-net", station_id=VILLAGE, signing_key=village.signing, epoch=1, first_seq=1, last_seq=3,
        prev=opening.prev, head=after.event_id,
        events_sha256=hashlib.sha256(b"".join(b + b"\n" for b in bodies)).hexdigest(),
        recipient_key_id=key_id(ingest_key), bundle_version=0, hlc=after.hlc, wall_ms=after.wall_ms,
    )  # fmt: skip
    container = encode_container(checkpoint, [types.SimpleNamespace(body=b) for b in bodies], [])
    sealed = seal(zlib.compress(container, COMPRESSION_LEVEL), [ingest_key])
    name = batch_file_name(VILLAGE, 1, 1, 3, sealed)
    assert client.put(f"/api/v1/files/{name}", data=sealed).status_code == 202
    row = Batch.get(Batch.name == name)
    assert (row.status, row.reason) == ("quarantined", "malformed"), row.detail
    evidence = QuarantinedEvent.get()
    assert (evidence.seq, bytes(evidence.body)) == (2, broken)
    assert [e.seq for e in LogEvent.select().order_by(LogEvent.seq)] == [1]
    assert latest_ack(client, central_info).for_epoch(1).quarantined[0].seq == 2
