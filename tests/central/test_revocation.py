"""Revocation by seq (SYNC-DESIGN §11) and enrollment by file for stations that never go online."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from central.cli import cli
from central.models import AuditEntry, Batch, Conflict, LogEvent, QuarantinedEvent, Station
from sync_protocol.registry import verify_registry
from sync_protocol.trust import trust_initial_root, verify_certificate

from .builders import SimStation
from .conftest import VILLAGE, issue, login
from .test_ingest import put

pytestmark = pytest.mark.usefixtures("stations")


def test_revoked_after_seq_keeps_earlier_work_and_quarantines_later_events(client, village, central_info):
    village.receive_case()
    put(client, village.batch(village.events, central_info))  # seq 1–2 arrived before the theft was reported
    login(client, "admin")
    assert client.post(f"/stations/{VILLAGE}/revoke", data={}).status_code == 302
    assert Station.get_by_id(VILLAGE).status == "revoked"
    village.receive_case("990101101201-20260301-0009")  # seq 3, written with the stolen key
    put(client, village.batch(village.events[-1:], central_info))
    row = Batch.select().order_by(Batch.id.desc()).first()
    assert (row.status, row.reason) == ("quarantined", "revoked_key")
    assert QuarantinedEvent.get().seq == 3 and LogEvent.select().count() == 2
    assert Conflict.select().where(Conflict.conflict_class != "D").get().conflict_class == "G"
    registry = client.get("/api/v1/info").get_json()["registry"]
    root = trust_initial_root(central_info["roots"][0].encode(), network="test-net")
    key = verify_registry(registry.encode(), root, network="test-net").station_key(
        VILLAGE, village.signing.key_id
    )
    assert key.revoked_after == (1, 2)
    assert AuditEntry.select().where(AuditEntry.action == "station_revoked").exists()


def test_revocation_at_an_earlier_seq_and_bad_input(client, village, central_info):
    login(client, "admin")
    response = client.post(f"/stations/{VILLAGE}/revoke", data={"after_epoch": "x", "after_seq": "1"})
    assert response.status_code == 302 and Station.get_by_id(VILLAGE).status == "enrolled"
    assert (
        client.post(f"/stations/{VILLAGE}/revoke", data={"after_epoch": "1", "after_seq": "1"}).status_code
        == 302
    )
    village.receive_case()
    put(client, village.batch(village.events, central_info))
    assert [e.seq for e in LogEvent.select()] == [1]
    assert (
        client.post(f"/stations/{VILLAGE}/revoke", data={}).status_code == 302
    )  # already revoked: a message


def test_auditor_cannot_revoke(client):
    login(client, "auditor")
    assert client.post(f"/stations/{VILLAGE}/revoke", data={}).status_code == 403


def test_revoke_from_the_cli(stations, instance_path, client, village):
    result = CliRunner().invoke(cli, ["revoke", "--instance", str(instance_path), "--station", VILLAGE])
    assert result.exit_code == 0 and "revoked 990101101201" in result.output
    again = CliRunner().invoke(cli, ["revoke", "--instance", str(instance_path), "--station", VILLAGE])
    assert again.exit_code == 1 and "already revoked" in again.output


def test_enrollment_by_file(stations, instance_path, tmp_path, client):
    station = SimStation(VILLAGE, "test-net")
    request_file = tmp_path / "enroll-request.sig"
    request_file.write_bytes(station.enrollment_request(issue(stations)))
    reply_file = tmp_path / "enroll-reply.json"
    result = CliRunner().invoke(
        cli, ["enroll-file", "--instance", str(instance_path), str(request_file), "--out", str(reply_file)]
    )
    assert result.exit_code == 0, result.output
    reply = json.loads(reply_file.read_text())
    root = trust_initial_root(reply["central"]["roots"][0].encode(), network="test-net")
    assert verify_certificate(reply["certificate"].encode(), root, network="test-net").station_id == VILLAGE
    bad = CliRunner().invoke(
        cli, ["enroll-file", "--instance", str(instance_path), str(reply_file), "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code == 1 and "malformed" in bad.output


@pytest.mark.parametrize("new_key_first", [False, True])
def test_key_rotation_enrolls_the_announced_key(client, village, central_info, new_key_first):
    from central.models import StationKey
    from sync_protocol.events import key_rotate_event
    from sync_protocol.keys import BoxKey, SigningKey

    village.receive_case()
    new_signing, new_box = SigningKey.generate(), BoxKey.generate()
    last = village.events[-1]
    village.events.append(
        key_rotate_event(
            network="test-net",
            station_id=VILLAGE,
            epoch=1,
            seq=last.seq + 1,
            prev=last.event_id,
            new_sign_public=new_signing.public_raw,
            new_box_public=new_box.public_raw,
            hlc=village._tick(),
            wall_ms=village.clock.wall_ms,
            actor="system",
        )
    )
    announcement = village.batch(village.events, central_info)  # signed by the old key
    village.signing, village.box = new_signing, new_box
    village.receive_case("990101101201-20260301-0002")
    later = village.batch(village.events[-1:], central_info)  # signed by the new key
    for batch in [later, announcement] if new_key_first else [announcement, later]:
        put(client, batch)
    assert Batch.get(Batch.name == later.name).status == "applied"
    assert [e.seq for e in LogEvent.select().order_by(LogEvent.seq)] == [1, 2, 3, 4]
    old, new = StationKey.select().order_by(StationKey.serial)
    assert (old.revoked_after_epoch, old.revoked_after_seq) == (1, 3) and new.key_id == new_signing.key_id
    assert AuditEntry.select().where(AuditEntry.action == "key_rotated").exists()
