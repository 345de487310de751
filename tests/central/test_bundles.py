"""Publishing catalog and calendars, and downstream bundles per station (SYNC-DESIGN §10), verified the way a
station verifies them (sync_protocol.bundles.verify_bundle)."""

from __future__ import annotations

import json
import time
from importlib import resources

import pytest
from click.testing import CliRunner

from central.cli import cli
from central.services.publications import PublicationError, publish_catalog, publish_shipped
from sync_protocol.bundles import verify_bundle
from sync_protocol.trust import trust_initial_root

from .conftest import login
from .test_ingest import put

pytestmark = pytest.mark.usefixtures("stations")


def open_bundle(response, village, central_info, state=None):
    root = trust_initial_root(central_info["roots"][0].encode(), network="test-net")
    return verify_bundle(
        response.data,
        identities=[village.box.private_raw],
        root=root,
        network="test-net",
        station_id=village.code,
        state=state,
        local_clock_ms=int(time.time() * 1000),
    )


def test_a_station_gets_a_snapshot_then_deltas_then_nothing(app, client, village, central_info):
    with app.app_context():
        publish_shipped("admin")
    first = client.get(f"/api/v1/stations/{village.code}/bundles?after=0")
    assert first.status_code == 200 and first.headers["X-Bundle-Version"] == "1"
    verified = open_bundle(first, village, central_info)
    parts = {p.type: p for p in verified.parts}
    assert verified.manifest.snapshot and {"registry", "catalog", "calendar", "certificate"} <= set(parts)
    assert json.loads(parts["catalog"].data)["catalog_version"] == 1
    assert {y["year"] for y in json.loads(parts["calendar"].data)["years"]} >= {2026}
    # Asking again after nothing changed: the same station is current.
    assert client.get(f"/api/v1/stations/{village.code}/bundles?after=1").status_code == 204
    # New work arrives: the next bundle is a delta carrying the ack only.
    village.receive_case()
    put(client, village.batch(village.events, central_info))
    second = client.get(f"/api/v1/stations/{village.code}/bundles?after=1")
    delta = open_bundle(second, village, central_info, state=verified.state)
    types = {p.type for p in delta.parts}
    assert not delta.manifest.snapshot and "acks" in types
    assert not types & {"catalog", "calendar", "registry", "certificate"}  # unchanged parts are not resent
    # The same question gives the same bytes.
    assert client.get(f"/api/v1/stations/{village.code}/bundles?after=1").data == second.data


def test_a_station_far_behind_gets_a_snapshot(app, client, village, central_info):
    with app.app_context():
        publish_shipped("admin")
    client.get(f"/api/v1/stations/{village.code}/bundles?after=0")
    village.receive_case()
    put(client, village.batch(village.events, central_info))
    client.get(f"/api/v1/stations/{village.code}/bundles?after=1")
    again = client.get(f"/api/v1/stations/{village.code}/bundles?after=0")
    assert again.headers["X-Bundle-Version"] == "3"
    assert open_bundle(again, village, central_info).manifest.snapshot


@pytest.mark.parametrize("after", ["-1", "x", ""])
def test_bad_after_is_a_clear_json_error(client, after):
    response = client.get(f"/api/v1/stations/990101101201/bundles?after={after}")
    assert response.status_code == 400 and "after" in response.get_json()["message"]


def test_unknown_station_has_no_bundles(client):
    assert client.get("/api/v1/stations/990101101299/bundles?after=0").status_code == 404


def test_catalog_versions_only_move_forward_and_bad_files_say_where(app):
    data = resources.files("casework").joinpath("data/demo_catalog.json").read_bytes()
    with app.app_context():
        publish_catalog(data, "admin")
        with pytest.raises(PublicationError, match="not newer"):
            publish_catalog(data, "admin")
        broken = json.loads(data)
        broken["items"][0]["name_zh"] = 7
        with pytest.raises(PublicationError) as caught:
            publish_catalog(json.dumps(broken).encode(), "admin")
        assert caught.value.problems and caught.value.problems[0].path.startswith("$.items[0]")


