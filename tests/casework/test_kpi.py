"""SPEC.md §3.10 KPIs: a hand-computed table, display/wire forms, and a reform-city-shaped report."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from casework.kpi import (
    CaseSummary,
    Period,
    by_station,
    compute_kpis,
    decimal_text,
    per_mille,
    percent_text,
    time_limit_compression,
)

D = dt.date
NOV = Period(D(2026, 11, 1), D(2026, 11, 30))

HAND_TABLE = [
    CaseSummary("GF00201000", D(2026, 11, 2), D(2026, 11, 20), D(2026, 12, 7), 25, 30, via_proxy=True, steps=3,
                materials=5, applicant_trips=0, completed_in_village=True, rating_levels=(5,), station="V01"),
    CaseSummary("GG00101000", D(2026, 11, 3), D(2026, 11, 3), D(2026, 11, 3), 0, None, immediate=True, steps=1,
                materials=2, applicant_trips=1, rating_levels=(4,), station="T01"),
    CaseSummary("XK00501000", D(2026, 11, 4), D(2026, 11, 30), D(2026, 11, 25), 15, 20, with_gaps=True, steps=4,
                materials=6, applicant_trips=2, rating_levels=(2,), bad_ratings_rectified=1, station="T01"),
    CaseSummary("GF00203000", D(2026, 11, 10), None, D(2026, 11, 24), 10, None, via_proxy=True, steps=2,
                materials=3, applicant_trips=1, rating_levels=(1,), station="V01"),
    CaseSummary("GG00302000", D(2026, 10, 30), D(2026, 10, 30), D(2026, 10, 30), 0, None, immediate=True,
                station="T01"),  # accepted before the period
    CaseSummary("GF00104000", None, None, None, 15, None, station="T01"),  # never accepted
]  # fmt: skip


def test_hand_computed_table():
    report = compute_kpis(HAND_TABLE, NOV)
    assert report.accepted == 4
    assert report.completed == 3
    assert report.completion_rate == Fraction(3, 4)
    assert report.on_time_rate == Fraction(2, 3)
    assert report.overdue == 2  # finished late + still open past its deadline
    assert report.immediate_share == Fraction(1, 4)
    assert (report.with_gaps, report.via_proxy) == (1, 2)
    assert report.average_steps == Fraction(10, 4)
    assert report.average_materials == 4
    assert report.average_trips == Fraction(3, 4)  # the 代办 case with a recorded trip counts 0
    assert report.time_limit_compression == Fraction(1, 5)  # 1 − (25 + 15) / (30 + 20)
    assert report.ratings == 4
    assert report.satisfaction_rate == Fraction(1, 2)
    assert report.bad_rating_rate == Fraction(1, 2)
    assert report.rectification_rate == Fraction(1, 2)
    assert report.village_share == Fraction(1, 3)


def test_wire_form_is_integers_only():
    wire = compute_kpis(HAND_TABLE, NOV).to_wire()
    assert wire["accepted"] == 4
    assert wire["completion_rate_per_mille"] == 750
    assert wire["on_time_rate_per_mille"] == 667
    assert wire["village_share_per_mille"] == 333
    assert all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in wire.values())


def test_empty_period_gives_undefined_ratios_not_errors():
    report = compute_kpis(HAND_TABLE, Period(D(2025, 1, 1), D(2025, 1, 31)))
    assert report.accepted == 0 and report.completion_rate is None
    assert percent_text(report.completion_rate) == "—"
    assert report.to_wire()["completion_rate_per_mille"] is None


@pytest.mark.parametrize(
    ("value", "text", "mille"),
    [(Fraction(2133, 5000), "42.66%", 427), (Fraction(199, 200), "99.50%", 995), (Fraction(1, 3), "33.33%", 333),
     (Fraction(2, 3), "66.67%", 667), (Fraction(0), "0.00%", 0), (Fraction(1), "100.00%", 1000)],
)  # fmt: skip
def test_display_and_per_mille_rounding_without_floats(value, text, mille):
    assert percent_text(value) == text
    assert per_mille(value) == mille


def test_time_limit_compression_ignores_items_without_a_legal_limit():
    assert time_limit_compression([(5, 20), (0, None), (15, 20)]) == Fraction(1, 2)
    assert time_limit_compression([(0, None)]) is None


def test_per_station_reports():
    reports = by_station(HAND_TABLE, NOV)
    assert reports["V01"].accepted == 2 and reports["T01"].accepted == 2
    assert reports["V01"].via_proxy == 2
    township_of = {"V01": "T01", "T01": "T01"}
    from casework.kpi import grouped_kpis

    assert grouped_kpis(HAND_TABLE, NOV, lambda c: township_of[c.station])["T01"] == compute_kpis(
        HAND_TABLE, NOV
    )


def reform_city_cases() -> list[CaseSummary]:
    """5,000 cases built to have the published shape: 2.65 steps, 3.97 materials, 0.44 trips, 42.66 % 即办件,
    99.5 % 办结率 and 98.5 % 满意率 (Liaoning and Yongzhou reports)."""
    cases = []
    for i in range(5000):
        immediate = i < 2133
        accepted = D(2026, 11, 2) + dt.timedelta(days=i % 20)
        done = i % 200 != 0  # 25 of 5,000 still open
        cases.append(
            CaseSummary(
                item_code="GG00101000" if immediate else "GF00201000",
                accepted_on=accepted,
                completed_on=accepted if done else None,
                deadline=accepted + dt.timedelta(days=30),
                promised_days=0 if immediate else 25,
                legal_days=None if immediate else 30,
                immediate=immediate,
                steps=3 if i % 20 < 13 else 2,  # 13 of every 20 → 2.65
                materials=3 if i % 100 < 3 else 4,  # 3 of every 100 → 3.97
                applicant_trips=1 if i % 25 < 11 else 0,  # 11 of every 25 → 0.44
                rating_levels=(5,) if i % 200 >= 3 else (2,),  # 197 of every 200 → 98.5 %
            )
        )
    return cases


def test_reform_city_shaped_report():
    report = compute_kpis(reform_city_cases(), NOV)
    assert report.accepted == 5000
    assert decimal_text(report.average_steps) == "2.65" and report.average_steps == Fraction(265, 100)
    assert decimal_text(report.average_materials) == "3.97"
    assert decimal_text(report.average_trips) == "0.44"
    assert percent_text(report.immediate_share) == "42.66%"
    assert percent_text(report.completion_rate) == "99.50%"
    assert percent_text(report.satisfaction_rate) == "98.50%"
    assert percent_text(report.time_limit_compression) == "16.67%"  # 1 − 25/30
    assert report.overdue == 0 and report.on_time_rate == 1


def _event(event_type, **payload):
    from casework.events import CaseEvent

    return CaseEvent(event_type, payload)


def test_summarize_a_window_case_with_a_correction_round():
    from casework.calendar import default_calendar
    from casework.catalog import demo_catalog
    from casework.deadlines import compute_clock
    from casework.events import fold
    from casework.kpi import summarize

    item = demo_catalog().item("XK00501000")
    view = fold(
        [
            _event("received", to="received", case_no="N-9", item_code=item.code, item_version=1,
                   applicant_id="ap", station="T01", received_on="2026-11-02", channel="window",
                   materials=[{"key": "form_homestead", "status": "received"},
                              {"key": "id_or_household", "status": "shared"},
                              {"key": "old_homestead_promise", "status": "promised"}]),
            _event("correction_requested", **{"from": "received"}, to="correction_requested",
                   notice_on="2026-11-03", corrections=[{"material": "house_design", "problem": "缺少"}]),
            _event("accepted_with_gaps", **{"from": "correction_requested"}, to="accepted_with_gaps",
                   accepted_on="2026-11-05", gaps=[{"material": "house_design", "supply_by": "2026-11-12"}]),
            _event("gap_supplied", **{"from": "accepted_with_gaps"}, to="accepted", material="house_design",
                   supplied_on="2026-11-10"),
            _event("review_note", **{"from": "accepted"}, to="accepted", step="联审", opinion="同意"),
            _event("decided", **{"from": "accepted"}, to="decided_granted", decided_on="2026-11-20",
                   outcome="granted", reasons=[]),
            _event("result_ready", **{"from": "decided_granted"}, to="result_ready", ready_on="2026-11-20",
                   notice_sent=True, pickup="window"),
            _event("delivered", **{"from": "result_ready"}, to="delivered", delivered_on="2026-11-23",
                   method="window", signed_by="李四"),
            _event("rated", rating_id="r", level=2, stage="completion", channel="window_device",
                   rated_on="2026-11-23", rater="applicant"),
            _event("followup_opened", followup_id="f", rating_id="r", opened_on="2026-11-23", due_on="2026-12-14"),
            _event("followup_visited", followup_id="f", visited_on="2026-11-24", note="回访"),
            _event("followup_verdict", followup_id="f", verdict="reasonable", note="属实"),
            _event("followup_rectified", followup_id="f", rectified_on="2026-11-25", measures="整改"),
            _event("followup_closed", followup_id="f", closed_on="2026-11-26"),
        ],
        strict=True,
    )  # fmt: skip
    clock = compute_clock(default_calendar(), view.clock_inputs(item.promised_limit_days), D(2026, 11, 30))
    summary = summarize(view, item, clock)
    assert summary.accepted_on == D(2026, 11, 5) and summary.completed_on == D(2026, 11, 20)
    assert summary.deadline == D(2026, 11, 26)
    assert summary.with_gaps and not summary.via_proxy and not summary.immediate
    assert summary.steps == 3  # acceptance, joint review, decision
    assert summary.materials == 2  # the form and the supplied design; shared and promised ones do not count
    assert summary.applicant_trips == 3  # filing, the correction round, collecting the result
    assert summary.rating_levels == (2,) and summary.bad_ratings_rectified == 1
    report = compute_kpis([summary], NOV)
    assert report.on_time_rate == 1 and report.rectification_rate == 1


# --- 代办 hop times (casework.custody.route_times) -------------------------------------------------------------


def route_case(
    received_on: str, sent_at: str, signed_at: str | None, back: tuple[str, str] | None = None
) -> list:
    """A village's 代办 case: received, carried up (and signed for), optionally carried back with its result."""
    from tests.casework.test_custody import TOWNSHIP, VILLAGE, dispatched, received, village_received

    events = [village_received(received_on), dispatched(when=sent_at)]
    if signed_at is not None:
        events.append(received(when=signed_at))
    if back is not None:
        events += [
            dispatched("down", TOWNSHIP, VILLAGE, back[0]),
            received("down", VILLAGE, TOWNSHIP, back[1]),
        ]
    return events


