"""Materials checklist rules: 容缺 only for deferrable materials, 告知承诺 and 免提交 only where the catalog says."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.calendar import default_calendar
from casework.catalog import bundle_materials, demo_catalog
from casework.events import MATERIAL_STATUSES
from casework.materials import MaterialStatus, WindowOutcome, assess_materials, gap_deadlines

CATALOG = demo_catalog()
DIBAO = CATALOG.item("GF00201000")
COMPLETE = {
    "form_dibao": "received",
    "family_ids": "shared",
    "income_check_authorisation": "received",
    "income_property_declaration": "original_returned",
    "special_circumstances": "received",
    "school_enrolment_proof": "promised",
}


def test_event_schema_knows_every_material_status():
    assert {s.value for s in MaterialStatus} == MATERIAL_STATUSES


@pytest.mark.parametrize(
    ("changes", "outcome", "missing", "deferred"),
    [
        ({}, WindowOutcome.ACCEPT, (), ()),
        (
            {"special_circumstances": "deferred"},
            WindowOutcome.ACCEPT_WITH_GAPS,
            (),
            ("special_circumstances",),
        ),
        ({"form_dibao": "missing"}, WindowOutcome.REQUEST_CORRECTION, ("form_dibao",), ()),
        # one missing main material means a correction notice, even with a gap elsewhere; it lists everything
        (
            {
                "form_dibao": "missing",
                "income_check_authorisation": "missing",
                "special_circumstances": "deferred",
            },
            WindowOutcome.REQUEST_CORRECTION,
            ("form_dibao", "income_check_authorisation"),
            ("special_circumstances",),
        ),
    ],
)
def test_window_outcome(changes, outcome, missing, deferred):
    statuses = {**COMPLETE, **changes}
    result = assess_materials(DIBAO.materials, statuses)
    assert result.ok
    assert (result.outcome, result.missing, result.deferred) == (outcome, missing, deferred)


def test_an_unmarked_material_counts_as_missing():
    statuses = dict(COMPLETE)
    del statuses["form_dibao"]
    assert assess_materials(DIBAO.materials, statuses).missing == ("form_dibao",)


@pytest.mark.parametrize(
    ("key", "status", "code"),
    [
        ("form_dibao", "deferred", "not_deferrable"),
        ("form_dibao", "promised", "not_promise_replaceable"),
        ("income_check_authorisation", "shared", "not_shareable"),
        ("no_such_material", "received", "unknown_material"),
        ("form_dibao", "lost", "unknown_material_status"),
    ],
)
def test_marks_the_catalog_does_not_allow_are_problems(key, status, code):
    result = assess_materials(DIBAO.materials, {**COMPLETE, key: status})
    assert [p.code for p in result.problems] == [code]
    assert not result.ok


def test_a_bundle_checklist_uses_the_merged_list():
    merged = [m.material for m in bundle_materials(CATALOG, "YJ00003000")]
    statuses = {m.key: "received" for m in merged}
    statuses["social_security_card"] = "deferred"
    result = assess_materials(merged, statuses)
    assert result.outcome is WindowOutcome.ACCEPT_WITH_GAPS and result.deferred == ("social_security_card",)


def test_gap_deadlines_default_to_5_working_days_capped_by_the_case_deadline():
    calendar = default_calendar()
    accepted = dt.date(2026, 11, 2)
    senior_card = CATALOG.item("GG00302000")
    deadlines = gap_deadlines(
        CATALOG, DIBAO.materials, ["special_circumstances"], calendar=calendar, accepted_on=accepted,
        case_deadline=calendar.add_working_days(accepted, 25),
    )  # fmt: skip
    assert deadlines == {"special_circumstances": dt.date(2026, 11, 9)}
    capped = gap_deadlines(
        CATALOG, senior_card.materials, ["photo"], calendar=calendar, accepted_on=accepted,
        case_deadline=calendar.add_working_days(accepted, 3),
    )  # fmt: skip
    assert capped == {"photo": dt.date(2026, 11, 5)}
