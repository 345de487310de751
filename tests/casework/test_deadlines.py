"""DOMAIN.md §2.4–§2.5: the case clock, pauses, extension, the §32 five-day rule, 容缺 deadlines and the lights."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.calendar import default_calendar
from casework.deadlines import (
    ClockInputs,
    Light,
    Pause,
    compute_clock,
    correction_notice_deadline,
    deadline_with_pauses,
    gap_supply_deadline,
    warning_threshold,
)
from casework.errors import DeadlineError

D = dt.date
CAL = default_calendar()
ACCEPTED = D(2026, 9, 29)


@pytest.mark.parametrize(
    ("promised", "threshold"),
    [(0, 1), (1, 1), (5, 1), (6, 2), (10, 2), (15, 3), (20, 4), (25, 5), (30, 6)],
)
def test_yellow_threshold_is_max_1_and_ceil_20_percent(promised, threshold):
    assert warning_threshold(promised) == threshold


@pytest.mark.parametrize(
    ("today", "light", "remaining"),
    [
        (D(2026, 10, 20), Light.GREEN, 9),
        (D(2026, 10, 26), Light.GREEN, 5),
        (D(2026, 10, 27), Light.YELLOW, 4),  # remaining 4 ≤ ceil(20 % of 20)
        (D(2026, 11, 2), Light.YELLOW, 0),  # due today
        (D(2026, 11, 3), Light.RED, -1),  # past the deadline
    ],
)
def test_lights_of_a_20_day_case(today, light, remaining):
    status = compute_clock(CAL, ClockInputs(promised_days=20, accepted_on=ACCEPTED), today)
    assert status.deadline == D(2026, 11, 2)
    assert status.light is light
    assert status.remaining_working_days == remaining
    assert ("overdue" in status.flags) is (light is Light.RED)


def test_one_extension_adds_the_item_days():
    status = compute_clock(
        CAL, ClockInputs(promised_days=20, extension_days=10, accepted_on=ACCEPTED), D(2026, 11, 3)
    )
    assert status.deadline == D(2026, 11, 16)
    assert status.light is Light.GREEN


def test_a_non_counted_pause_shifts_the_deadline_by_its_working_days():
    pause = Pause(D(2026, 10, 12), D(2026, 10, 19), counts_toward_limit=False, reason="鉴定")
    assert deadline_with_pauses(CAL, ACCEPTED, 20, [pause]) == D(2026, 11, 9)  # 10/12–10/16: 5 days
    counted = Pause(D(2026, 10, 12), D(2026, 10, 19), counts_toward_limit=True)
    assert deadline_with_pauses(CAL, ACCEPTED, 20, [counted]) == D(2026, 11, 2)


def test_an_open_pause_is_grey_and_shows_how_long():
    inputs = ClockInputs(
        promised_days=20, accepted_on=ACCEPTED, pauses=(Pause(D(2026, 10, 12), reason="公示"),)
    )
    status = compute_clock(CAL, inputs, D(2026, 10, 14))
    assert status.light is Light.GREY
    assert status.paused_since == D(2026, 10, 12)
    assert status.paused_working_days == 3
    assert "paused" in status.flags
    assert "3" in status.messages[0].text("zh")


def test_a_pause_that_ends_before_it_starts_is_refused():
    bad = Pause(D(2026, 10, 12), D(2026, 10, 9))
    with pytest.raises(DeadlineError):
        deadline_with_pauses(CAL, ACCEPTED, 20, [bad])
    status = compute_clock(
        CAL, ClockInputs(promised_days=20, accepted_on=ACCEPTED, pauses=(bad,)), D(2026, 10, 20)
    )
    assert "clock_inputs_invalid" in status.flags and status.messages[0].code == "pause_ends_before_start"


def test_correction_notice_deadline_is_five_working_days_after_receipt():
    assert correction_notice_deadline(CAL, D(2026, 4, 30)) == D(2026, 5, 11)


def test_no_correction_notice_within_five_days_is_red_and_deemed_accepted_on_receipt():
    inputs = ClockInputs(promised_days=20, received_on=D(2026, 4, 30))
    on_the_last_day = compute_clock(CAL, inputs, D(2026, 5, 11))
    assert on_the_last_day.light is Light.YELLOW and not on_the_last_day.flags
    late = compute_clock(CAL, inputs, D(2026, 5, 12))
    assert late.light is Light.RED
    assert {"correction_notice_late", "deemed_accepted"} <= late.flags
    assert late.clock_start == D(2026, 4, 30)
    assert "逾期未告知" in late.messages[0].text("zh")


def test_a_late_correction_notice_keeps_the_flag_and_the_receipt_date_as_start():
    inputs = ClockInputs(
        promised_days=20,
        received_on=D(2026, 4, 30),
        correction_notice_on=D(2026, 5, 12),
        accepted_on=D(2026, 5, 20),
    )
    status = compute_clock(CAL, inputs, D(2026, 5, 21))
    assert "correction_notice_late" in status.flags
    assert status.clock_start == D(2026, 4, 30)


def test_a_timely_correction_notice_means_no_clock_until_acceptance_on_the_supply_date():
    waiting = ClockInputs(promised_days=20, received_on=D(2026, 4, 30), correction_notice_on=D(2026, 5, 6))
    assert compute_clock(CAL, waiting, D(2026, 6, 1)).light is Light.NONE
    supplied = ClockInputs(
        promised_days=20,
        received_on=D(2026, 4, 30),
        correction_notice_on=D(2026, 5, 6),
        accepted_on=D(2026, 6, 1),
    )
    status = compute_clock(CAL, supplied, D(2026, 6, 2))
    assert status.clock_start == D(2026, 6, 1) and not status.flags


def test_accepting_late_without_any_notice_counts_from_receipt():
    inputs = ClockInputs(promised_days=5, received_on=D(2026, 4, 30), accepted_on=D(2026, 5, 15))
    status = compute_clock(CAL, inputs, D(2026, 5, 15))
    assert status.clock_start == D(2026, 4, 30)
    assert status.deadline == D(2026, 5, 11)
    assert status.light is Light.RED


@pytest.mark.parametrize(("today", "light"), [(D(2026, 11, 19), Light.GREEN), (D(2026, 11, 20), Light.RED)])
def test_village_to_township_transfer_older_than_3_working_days_is_red(today, light):
    status = compute_clock(CAL, ClockInputs(promised_days=10, village_received_on=D(2026, 11, 16)), today)
    assert status.light is light
    assert ("transfer_late" in status.flags) is (light is Light.RED)


@pytest.mark.parametrize(
    ("ready", "on_time", "light"), [(D(2026, 11, 2), True, Light.GREEN), (D(2026, 11, 3), False, Light.RED)]
)
def test_result_ready_stops_the_clock(ready, on_time, light):
    inputs = ClockInputs(promised_days=20, accepted_on=ACCEPTED, result_ready_on=ready)
    status = compute_clock(CAL, inputs, D(2026, 12, 30))
    assert status.finished_on_time is on_time
    assert status.light is light


def test_immediate_item_is_due_today_and_finished_today():
    today = D(2026, 11, 23)
    running = compute_clock(CAL, ClockInputs(promised_days=0, accepted_on=today), today)
    assert running.deadline == today and running.light is Light.YELLOW
    done = compute_clock(CAL, ClockInputs(promised_days=0, accepted_on=today, result_ready_on=today), today)
    assert done.finished_on_time and done.light is Light.GREEN
    late = compute_clock(CAL, ClockInputs(promised_days=0, accepted_on=today), D(2026, 11, 24))
    assert late.light is Light.RED


def test_a_deadline_in_a_year_without_calendar_is_a_visible_warning():
    status = compute_clock(CAL, ClockInputs(promised_days=20, accepted_on=D(2026, 12, 20)), D(2026, 12, 21))
    assert "calendar_missing" in status.flags
    assert status.deadline is None
    assert status.messages[0].code == "calendar_missing"
    assert status.light is Light.YELLOW


def test_a_case_overdue_last_year_stays_overdue_when_this_years_calendar_is_missing():
    # Deadline 2026-11-30 (DOMAIN §2.3 calendar); on 2027-01-07 no 2027 plan is imported yet.
    status = compute_clock(CAL, ClockInputs(promised_days=20, accepted_on=D(2026, 11, 2)), D(2027, 1, 7))
    assert status.light is Light.RED and "overdue" in status.flags
    assert status.deadline == D(2026, 11, 30) and status.remaining_working_days is None
    assert "calendar_missing" not in status.flags, "the deadline is known: not '期限待定'"
    assert [m.code for m in status.messages] == ["overdue", "calendar_missing"]
    # Still due in the missing year: nothing can be said but the warning.
    pending = compute_clock(CAL, ClockInputs(promised_days=20, accepted_on=D(2026, 12, 20)), D(2027, 1, 7))
    assert pending.light is Light.YELLOW and "calendar_missing" in pending.flags and pending.deadline is None


def test_gap_supply_deadline_defaults_to_5_days_and_never_passes_the_case_deadline():
    case_deadline = CAL.add_working_days(ACCEPTED, 20)
    assert gap_supply_deadline(CAL, ACCEPTED, None, case_deadline) == CAL.add_working_days(ACCEPTED, 5)
    assert gap_supply_deadline(CAL, ACCEPTED, None, case_deadline) == D(2026, 10, 12)
    short = CAL.add_working_days(ACCEPTED, 3)
    assert gap_supply_deadline(CAL, ACCEPTED, 10, short) == short


def test_a_lapsed_gap_is_flagged():
    inputs = ClockInputs(promised_days=20, accepted_on=ACCEPTED, open_gaps={"bank_account": D(2026, 10, 12)})
    assert "gap_lapsed" not in compute_clock(CAL, inputs, D(2026, 10, 12)).flags
    assert "gap_lapsed" in compute_clock(CAL, inputs, D(2026, 10, 13)).flags


def test_closed_cases_have_no_light_and_a_step_over_budget_is_yellow():
    closed = ClockInputs(promised_days=20, accepted_on=ACCEPTED, closed=True)
    assert compute_clock(CAL, closed, D(2026, 12, 1)).light is Light.NONE
    step = ClockInputs(promised_days=20, accepted_on=ACCEPTED, step_overdue=True)
    assert compute_clock(CAL, step, D(2026, 10, 9)).light is Light.YELLOW


def test_legal_deadline_is_reported_for_notices():
    status = compute_clock(
        CAL, ClockInputs(promised_days=15, legal_days=20, accepted_on=ACCEPTED), D(2026, 10, 9)
    )
    assert status.legal_deadline == D(2026, 11, 2)


def test_refusal_remedies_name_60_days_and_6_months():
    from casework.deadlines import REFUSAL_REMEDIES

    assert "60 日" in REFUSAL_REMEDIES.text("zh") and "6 个月" in REFUSAL_REMEDIES.text("zh")
    assert "60 days" in REFUSAL_REMEDIES.text("en") and "6 months" in REFUSAL_REMEDIES.text("en")