def route_summary(events, accepted_on: dt.date):
    from dataclasses import replace

    from casework.calendar import default_calendar
    from casework.catalog import demo_catalog
    from casework.custody import route_times
    from casework.deadlines import compute_clock
    from casework.events import fold
    from casework.kpi import summarize
    from tests.casework.test_custody import CASE

    item = demo_catalog().item("GF00201000")
    view = fold(events)
    clock = compute_clock(default_calendar(), view.clock_inputs(item.promised_limit_days), D(2026, 11, 30))
    route = route_times(CASE, events, default_calendar())
    summary = summarize(view, item, clock, route=route)
    assert summary is not None
    return replace(summary, accepted_on=accepted_on)


def test_each_hop_of_a_proxy_case_goes_into_its_summary():
    # Received Monday 16th, sent up Wednesday 18th (2 working days held), signed for Thursday 19th (1 day),
    # result carried back Monday 23rd, signed for at the village Tuesday 24th (1 day).
    events = route_case(
        "2026-11-16",
        "2026-11-18T10:00:00+08:00",
        "2026-11-19T15:30:00+08:00",
        back=("2026-11-23T09:00:00+08:00", "2026-11-24T11:00:00+08:00"),
    )
    summary = route_summary(events, D(2026, 11, 19))
    assert (summary.agent_trips, summary.village_hold_days) == (2, 2)
    assert (summary.transit_hops, summary.transit_days) == (2, 2)
    assert summary.via_proxy and summary.applicant_trips == 0


