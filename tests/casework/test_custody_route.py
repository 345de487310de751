"""Folding the whole 代办 route of a county-decided item: village → township → county and the result back down."""

from __future__ import annotations

from casework.events import CaseEvent, fold
from casework.lifecycle import CaseState
from tests.casework.test_events import SAMPLES

V, T, C = "990101101201", "990101101000", "990101000000"


def _ev(event_type: str, station: str, at: int, **changes) -> CaseEvent:
    return CaseEvent(event_type, {**SAMPLES[event_type], **changes}, at=at, station=station)


def _route(village_receipt_state: str) -> list[CaseEvent]:
    def hop(frm: str, to: str, manifest: str, direction: str, receiver: str, at: int) -> list[CaseEvent]:
        common = {"manifest_id": manifest, "direction": direction}
        sender = {"up": {V: V, T: V, C: T}, "down": {T: C, V: T}}[direction][receiver]
        return [
            _ev("custody_dispatched", sender, at, **{"from": frm, "to": to}, **common, to_station=receiver),
            _ev("custody_received", receiver, at + 1, **{"from": to, "to": to}, **common),
        ]

    up = hop("village_received", "in_transit", "M-1", "up", T, 2)
    up[1] = _ev("custody_received", T, 3, manifest_id="M-1", direction="up")  # in_transit → received
    return [
        _ev("received", V, 1),
        *up,
        _ev("accepted", T, 4),
        _ev("forwarded", T, 5),
        *hop("forwarded", "forwarded", "M-2", "up", C, 6),
        _ev("decided", C, 8),
        *hop("decided_granted", "decided_granted", "M-3", "down", T, 9),
        _ev("custody_dispatched", T, 11, **{"from": "decided_granted", "to": "decided_granted"},
            manifest_id="M-4", direction="down", to_station=V),
        # The offline village signs for the result before the decision reaches it: it still sees the case in
        # transit, and says so.
        _ev("custody_received", V, 12, **{"from": village_receipt_state, "to": village_receipt_state},
            manifest_id="M-4", direction="down"),
        _ev("result_ready", V, 13, pickup="window"),
        _ev("delivered", V, 14, method="window"),
    ]  # fmt: skip


def test_the_whole_route_folds_to_delivered_without_anomalies():
    view = fold(_route("decided_granted"))
    assert view.state is CaseState.DELIVERED
    assert view.anomalies == []
    assert view.custody is None, "the last hand-over closed"


def test_a_result_signed_for_before_the_decision_arrived_does_not_move_the_case_back():
    events = _route("in_transit")
    before_ready = fold(events[: events.index(next(e for e in events if e.type == "result_ready"))])
    assert before_ready.state is CaseState.DECIDED_GRANTED and before_ready.anomalies == []
    assert fold(events).state is CaseState.DELIVERED


def test_a_hand_over_that_changes_the_state_still_applies_and_flags_a_lag():
    dispatched = _ev("custody_dispatched", V, 2)  # village_received → in_transit
    view = fold([_ev("received", V, 1, to="received"), dispatched])
    assert view.state is CaseState.IN_TRANSIT  # the log is the truth
    assert [m.code for m in view.anomalies] == ["unexpected_from_state"]
