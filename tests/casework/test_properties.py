"""Property tests: the calendar's arithmetic, and merge decisions that do not depend on arrival order."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.calendar import default_calendar
from casework.events import SCHEMAS
from casework.kpi import per_mille, percent_text
from casework.lifecycle import ACTIONS
from casework.merge import LOW_STAKES_FIELDS, SET_LIKE_FIELDS, classify_field_edit, commute

CAL = default_calendar()
starts = st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2026, 11, 15))
small = st.integers(min_value=0, max_value=15)


@given(starts, small)
def test_add_then_count_gives_back_n(start, n):
    end = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, end) == n
    if n > 0:
        assert CAL.is_working_day(end)
        assert CAL.working_days_between(start, end - dt.timedelta(days=1)) == n - 1


@given(starts, small, small)
def test_adding_working_days_composes(start, a, b):
    assert CAL.add_working_days(start, a + b) == CAL.add_working_days(CAL.add_working_days(start, a), b)


def test_shipped_calendar_is_immutable():
    with pytest.raises(TypeError):
        CAL.years[2026].holidays[dt.date(2026, 3, 3)] = "x"  # type: ignore[index]


values = st.text(min_size=1, max_size=5)
clocks = st.tuples(st.integers(0, 1000), st.sampled_from(["V01", "V02", "T01", "C01"]))


@given(st.sampled_from(sorted(LOW_STAKES_FIELDS)), values, values, values, clocks, clocks)
def test_low_stakes_merge_converges_whatever_arrives_first(field, base, x, y, cx, cy):
    if cx == cy:
        return
    one = classify_field_edit(field, base, x, y, applied_clock=cx, incoming_clock=cy)
    other = classify_field_edit(field, base, y, x, applied_clock=cy, incoming_clock=cx)
    assert one.automatic and other.automatic
    assert one.value == other.value


tag_lists = st.lists(st.sampled_from(list("abcdef")), unique=True, max_size=6)


@given(st.sampled_from(sorted(SET_LIKE_FIELDS)), tag_lists, tag_lists, tag_lists)
def test_set_like_merge_converges_whatever_arrives_first(field, base, x, y):
    one = classify_field_edit(field, base, x, y, applied_clock=(1, "A"), incoming_clock=(2, "B"))
    other = classify_field_edit(field, base, y, x, applied_clock=(2, "B"), incoming_clock=(1, "A"))
    assert set(one.value) == set(other.value)
    assert set(x) - set(base) <= set(one.value) and set(y) - set(base) <= set(one.value)


@given(st.sampled_from(sorted(ACTIONS)), st.sampled_from(sorted(ACTIONS)))
def test_commute_is_symmetric(a, b):
    assert commute(a, b) == commute(b, a)


@given(st.fractions(min_value=0, max_value=1))
def test_per_mille_and_percent_stay_in_range(value):
    mille = per_mille(value)
    assert 0 <= mille <= 1000
    assert abs(Fraction(mille, 1000) - value) <= Fraction(1, 2000)
    assert percent_text(value).endswith("%")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 40)
    | st.text(max_size=6)
    | st.floats(allow_nan=False, width=16),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@given(json_values)
def test_bad_catalog_input_is_always_a_clear_format_error(document):
    import json

    from casework.catalog import load_catalog
    from casework.errors import CatalogFormatError

    for source in (document, json.dumps(document)):
        if not isinstance(source, dict | str):
            continue
        try:
            load_catalog(source)
        except CatalogFormatError as error:
            assert error.problems and error.describe("zh") and error.describe("en")


@given(st.dictionaries(st.sampled_from(["format", "year", "holidays", "working_days", "scope"]), json_values))
def test_bad_calendar_input_is_always_a_clear_format_error(document):
    from casework.calendar import load_year_calendar
    from casework.errors import CalendarFormatError

    with pytest.raises(CalendarFormatError):
        load_year_calendar(document)


@given(st.sampled_from(sorted(SCHEMAS)), json_values)
def test_bad_event_payloads_are_always_a_clear_payload_error(event_type, payload):
    from casework.errors import EventPayloadError
    from casework.events import validate_payload

    try:
        validate_payload(event_type, payload)
    except EventPayloadError as error:
        assert error.path and error.text("zh")


@given(st.binary(max_size=64))
def test_catalog_bytes_that_are_not_json_or_utf8_are_reported(raw):
    from casework.catalog import load_catalog
    from casework.errors import CatalogFormatError

    with pytest.raises(CatalogFormatError):
        load_catalog(raw)


@given(
    st.integers(0, 25),
    st.sampled_from(["item", "material", "procedure", "bundle"]),
    st.text(max_size=12),
    json_values,
)
def test_a_demo_catalog_with_one_field_broken_fails_clearly_or_loads(index, where, key, value):
    import copy
    import json
    from importlib import resources

    from casework.catalog import load_catalog
    from casework.errors import CatalogFormatError

    doc = json.loads(resources.files("casework").joinpath("data/demo_catalog.json").read_text("utf-8"))
    doc = copy.deepcopy(doc)
    item = doc["items"][index]
    target = {
        "item": item,
        "material": item["materials"][0] if item["materials"] else item,
        "procedure": item["special_procedures"][0] if item["special_procedures"] else item,
        "bundle": doc["bundles"][index % len(doc["bundles"])],
    }[where]
    target[
        key if key and key in target and not key.startswith("_") else sorted(target)[index % len(target)]
    ] = value
    try:
        load_catalog(json.dumps(doc, ensure_ascii=False, indent=1))
    except CatalogFormatError as error:
        assert all(p.path.startswith("$") and p.line is not None for p in error.problems)


@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(SCHEMAS)), st.text(max_size=10), json_values, st.booleans()),
        max_size=12,
    )
)
def test_fold_never_crashes_on_any_sequence_of_events(steps):
    from casework.calendar import default_calendar
    from casework.deadlines import compute_clock
    from casework.events import CaseEvent, fold
    from tests.casework.test_events import SAMPLES

    events = []
    for event_type, key, value, mutate in steps:
        payload = dict(SAMPLES[event_type])
        if mutate:
            payload[key if key in payload else sorted(payload)[len(key) % len(payload)]] = value
        events.append(CaseEvent(event_type, payload))
    view = fold(events)
    semantic = {
        "unexpected_from_state",
        "unknown_gap",
        "resume_without_pause",
        "second_extension",
        "stale_edit",
    }
    invalid = [m for m in view.anomalies if m.code not in semantic]
    assert len(view.timeline) + len(invalid) == len(events)
    compute_clock(default_calendar(), view.clock_inputs(20, 30), dt.date(2026, 12, 1))
