"""Every case/applicant event a station appends declares its base (SYNC-DESIGN §3, §9): the central version of the
aggregate the station learned from its downstream bundles' ``events`` part, and its own last event on it."""

from station.db import write_transaction
from station.models import CentralVersion
from station.services.downstream import _apply_part
from station.services.log import append_event, base_of, events_of
from sync_protocol.events import build_event
from sync_protocol.hlc import HLC

from .test_actions import _act, _receive


def _other_station_event(seq, case_id, network, payload=None, kind="case", event_type="case.note_added"):
    return build_event(
        network=network, station_id="990101101201", epoch=1, seq=seq, prev="0" * 64,
        hlc=HLC(1_900_000_000_000, seq), wall_ms=1_900_000_000_000, actor="village", idempotency_key=f"v-{seq}",
        type=event_type, schema_version=1, aggregate_kind=kind, aggregate_id=case_id,
        payload=payload or {"note_id": f"n{seq}", "text": "村里补充说明"},
    )  # fmt: skip


def test_events_before_any_bundle_declare_base_zero_and_chain_their_own_last_event(township_app):
    case = _receive(township_app)
    _act(case.id, "accept", "acc")
    received, accepted = events_of("case", case.id)[:2]
    assert (received.base_version, received.base_own_event) == (0, "")
    assert (accepted.base_version, accepted.base_own_event) == (0, received.event_id)
    applicant = events_of("applicant", received.payload["applicant_id"])[0]
    assert (applicant.base_version, applicant.base_own_event) == (0, "")


def test_an_events_part_sets_the_central_version_of_the_cases_it_carries(township_app):
    case = _receive(township_app)
    network = events_of("case", case.id)[0].network
    routed = _other_station_event(7, case.id, network)
    untouched = _receive(township_app, token="t-other")
    with write_transaction():
        assert _apply_part("events", routed.body + b"\n", 41) is True
    assert base_of("case", case.id).version == 41
    assert base_of("case", untouched.id).version == 0  # no other station's event on it: nothing learned
    record = _act(case.id, "accept", "acc-after-bundle")
    accepted = next(e for e in events_of("case", case.id) if e.idempotency_key == "acc-after-bundle")
    assert record.state == "accepted"
    assert accepted.base_version == 41
    assert accepted.base_own_event == events_of("case", case.id)[0].event_id


def test_central_versions_never_go_backwards_and_ignore_our_own_and_central_events(township_app):
    case = _receive(township_app)
    own = events_of("case", case.id)[0]
    routed = _other_station_event(3, case.id, own.network)
    central = build_event(
        network=own.network, station_id="central", epoch=1, seq=2, prev="0" * 64, hlc=HLC(1_900_000_000_000, 0),
        wall_ms=1_900_000_000_000, actor="central", idempotency_key="c-2", type="conflict_resolved",
        schema_version=1, aggregate_kind="case", aggregate_id="c-central-only", payload={"conflict": 1},
    )  # fmt: skip
    with write_transaction():
        _apply_part("events", routed.body + b"\n", 50)
        _apply_part("events", routed.body + b"\n" + own.body + b"\n", 20)  # an older part: stays at 50
        _apply_part("events", central.body + b"\n", 60)
        _apply_part("decisions", routed.body + b"\n", 90)  # decisions carry resolutions, not versions
    assert base_of("case", case.id).version == 50
    assert CentralVersion.get_or_none(CentralVersion.aggregate_id == "c-central-only") is None


def test_applicant_events_learn_their_version_too(township_app):
    case = _receive(township_app)
    network = events_of("case", case.id)[0].network
    applicant = _other_station_event(
        4, "a-elsewhere", network, kind="applicant", event_type="applicant.created",
        payload={"applicant_id": "a-elsewhere", "name": "李四", "id_type": "111", "id_number_masked": "99**",
                 "id_lookup": "h", "kind": "natural_person"},
    )  # fmt: skip
    with write_transaction():
        _apply_part("events", applicant.body + b"\n", 12)
        appended = append_event(
            actor="t", event_type="applicant.edited", aggregate_kind="applicant", aggregate_id="a-elsewhere",
            payload={"applicant_id": "a-elsewhere", "field": "phone", "old": "1", "new": "2"},
            idempotency_key="edit-1",
        ).event  # fmt: skip
    assert (appended.base_version, appended.base_own_event) == (12, "")


