import json

from station.db import write_transaction
from station.models import DownstreamPart, NodeState
from station.services.cases import case_view, central_notes
from station.services.downstream import _apply_case_events, _apply_part
from station.services.reference import CATALOG_KEY, current_calendar
from sync_protocol.events import build_event
from sync_protocol.hlc import HLC

from .test_actions import CLERK, _act, _receive


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