def test_a_leg_not_yet_signed_for_counts_as_a_trip_but_has_no_transit_time():
    summary = route_summary(route_case("2026-11-16", "2026-11-20T10:00:00+08:00", None), D(2026, 11, 20))
    assert (summary.agent_trips, summary.village_hold_days) == (1, 4)
    assert (summary.transit_hops, summary.transit_days) == (0, 0)


def test_hop_times_in_the_kpis_are_exact_averages_over_the_cohort():
    cases = [
        route_summary(
            route_case(
                "2026-11-16",
                "2026-11-18T10:00:00+08:00",
                "2026-11-19T15:30:00+08:00",
                back=("2026-11-23T09:00:00+08:00", "2026-11-24T11:00:00+08:00"),
            ),
            D(2026, 11, 19),
        ),  # held 2, legs 1 + 1
        route_summary(
            route_case("2026-11-16", "2026-11-17T10:00:00+08:00", "2026-11-20T09:00:00+08:00"),
            D(2026, 11, 20),
        ),  # held 1, one leg of 3 working days
        route_summary(route_case("2026-11-16", "2026-11-20T10:00:00+08:00", None), D(2026, 11, 20)),
        # held 4, still on the road
        CaseSummary("GG00101000", D(2026, 11, 3), D(2026, 11, 3), D(2026, 11, 3), 0, station="T01"),
        # a window case: no route at all
    ]
    report = compute_kpis(cases, NOV)
    assert report.accepted == 4
    assert report.agent_trips == 2 + 1 + 1
    assert report.average_village_hold_days == Fraction(2 + 1 + 4, 3)  # the window case held nothing
    assert report.average_transit_days == Fraction(1 + 1 + 3, 3)  # per leg signed for at the other end
    assert decimal_text(report.average_village_hold_days) == "2.33"
    assert report.to_wire()["average_transit_days_per_mille"] == 1667
    assert report.to_wire()["agent_trips"] == 4


def test_no_proxy_case_leaves_the_hop_averages_undefined():
    report = compute_kpis(HAND_TABLE, NOV)
    assert report.agent_trips == 0
    assert report.average_village_hold_days is None and report.average_transit_days is None