def test_an_explicit_base_is_kept(township_app):
    with write_transaction():
        event = append_event(
            actor="t", event_type="case.note_added", aggregate_kind="case", aggregate_id="c1",
            payload={"note_id": "n1", "text": "x"}, idempotency_key="k1", base_version=9, base_own_event="",
        ).event  # fmt: skip
    assert (event.base_version, event.base_own_event) == (9, "")


def test_a_field_correction_says_old_and_new_and_a_second_one_builds_on_it(township_app):
    from station.services.actions import current_field, edit_field

    from .test_actions import CLERK

    case = _receive(township_app)
    old = current_field(case.id, "phone")
    record, problems = edit_field(CLERK, case.id, "phone", "13900000001", "edit-1")
    assert problems == {} and record is not None
    edit_field(CLERK, case.id, "phone", "13900000002", "edit-2")
    edits = [e.payload for e in events_of("case", case.id) if e.type == "case.field_edited"]
    assert edits == [
        {"field": "phone", "old": old, "new": "13900000001"},
        {"field": "phone", "old": "13900000001", "new": "13900000002"},
    ]
    assert current_field(case.id, "phone") == "13900000002"
    assert edit_field(CLERK, case.id, "id_number", "x", "edit-3")[1].keys() == {"field"}
    assert edit_field(CLERK, case.id, "phone", "13900000002", "edit-4")[1].keys() == {"new"}


def test_an_act_central_did_not_apply_leaves_the_case_as_central_has_it(township_app):
    from station.services.cases import case_view
    from station.services.downstream import _apply_case_events

    case = _receive(township_app)
    _act(case.id, "accept", "acc")
    withdrawn = _act(case.id, "withdraw", "wd", reason="申请人撤回")
    assert withdrawn.state == "withdrawn"
    mine = next(e for e in events_of("case", case.id) if e.idempotency_key == "wd")

    def resolution(seq, conflict_class, applied):
        return build_event(
            network=mine.network, station_id="central", epoch=1, seq=seq, prev="0" * 64,
            hlc=HLC(1_900_000_000_000, seq), wall_ms=1_900_000_000_000, actor="admin", idempotency_key=f"r{seq}",
            type="conflict_resolved", schema_version=1, aggregate_kind="case", aggregate_id=case.id,
            payload={"conflict": seq, "class": conflict_class, "outcome": "keep_applied", "automatic": False,
                     "incoming": mine.event_id, "competing": [], "station": mine.station_id,
                     "incoming_applied": applied},
        )  # fmt: skip

    with write_transaction():
        _apply_case_events(resolution(2, "G", False).body + b"\n")  # integrity: says nothing of the content
    assert case_view(case.id).state.value == "withdrawn"
    with write_transaction():
        _apply_case_events(resolution(3, "A", False).body + b"\n")
    assert case_view(case.id).state.value == "accepted"


def test_a_case_a_cut_part_left_out_keeps_its_version_until_its_events_come(township_app):
    # Central's cap cut a part: it carries the first case whole up to its version and leaves the second case's
    # new events for the next part (central routing._whole_aggregates). The station learns the version only for
    # what the part carries, so its next act on the second case still declares the older base, and central judges
    # it against the events the station has not seen.
    first = _receive(township_app)
    second = _receive(township_app, token="t-second")
    network = events_of("case", first.id)[0].network
    with write_transaction():
        both = _other_station_event(3, first.id, network).body + b"\n"
        both += _other_station_event(4, second.id, network).body + b"\n"
        assert _apply_part("events", both, 20) is True
        assert _apply_part("events", _other_station_event(6, first.id, network).body + b"\n", 31) is True
    assert (base_of("case", first.id).version, base_of("case", second.id).version) == (31, 20)
    _act(second.id, "accept", "acc-second")
    accepted = next(e for e in events_of("case", second.id) if e.idempotency_key == "acc-second")
    assert accepted.base_version == 20
    with write_transaction():
        assert _apply_part("events", _other_station_event(5, second.id, network).body + b"\n", 40) is True
    assert (base_of("case", first.id).version, base_of("case", second.id).version) == (31, 40)