def test_publish_and_export_from_the_cli(app, client, village, central_info, instance_path, tmp_path):
    village.receive_case()
    put(client, village.batch(village.events, central_info))
    runner = CliRunner()
    published = runner.invoke(cli, ["publish", "--instance", str(instance_path), "--shipped"])
    assert published.exit_code == 0 and "published catalog" in published.output
    exported = runner.invoke(cli, ["export", "--instance", str(instance_path), str(tmp_path / "stick")])
    assert exported.exit_code == 0, exported.output
    down = list((tmp_path / "stick" / "yiciban" / "test-net" / "down" / village.code).iterdir())
    acks = list((tmp_path / "stick" / "yiciban" / "test-net" / "acks" / village.code).iterdir())
    assert len(down) == 1 and down[0].name.startswith(f"bundle-{village.code}-v000000001-")
    assert acks[0].name == f"ack-{village.code}-v000000001.sig"
    # Importing the same stick back takes no bundle or ack for a batch.
    imported = runner.invoke(cli, ["import", "--instance", str(instance_path), str(tmp_path / "stick")])
    assert imported.exit_code == 0 and imported.output == ""


def test_catalog_page_lists_publications(app, client):
    with app.app_context():
        publish_shipped("admin")
    login(client, "auditor")
    assert "目录" in client.get("/publications/").get_data(as_text=True)


def test_resolutions_reach_the_station_in_the_decisions_part(app, client, village, central_info):
    from central.models import CaseRecord
    from central.services.conflicts import resolve
    from sync_protocol.events import parse_event

    from .builders import SimStation
    from .conftest import TOWNSHIP, issue

    case_id = village.receive_case()
    put(client, village.batch(village.events, central_info))
    base = CaseRecord.get_by_id(case_id).version
    village.append("field_edited", case_id, {"field": "name", "old": "a", "new": "b"}, base_version=base)
    put(client, village.batch(village.events[-1:], central_info))
    township = SimStation(TOWNSHIP, central_info["network"])
    client.post("/api/v1/enroll", data=township.enrollment_request(issue(app, TOWNSHIP)))
    township.open_epoch()
    township.append("field_edited", case_id, {"field": "name", "old": "a", "new": "c"}, base_version=base)
    put(client, township.batch(township.events, central_info))
    with app.app_context():
        from central.models import Conflict

        resolve(Conflict.select().where(Conflict.conflict_class != "D").get().id, "keep_applied", "admin")
    bundle = open_bundle(
        client.get(f"/api/v1/stations/{village.code}/bundles?after=0"), village, central_info
    )
    decisions = {p.type: p for p in bundle.parts}["decisions"].data.splitlines()
    resolution = parse_event(decisions[-1])
    assert resolution.station_id == "central" and resolution.payload["outcome"] == "keep_applied"


def test_routed_events_reach_the_township_and_lost_events_come_back_after_a_restore(
    app, client, village, central_info
):
    from sync_protocol.events import parse_event

    from .builders import SimStation
    from .conftest import TOWNSHIP, issue

    case_id = village.receive_case()
    put(client, village.batch(village.events, central_info))
    township = SimStation(TOWNSHIP, central_info["network"])
    client.post("/api/v1/enroll", data=township.enrollment_request(issue(app, TOWNSHIP)))
    bundle = open_bundle(client.get(f"/api/v1/stations/{TOWNSHIP}/bundles?after=0"), township, central_info)
    routed = [parse_event(line) for line in {p.type: p for p in bundle.parts}["events"].data.splitlines()]
    assert [(e.station_id, e.aggregate_id) for e in routed] == [(VILLAGE_CODE, case_id)]
    # The village restores an old backup (it lost seq 2) and opens epoch 2 linked to seq 1.
    restored = SimStation(village.code, central_info["network"], signing=village.signing, box=village.box)
    restored.epoch = 2
    restored.clock = village.clock
    restored.open_epoch(reason="restore", previous_head=(1, 1, village.events[0].event_id))
    put(client, restored.batch(restored.events, central_info))
    own = open_bundle(client.get(f"/api/v1/stations/{village.code}/bundles?after=0"), village, central_info)
    lost = [parse_event(line) for line in {p.type: p for p in own.parts}["events"].data.splitlines()]
    assert [(e.epoch, e.seq) for e in lost] == [(1, 2)]


VILLAGE_CODE = "990101101201"
