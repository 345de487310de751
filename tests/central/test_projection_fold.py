"""Central's case rows fold only new events onto the stored view when that is the same as folding everything
(issue 5: ingest speed) — and the rows are, after every delivery in any order, exactly what folding each case's
events from the start gives (``projections.rows_from_scratch``): out-of-order and duplicate delivery, a hand-over
whose township events arrive first, conflicts held out and resolved, a stored state from other code."""

from __future__ import annotations

import pytest
from hypothesis import given

from central.db import database
from central.models import CaseRecord, Conflict
from central.services import projections
from central.services.projections import PROJECTED, rows_from_scratch
from sync_protocol.hlc import HLC

from .builders import SimStation
from .conftest import TOWNSHIP, VILLAGE, issue, login
from .test_convergence import (
    CONVERGENCE,
    HANDED_OVER,
    INDEPENDENT,
    OTHER_VILLAGE,
    build_template,
    deliver,
    deliveries,
    fresh_central,
    lengths,
)
from .test_ingest import put

COLUMNS = [c for c in PROJECTED if c != "updated_at"]


def stored_rows() -> dict[str, dict[str, object]]:
    query = database.execute_sql(f"SELECT case_id, {', '.join(COLUMNS)} FROM cases")
    return {case_id: dict(zip(COLUMNS, values, strict=True)) for case_id, *values in query}


def assert_rows_are_folds_from_scratch() -> None:
    stored = stored_rows()
    assert all(row["fold_state"] for row in stored.values()), "every refreshed row keeps its fold state"
    assert stored == rows_from_scratch(stored)


@pytest.fixture(scope="module")
def independent(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("projection") / "central", INDEPENDENT)


@pytest.fixture(scope="module")
def handed_over(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("projection") / "central", HANDED_OVER)


def check_after_every_delivery(template, files) -> None:
    with fresh_central(template) as client:
        for file in files:
            deliver(client, template, file)
            assert_rows_are_folds_from_scratch()
        assert set(stored_rows()) == template_cases(template)  # everything arrived: every case compared


def template_cases(template) -> set[str]:
    return {
        e.aggregate_id for s in template.stations.values() for e in s.events if e.aggregate_kind == "case"
    }


@CONVERGENCE
@given(files=deliveries(lengths(INDEPENDENT)))
def test_rows_equal_a_fold_from_scratch_after_every_delivery_in_any_order(independent, files):
    check_after_every_delivery(independent, files)


@CONVERGENCE
@given(files=deliveries(lengths(HANDED_OVER)))
def test_a_handed_over_case_equals_a_fold_from_scratch_whichever_station_arrives_first(handed_over, files):
    check_after_every_delivery(handed_over, files)


@pytest.fixture
def refolded(monkeypatch):
    """The case ids each refresh folded from all their events (the rest continued from their stored view)."""
    calls: list[set[str]] = []
    original = projections._folded_from_events

    def spy(case_ids, parsed, now_value):
        calls.append(set(case_ids))
        return original(case_ids, parsed, now_value)

    monkeypatch.setattr(projections, "_folded_from_events", spy)
    return calls


def whole_log(template, code: str) -> tuple[str, int, int]:
    return (code, 0, len(template.stations[code].events))


def test_later_events_continue_from_the_stored_view(handed_over, refolded):
    """Village first, then the township's custody receipt and acceptance (later clocks): the case continues."""
    with fresh_central(handed_over) as client:
        deliver(client, handed_over, whole_log(handed_over, VILLAGE))
        assert refolded[-1] == set()  # new cases: their events are all the log holds of them
        deliver(client, handed_over, whole_log(handed_over, TOWNSHIP))
        assert "case-v0" not in refolded[-1]
        assert CaseRecord.get_by_id("case-v0").state == "accepted"
        assert_rows_are_folds_from_scratch()


