"""Publishing catalog and calendars, and downstream bundles per station (SYNC-DESIGN §10), verified the way a
station verifies them (sync_protocol.bundles.verify_bundle)."""

from __future__ import annotations

import json
import time
from importlib import resources

import pytest
from click.testing import CliRunner

from central.cli import cli
from central.models import CaseRecord
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
    # Each resolution reaches the station once: the next bundle carries only the new ones.
    base = CaseRecord.get_by_id(case_id).version
    village.append("field_edited", case_id, {"field": "name", "old": "b", "new": "d"}, base_version=base)
    put(client, village.batch(village.events[-1:], central_info))
    township.append("field_edited", case_id, {"field": "name", "old": "b", "new": "e"}, base_version=base)
    put(client, township.batch(township.events[-1:], central_info))
    with app.app_context():
        from central.models import Conflict

        second = Conflict.select().where(Conflict.conflict_class != "D", Conflict.status == "open").get()
        resolve(second.id, "keep_applied", "admin")
    delta = open_bundle(
        client.get(f"/api/v1/stations/{village.code}/bundles?after=1"), village, central_info, bundle.state
    )
    lines = {p.type: p for p in delta.parts}["decisions"].data.splitlines()
    assert not set(lines) & set(decisions), "no resolution the station holds is sent again"
    assert (second.id, "keep_applied") in {
        (parse_event(line).payload["conflict"], parse_event(line).payload["outcome"]) for line in lines
    }


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
COUNTY_CODE = "990101000000"


def _enrolled(app, client, code, central_info):
    from .builders import SimStation
    from .conftest import issue

    station = SimStation(code, central_info["network"])
    assert client.post("/api/v1/enroll", data=station.enrollment_request(issue(app, code))).status_code == 200
    station.open_epoch()
    return station


def _push(client, station, central_info, events):
    assert put(client, station.batch(events, central_info)).status_code == 202


def _routed(verified) -> list[tuple[str, str, str]]:
    from sync_protocol.events import parse_event

    part = {p.type: p for p in verified.parts}.get("events")
    lines = part.data.splitlines() if part is not None else []
    return [(e.station_id, e.type, e.aggregate_id) for e in map(parse_event, lines)]


def test_a_county_gets_only_the_cases_forwarded_to_it_or_it_acted_on_and_each_event_once(
    app, client, village, central_info
):
    township = _enrolled(app, client, "990101101000", central_info)
    county = _enrolled(app, client, COUNTY_CODE, central_info)
    low_income = village.receive_case(
        "990101101201-20260301-0001", item_code="GF00201000"
    )  # the county decides
    relief = village.receive_case(
        "990101101201-20260301-0002", item_code="GF00203000"
    )  # the township decides
    for case_id in (low_income, relief):
        village.append("custody_dispatched", case_id, {
            "from": "village_received", "to": "in_transit", "manifest_id": "m1", "carrier": "agent",
            "to_station": township.code, "at": "2026-03-02T09:00:00+08:00", "direction": "up"})  # fmt: skip
    _push(client, village, central_info, village.events)
    township.clock = village.clock  # the township acts after it learnt of the cases
    for case_id in (low_income, relief):
        base = CaseRecord.get_by_id(case_id).version
        township.append("custody_received", case_id, {
            "from": "in_transit", "to": "received", "manifest_id": "m1", "received_by": "township",
            "at": "2026-03-03T10:00:00+08:00", "direction": "up"}, base_version=base)  # fmt: skip
        township.append(
            "accepted", case_id, {"from": "received", "to": "accepted", "accepted_on": "2026-03-03"}
        )
    _push(client, township, central_info, township.events)
    county_url = f"/api/v1/stations/{COUNTY_CODE}/bundles"
    first = open_bundle(client.get(f"{county_url}?after=0"), county, central_info)
    assert _routed(first) == [], "cases of the county's area that the township handles are not the county's"

    township.append("forwarded", low_income, {"from": "accepted", "to": "forwarded", "forwarded_on": "2026-03-05",
                                              "to_level": "county", "opinion": "初审同意"})  # fmt: skip
    _push(client, township, central_info, township.events[-1:])
    second = open_bundle(client.get(f"{county_url}?after=1"), county, central_info, state=first.state)
    routed = _routed(second)
    assert {case for _, _, case in routed} == {low_income}, "forwarded to the county: it sees the whole case"
    assert [t for _, t, _ in routed] == [
        "received", "custody_dispatched", "custody_received", "accepted", "forwarded",
    ]  # fmt: skip

    county.clock = township.clock
    decided = {"from": "forwarded", "to": "decided_granted", "decided_on": "2026-03-09", "outcome": "granted",
               "reasons": [], "document_no": "示民〔2026〕3号"}  # fmt: skip
    county.append("decided", low_income, decided, base_version=CaseRecord.get_by_id(low_income).version)
    _push(client, county, central_info, county.events)
    # The result goes back down; the county, which acted on the case, keeps seeing what happens to it.
    township.clock = county.clock
    township.append("custody_dispatched", low_income, {
        "from": "decided_granted", "to": "decided_granted", "manifest_id": "m2", "carrier": "agent",
        "to_station": village.code, "at": "2026-03-10T09:00:00+08:00", "direction": "down"},
        base_version=CaseRecord.get_by_id(low_income).version)  # fmt: skip
    township.append(
        "review_note", relief, {"from": "accepted", "to": "accepted", "step": "初审", "opinion": "同意"}
    )
    _push(client, township, central_info, township.events[-2:])
    assert CaseRecord.get_by_id(low_income).owner_station == village.code
    third = open_bundle(client.get(f"{county_url}?after=2"), county, central_info, state=second.state)
    assert _routed(third) == [(township.code, "custody_dispatched", low_income)], (
        "only what the county has not been sent; never its own events, never the township's own case"
    )
    # A county that lost bundles 2 and 3 (never applied them) gets their events again in a snapshot, once.
    again = open_bundle(client.get(f"{county_url}?after=1"), county, central_info, state=first.state)
    assert again.manifest.snapshot
    assert [t for _, t, _ in _routed(again)] == [
        "received", "custody_dispatched", "custody_received", "accepted", "forwarded", "custody_dispatched",
    ]  # fmt: skip
    assert {p.type for p in again.parts} >= {"events"}
    # Nothing new: nothing more.
    assert client.get(f"{county_url}?after=4").status_code == 204


