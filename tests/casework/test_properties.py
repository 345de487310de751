"""Property tests: the calendar's arithmetic, and merge decisions that do not depend on arrival order."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.calendar import default_calendar
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
