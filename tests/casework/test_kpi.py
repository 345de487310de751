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