def test_a_township_gets_each_event_of_its_villages_once(app, client, village, central_info):
    township = _enrolled(app, client, "990101101000", central_info)
    url = f"/api/v1/stations/{township.code}/bundles"
    case_id = village.receive_case()
    _push(client, village, central_info, village.events)
    first = open_bundle(client.get(f"{url}?after=0"), township, central_info)
    assert [t for _, t, _ in _routed(first)] == ["received"]
    village.append("withdrawn", case_id, {"from": "village_received", "to": "withdrawn",
                                          "withdrawn_on": "2026-03-04", "reason": "申请人撤回"})  # fmt: skip
    _push(client, village, central_info, village.events[-1:])
    second = open_bundle(client.get(f"{url}?after=1"), township, central_info, state=first.state)
    assert _routed(second) == [(village.code, "withdrawn", case_id)]
    events_version = {p.type: p.version for p in second.parts}["events"]
    assert events_version > {p.type: p.version for p in first.parts}["events"], "a station applies it"


def _central_seq(event) -> int:
    from central.models import LogEvent

    return LogEvent.get(LogEvent.event_id == event.event_id).central_seq


def _note(station, case_id, text):
    return station.append("note_added", case_id, {"note_id": f"n-{len(station.events)}", "text": text})


def test_a_part_the_cap_cut_never_claims_a_version_past_an_event_it_left_behind(
    app, client, village, central_info, monkeypatch
):
    from central.services import routing

    township = _enrolled(app, client, "990101101000", central_info)
    url = f"/api/v1/stations/{township.code}/bundles"
    first_case = village.receive_case("990101101201-20260301-0001")
    second_case = village.receive_case("990101101201-20260301-0002")
    received_a, received_b = village.events[-2:]
    _push(client, village, central_info, village.events)
    first = open_bundle(client.get(f"{url}?after=0"), township, central_info)
    b1 = _note(village, second_case, "第二件补充说明")
    a1 = _note(village, first_case, "第一件补充说明")
    b2 = _note(village, second_case, "第二件的长说明" * 40)
    _push(client, village, central_info, [b1, a1, b2])
    size = {e.event_id: len(e.body) + 1 for e in (received_a, received_b, b1, a1, b2)}
    assert size[b2.event_id] > size[a1.event_id] and _central_seq(b2) == _central_seq(a1) + 1
    monkeypatch.setattr(routing, "EVENTS_PART_CAP", size[b1.event_id] + size[a1.event_id])

    # Cut above the last part's version: the part's version is the newest event it carries.
    second = open_bundle(client.get(f"{url}?after=1"), township, central_info, state=first.state)
    assert _routed(second) == [
        (village.code, "note_added", second_case),
        (village.code, "note_added", first_case),
    ]
    assert {p.type: p.version for p in second.parts}["events"] == _central_seq(a1)

    # A station that lost everything (after=0) gets a snapshot under a cap that holds all but b2. Its version must
    # rise above bundle 2's (a1's position), to b2's: the second case without b2 would claim b2's position while
    # the station does not hold b2, so the part carries the first case alone, whole.
    everything_but_b2 = sum(size[e.event_id] for e in (received_a, received_b, b1, a1))
    monkeypatch.setattr(routing, "EVENTS_PART_CAP", everything_but_b2)
    snapshot = open_bundle(client.get(f"{url}?after=0"), township, central_info)
    assert snapshot.manifest.snapshot
    assert {p.type: p.version for p in snapshot.parts}["events"] == _central_seq(b2)
    assert _routed(snapshot) == [
        (village.code, "received", first_case),
        (village.code, "note_added", first_case),
    ]

    # With room again, the second case comes whole (b1 too, which only the never-applied bundle 2 carried), above
    # every part issued before.
    monkeypatch.setattr(routing, "EVENTS_PART_CAP", 15 * 1024 * 1024)
    after = snapshot.manifest.version
    third = open_bundle(client.get(f"{url}?after={after}"), township, central_info, state=snapshot.state)
    assert _routed(third) == [
        (village.code, t, second_case) for t in ("received", "note_added", "note_added")
    ]
    assert {p.type: p.version for p in third.parts}["events"] > _central_seq(b2)
