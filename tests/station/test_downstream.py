import json

from station.db import write_transaction
from station.models import DownstreamPart, NodeState
from station.services.cases import case_view, central_notes
from station.services.downstream import _apply_case_events, _apply_part
from station.services.reference import CATALOG_KEY, current_calendar
from sync_protocol.events import build_event
from sync_protocol.hlc import HLC

from .test_actions import _act, _receive


def _central_event(seq, event_type, case_id, payload, prev="0" * 64):
    return build_event(
        network="test-network", station_id="central", epoch=1, seq=seq, prev=prev, hlc=HLC(2_000_000_000_000, seq),
        wall_ms=2_000_000_000_000, actor="county-clerk", idempotency_key=f"c-{seq}", type=event_type,
        schema_version=1, aggregate_kind="case", aggregate_id=case_id, payload=payload,
    )  # fmt: skip


def test_central_decision_on_our_case_is_folded_after_our_events(township_app):
    case = _receive(township_app)
    _act(case.id, "accept", "acc")
    decided = _central_event(2, "case.decided", case.id, {"from": "accepted", "to": "decided_granted",
                             "decided_on": "2026-11-23", "outcome": "granted", "reasons": []})  # fmt: skip
    resolution = _central_event(
        3, "conflict.resolved", case.id, {"conflict": "k1", "outcome": "station_wins"}
    )
    with write_transaction():
        assert _apply_case_events(decided.body + b"\n" + resolution.body + b"\n")
        assert _apply_case_events(decided.body + b"\n")  # the same part again: a no-op
    view = case_view(case.id)
    assert view.state.value == "decided_granted" and view.anomalies == []
    assert [e.type for e in central_notes(case.id)] == ["conflict.resolved"]


def test_a_broken_events_part_is_kept_unapplied(township_app):
    with write_transaction():
        assert _apply_case_events(b"not an event\n") is False


def test_a_catalog_part_that_does_not_validate_changes_nothing(township_app):
    with write_transaction():
        assert _apply_part("catalog", json.dumps({"format": "nonsense"}).encode()) is False
        assert NodeState.read(CATALOG_KEY) is None


def test_calendar_part_adds_years(township_app):
    from casework.calendar import shipped_year

    document = {"format": "yiciban.calendars/1", "years": [shipped_year(2026).to_json()]}
    with write_transaction():
        assert _apply_part("calendar", json.dumps(document).encode()) is True
    assert 2026 in current_calendar().years
    assert DownstreamPart.select().count() == 0  # parts are recorded by apply_bundle, not by this helper


def test_our_own_lost_events_come_back_only_where_they_continue_the_chain(township_app):
    from station.models import EventLog
    from station.services.log import append_event

    with write_transaction():
        first = append_event(actor="t", event_type="case.note_added", aggregate_kind="case", aggregate_id="c9",
                             payload={"note_id": "n1", "text": "a"}, idempotency_key="n1").event  # fmt: skip
    lost = build_event(
        network=first.network, station_id=first.station_id, epoch=1, seq=first.seq + 1, prev=first.event_id,
        hlc=HLC(first.wall_ms + 1, 0), wall_ms=first.wall_ms + 1, actor="t", idempotency_key="n2",
        type="case.note_added", schema_version=1, aggregate_kind="case", aggregate_id="c9",
        payload={"note_id": "n2", "text": "b"},
    )  # fmt: skip
    stray = build_event(
        network=first.network, station_id=first.station_id, epoch=1, seq=first.seq + 5, prev="1" * 64,
        hlc=HLC(first.wall_ms + 2, 0), wall_ms=first.wall_ms + 2, actor="t", idempotency_key="n3",
        type="case.note_added", schema_version=1, aggregate_kind="case", aggregate_id="c9",
        payload={"note_id": "n3", "text": "c"},
    )  # fmt: skip
    with write_transaction():
        assert _apply_case_events(lost.body + b"\n" + stray.body + b"\n")
    assert EventLog.select().where(EventLog.event_id == lost.event_id).exists()
    assert not EventLog.select().where(EventLog.event_id == stray.event_id).exists()