def test_events_that_sort_before_the_stored_view_fold_the_case_again(handed_over, refolded):
    """The township's events first; the village's (earlier clocks) then belong before them: fold it all again."""
    with fresh_central(handed_over) as client:
        deliver(client, handed_over, whole_log(handed_over, TOWNSHIP))
        deliver(client, handed_over, whole_log(handed_over, OTHER_VILLAGE))
        deliver(client, handed_over, whole_log(handed_over, VILLAGE))
        assert "case-v0" in refolded[-1]
        assert CaseRecord.get_by_id("case-v0").state == "accepted"
        assert_rows_are_folds_from_scratch()


def test_a_case_without_a_row_but_with_logged_events_folds_them_all(handed_over, refolded):
    """A row lost or never made (a database from before rows kept their fold): the log's events all count."""
    with fresh_central(handed_over) as client:
        deliver(client, handed_over, whole_log(handed_over, VILLAGE))
        CaseRecord.delete().where(CaseRecord.case_id == "case-v0").execute()
        deliver(client, handed_over, whole_log(handed_over, TOWNSHIP))
        assert "case-v0" in refolded[-1]
        assert CaseRecord.get_by_id("case-v0").origin_station == VILLAGE
        assert_rows_are_folds_from_scratch()


def test_a_state_made_by_other_code_is_not_continued(handed_over, refolded):
    with fresh_central(handed_over) as client:
        deliver(client, handed_over, whole_log(handed_over, VILLAGE))
        case = CaseRecord.get_by_id("case-v0")
        case.fold_state = case.fold_state.replace(projections.FOLD_KEY, "0" * 16)
        case.save()
        deliver(client, handed_over, whole_log(handed_over, TOWNSHIP))
        assert "case-v0" in refolded[-1]
        assert_rows_are_folds_from_scratch()


def test_cases_with_conflicts_fold_from_their_events(client, stations, village, central_info, refolded):
    """A held-out event, then more events on the case, then a person's resolution: the row follows the fold."""
    township = SimStation(TOWNSHIP, central_info["network"])
    assert client.post("/api/v1/enroll", data=township.enrollment_request(issue(stations, TOWNSHIP))).status_code == 200  # fmt: skip
    township.open_epoch()
    case_id = village.receive_case()
    put(client, village.batch(village.events, central_info))
    base = CaseRecord.get_by_id(case_id).version
    dispatch = {"from": "village_received", "to": "in_transit", "manifest_id": "m1", "carrier": "agent",
                "to_station": TOWNSHIP, "at": "2026-03-04T09:00:00+08:00", "direction": "up"}  # fmt: skip
    village.append("custody_dispatched", case_id, dispatch, base_version=base)
    put(client, village.batch(village.events[-1:], central_info))
    refusal = {"from": "village_received", "to": "not_accepted", "decided_on": "2026-03-04", "reason_code": "other",
               "reason": "x"}  # fmt: skip
    township.append("not_accepted", case_id, refusal, base_version=base)
    put(client, township.batch(township.events, central_info))
    conflict = Conflict.select().where(Conflict.conflict_class == "A").get()
    assert CaseRecord.get_by_id(case_id).state == "in_transit"
    assert_rows_are_folds_from_scratch()
    village.append("note_added", case_id, {"note_id": "n-1", "text": "已电话联系申请人"}, base_version=base)
    put(client, village.batch(village.events[-1:], central_info))
    assert case_id in refolded[-1]
    assert_rows_are_folds_from_scratch()
    login(client, "admin")
    assert (
        client.post(f"/conflicts/{conflict.id}/resolve", data={"choice": "apply_incoming"}).status_code == 302
    )
    assert CaseRecord.get_by_id(case_id).state == "not_accepted"
    assert_rows_are_folds_from_scratch()
    # The applied event now folds at the decision's clock, after anything the stations did since: a later note
    # still folds the case from its events.
    village.clock = HLC(township.clock.wall_ms + 60_000, 0)
    version = CaseRecord.get_by_id(case_id).version
    village.append("note_added", case_id, {"note_id": "n-2", "text": "结果已告知"}, base_version=version)
    put(client, village.batch(village.events[-1:], central_info))
    assert case_id in refolded[-1]
    assert_rows_are_folds_from_scratch()
