from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync_protocol.errors import MalformedError
from sync_protocol.hlc import HLC, MAX_COUNTER, MAX_DRIFT, is_clock_suspect

walls = st.integers(min_value=0, max_value=10**13 - 10**7)


def test_string_form_is_fixed_width_and_round_trips():
    clock = HLC(1_767_225_600_000, 7)
    assert clock.to_string() == "1767225600000-00007"
    assert HLC.from_string(clock.to_string()) == clock


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1767225600000-7",
        "1767225600000_00007",
        "x767225600000-00007",
        "17672256000000-00007",
        " 1767225600000-00007",
    ],
)
def test_from_string_rejects_other_shapes(text):
    with pytest.raises(MalformedError):
        HLC.from_string(text)


def test_tick_follows_the_wall_clock_when_it_moves_forward():
    assert HLC(1000, 5).tick(2000) == HLC(2000, 0)


def test_tick_counts_when_the_wall_clock_stands_still_or_goes_back():
    assert HLC(1000, 5).tick(1000) == HLC(1000, 6)
    assert HLC(1000, 5).tick(10) == HLC(1000, 6)


def test_counter_overflow_borrows_a_millisecond():
    assert HLC(1000, MAX_COUNTER).tick(900) == HLC(1001, 0)


def test_receive_adopts_a_plausible_remote_clock_ahead_of_us():
    assert HLC(1000, 0).receive(HLC(5000, 3), 2000) == HLC(5000, 4)


def test_receive_does_not_adopt_a_remote_clock_implausibly_far_ahead():
    now = 1_767_225_600_000
    remote = HLC(now + MAX_DRIFT + 1, 0)
    assert is_clock_suspect(remote, now)
    assert HLC(now - 5, 0).receive(remote, now) == HLC(now, 0)
    assert not is_clock_suspect(HLC(now + MAX_DRIFT, 0), now)


@given(walls, st.lists(walls, max_size=30))
def test_tick_is_strictly_monotonic_and_string_order_matches(start, wall_readings):
    clock = HLC(start, 0)
    for wall in wall_readings:
        following = clock.tick(wall)
        assert following > clock
        assert following.to_string() > clock.to_string()
        clock = following


@given(walls, walls, st.integers(0, 1000), walls)
def test_receive_is_greater_than_both_clocks(local, remote_wall, remote_counter, now):
    remote = HLC(remote_wall, remote_counter)
    result = HLC(local, 0).receive(remote, now)
    assert result > HLC(local, 0)
    if not is_clock_suspect(remote, now):
        assert result > remote


def test_only_ascii_digits_are_accepted():
    with pytest.raises(MalformedError):
        HLC.from_string("١٧٦٧٢٢٥٦٠٠٠٠٠-00007")
