"""A case view kept between folds (casework.foldstate): folding the later events onto the stored view of the
earlier ones gives exactly the view of folding every event from the start — for any sequence of events of every
type, valid or not, cut anywhere, the stored state passed through JSON on the way (as central stores it)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.caseview import CaseView
from casework.events import SCHEMAS, CaseEvent, fold
from casework.foldstate import FOLD_FINGERPRINT, view_from_state, view_state
from casework.lifecycle import CaseState
from tests.casework.test_events import SAMPLES

STATES = [s.value for s in CaseState]
DAYS = ["2026-11-02", "2026-11-09", "2026-12-31", "2027-02-28"]
# Values that keep many payloads valid while changing the view they fold to (states, dates, ids, days).
variations = st.one_of(
    st.sampled_from(STATES), st.sampled_from(DAYS), st.sampled_from(["M-1", "M-2", "f-1", "f-2", "bank_account"]),
    st.integers(-2, 30), st.none(), st.text(max_size=6), st.lists(st.sampled_from(["a", "b"]), max_size=2),
)  # fmt: skip
steps = st.lists(
    st.tuples(st.sampled_from(sorted(SCHEMAS)), st.sampled_from(["from", "to", "", "x"]), variations, st.booleans()),
    max_size=16,
)  # fmt: skip


def events_of(raw_steps: list) -> list[CaseEvent]:
    events = []
    for event_type, key, value, mutate in raw_steps:
        payload = json.loads(json.dumps(SAMPLES[event_type]))
        if mutate:
            payload[key if key in payload else sorted(payload)[len(key) % len(payload)]] = value
        events.append(CaseEvent(event_type, payload, at=1_780_000_000_000, station="V01"))
    return events


def without_timeline(view: CaseView) -> CaseView:
    return dataclasses.replace(view, timeline=[])


@settings(max_examples=300, deadline=None)
@given(raw_steps=steps, data=st.data())
def test_folding_onto_a_stored_view_equals_folding_from_the_start(raw_steps, data):
    events = events_of(raw_steps)
    cut = data.draw(st.integers(0, len(events)))
    whole = fold(events)
    stored = json.loads(json.dumps(view_state(fold(events[:cut], timeline=False)), ensure_ascii=False))
    continued = fold(events[cut:], view=view_from_state(stored), timeline=False)
    assert continued == without_timeline(whole)
    assert view_state(continued) == view_state(whole)
    assert view_from_state(json.loads(json.dumps(view_state(whole)))) == without_timeline(whole)


def test_a_view_with_every_kind_of_field_round_trips():
    """Guards the property against only ever seeing empty views: dates, pauses, gaps, anomalies, custody."""
    order = ["received", "accepted_with_gaps", "gap_supplied", "paused", "resumed", "extended", "extended",
             "custody_dispatched", "decided", "rated", "followup_opened", "field_edited", "field_edited",
             "note_added", "attachment_added", "authorization_recorded", "duplicate_merged", "withdrawn"]  # fmt: skip
    view = fold(events_of([(t, "", None, False) for t in order]), timeline=False)
    state = view_state(view)
    kinds = {"state", "village_received_on", "gaps", "pauses", "anomalies", "custody", "ratings", "fields"}
    assert kinds <= set(state)
    assert view_from_state(json.loads(json.dumps(state))) == view


def test_a_state_naming_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="timeline"):
        view_from_state({"timeline": []})
    with pytest.raises(ValueError, match="state"):
        view_from_state({"state": "no_such_state"})


def test_the_fingerprint_names_the_folding_code():
    assert len(FOLD_FINGERPRINT) == 16 and int(FOLD_FINGERPRINT, 16) >= 0
