"""Case event payload schemas, their validation, and folding a case's events into its view."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from casework.calendar import default_calendar
from casework.deadlines import Light, compute_clock
from casework.errors import EventPayloadError
from casework.events import SCHEMAS, CaseEvent, action_of, fold, validate_payload
from casework.lifecycle import CaseState

SHA = "a" * 64
SAMPLES = {
    "received": {"from": None, "to": "village_received", "case_no": "N-1", "item_code": "GF00201000",
                 "item_version": 1, "catalog_version": 1, "applicant_id": "ap-1", "agent_id": "ag-1",
                 "station": "V01", "received_on": "2026-11-02", "channel": "village",
                 "materials": [{"key": "form_dibao", "status": "received", "copies": 1},
                               {"key": "family_ids", "status": "shared"}]},
    "correction_requested": {"from": "received", "to": "correction_requested", "notice_on": "2026-11-05",
                             "corrections": [{"material": "income_property_declaration", "problem": "未签字"}]},
    "accepted": {"from": "received", "to": "accepted", "accepted_on": "2026-11-05"},
    "accepted_with_gaps": {"from": "received", "to": "accepted_with_gaps", "accepted_on": "2026-11-05",
                           "gaps": [{"material": "bank_account", "supply_by": "2026-11-12"}]},
    "gap_supplied": {"from": "accepted_with_gaps", "to": "accepted", "material": "bank_account",
                     "supplied_on": "2026-11-09"},
    "not_accepted": {"from": "received", "to": "not_accepted", "decided_on": "2026-11-05",
                     "reason_code": "not_competent", "reason": "不属本机关职权", "competent_organ": "县民政局"},
    "forwarded": {"from": "accepted", "to": "forwarded", "forwarded_on": "2026-11-10", "to_level": "county",
                  "opinion": "初审同意"},
    "custody_dispatched": {"from": "village_received", "to": "in_transit", "manifest_id": "M-1", "carrier": "ag-1",
                           "to_station": "T01", "at": "2026-11-03T09:30:00+08:00", "direction": "up"},
    "custody_received": {"from": "in_transit", "to": "received", "manifest_id": "M-1", "received_by": "clerk-1",
                         "at": "2026-11-04T10:00:00+08:00", "direction": "up"},
    "paused": {"from": "forwarded", "to": "forwarded", "procedure": "publicity", "started_on": "2026-11-12",
               "expected_days": 7, "counts_toward_limit": False},
    "resumed": {"from": "forwarded", "to": "forwarded", "resumed_on": "2026-11-19"},
    "extended": {"from": "forwarded", "to": "forwarded", "extended_on": "2026-11-20", "days": 15,
                 "approver": "局长", "reason": "需补充调查"},
    "review_note": {"from": "forwarded", "to": "forwarded", "step": "审核", "opinion": "同意"},
    "decided": {"from": "forwarded", "to": "decided_granted", "decided_on": "2026-11-25", "outcome": "granted",
                "reasons": [], "document_no": "民〔2026〕12号"},
    "result_ready": {"from": "decided_granted", "to": "result_ready", "ready_on": "2026-11-26",
                     "notice_sent": True, "pickup": "agent"},
    "delivered": {"from": "result_ready", "to": "delivered", "delivered_on": "2026-11-27", "method": "agent",
                  "signed_by": "张三"},
    "withdrawn": {"from": "accepted", "to": "withdrawn", "withdrawn_on": "2026-11-06", "reason": "不再需要"},
    "terminated": {"from": "accepted_with_gaps", "to": "terminated", "terminated_on": "2026-11-13",
                   "reason_code": "gap_lapsed", "reason": "容缺材料逾期未补"},
    "rated": {"rating_id": "r-1", "level": 2, "stage": "completion", "channel": "paper_card",
              "rated_on": "2026-11-27", "rater": "applicant", "indicators": {"attitude": 2, "efficiency": 1}},
    "followup_opened": {"followup_id": "f-1", "rating_id": "r-1", "opened_on": "2026-11-27", "due_on": "2026-12-18"},
    "followup_visited": {"followup_id": "f-1", "visited_on": "2026-11-30", "note": "电话回访"},
    "followup_verdict": {"followup_id": "f-1", "verdict": "reasonable", "note": "等待时间过长"},
    "followup_rectified": {"followup_id": "f-1", "rectified_on": "2026-12-02", "measures": "增加窗口"},
    "followup_closed": {"followup_id": "f-1", "closed_on": "2026-12-03", "rater_satisfaction": "satisfied"},
    "field_edited": {"field": "phone", "old": "13800138000", "new": "13900139000"},
    "note_added": {"note_id": "n-1", "text": "申请人下午再来"},
    "attachment_added": {"sha256": SHA, "size": 12345, "media_type": "image/jpeg", "material": "form_dibao"},
    "duplicate_merged": {"into_case": "N-0", "reason": "同一人同一事项"},
    "authorization_recorded": {"agent_id": "ag-1", "powers": ["submit_materials", "sign_for_result"],
                               "signed_on": "2026-11-02"},
    "applicant_created": {"applicant_id": "ap-1", "name": "张三", "id_type": "111",
                          "id_number_masked": "3301**********1236", "id_lookup": "k1", "kind": "natural_person"},
    "applicant_edited": {"applicant_id": "ap-1", "field": "address", "old": None, "new": "一组 12 号"},
}  # fmt: skip


def test_every_event_type_has_a_sample_that_validates():
    assert set(SAMPLES) == set(SCHEMAS)
    for event_type, payload in SAMPLES.items():
        assert validate_payload(event_type, payload) is payload
        json.dumps(payload, allow_nan=False)


def _invalid(event_type, change, drop=()):
    payload = {**SAMPLES[event_type], **change}
    for key in drop:
        payload.pop(key)
    with pytest.raises(EventPayloadError) as raised:
        validate_payload(event_type, payload)
    return raised.value


@pytest.mark.parametrize(
    ("event_type", "change", "drop", "path", "code"),
    [
        ("extended", {"days": 10.0}, (), "days", "expected_integer"),
        ("accepted", {}, ("accepted_on",), "accepted_on", "missing_field"),
        ("accepted", {"colour": "red"}, (), "colour", "unknown_field"),
        ("accepted", {"accepted_on": "2026-02-30"}, (), "accepted_on", "expected_date"),
        ("accepted", {"to": "approved"}, (), "to", "not_a_choice"),
        ("accepted", {"from": None}, (), "from", "missing_field"),
        ("decided", {"outcome": "refused", "reasons": []}, (), "reasons", "refusal_needs_reasons"),
        ("rated", {"level": 6}, (), "level", "rating_level_range"),
        ("rated", {"indicators": {"attitude": 0}}, (), "indicators.attitude", "rating_level_range"),
        ("rated", {"indicators": {"speed": 3}}, (), "indicators.speed", "unknown_indicator"),
        ("authorization_recorded", {"powers": ["全权"]}, (), "powers[0]", "authorization_power"),
        ("authorization_recorded", {"powers": []}, (), "powers", "empty_list"),
        ("field_edited", {"new": "13800138000"}, (), "new", "edit_without_change"),
        ("field_edited", {"new": 1.5}, (), "new", "expected_scalar"),
        ("field_edited", {}, ("old",), "old", "missing_field"),
        ("attachment_added", {"sha256": "XYZ"}, (), "sha256", "expected_sha256"),
        ("custody_received", {"at": "yesterday"}, (), "at", "expected_timestamp"),
        ("correction_requested", {"corrections": []}, (), "corrections", "empty_list"),
        ("accepted_with_gaps", {"gaps": [{"material": "x"}]}, (), "gaps[0].supply_by", "missing_field"),
        (
            "received",
            {"materials": [{"key": "x", "status": "lost"}]},
            (),
            "materials[0].status",
            "not_a_choice",
        ),
        ("extended", {"days": 0}, (), "days", "extension_days"),
    ],
)
def test_invalid_payloads_name_the_field(event_type, change, drop, path, code):
    error = _invalid(event_type, change, drop)
    assert (error.path, error.code) == (path, code)
    assert event_type in error.text("en") and path in error.text("zh")


def test_unknown_event_type_is_refused():
    with pytest.raises(EventPayloadError) as raised:
        validate_payload("teleported", {})
    assert raised.value.code == "unknown_event_type"


def test_custody_timestamps_may_be_integer_milliseconds():
    validate_payload("custody_received", {**SAMPLES["custody_received"], "at": 1_795_000_000_000})


def test_action_of_transition_events():
    assert action_of("received", SAMPLES["received"]) == "receive_at_village"
    assert action_of("received", {**SAMPLES["received"], "to": "received"}) == "receive"
    assert action_of("decided", SAMPLES["decided"]) == "decide_grant"
    assert action_of("note_added", SAMPLES["note_added"]) is None


def ev(event_type, **change):
    return CaseEvent(
        event_type, {**SAMPLES[event_type], **change}, at="2026-11-01T00:00:00+08:00", actor="u1"
    )


def proxy_case_events():
    return [
        ev("authorization_recorded"),
        ev("received"),
        ev("custody_dispatched"),
        ev("custody_received"),
        ev("accepted_with_gaps", **{"from": "received"}),
        ev("gap_supplied"),
        ev("forwarded", **{"from": "accepted"}),
        ev("paused"),
        ev("resumed"),
        ev("extended"),
        ev("review_note"),
        ev("decided"),
        ev("result_ready"),
        ev("delivered"),
        ev("rated"),
        ev("followup_opened"),
        ev("followup_closed"),
        ev("note_added"),
        ev("attachment_added"),
        ev("field_edited"),
    ]


def test_fold_a_complete_proxy_case():
    view = fold(proxy_case_events(), strict=True)
    assert view.anomalies == []
    assert view.state is CaseState.DELIVERED
    assert view.case_no == "N-1" and view.item_code == "GF00201000" and view.item_version == 1
    assert view.village_received_on == dt.date(2026, 11, 2)
    assert view.received_on == dt.date(2026, 11, 4)  # the township signed for the folder
    assert view.accepted_on == dt.date(2026, 11, 5)
    assert view.open_gaps == {} and view.gaps["bank_account"].supplied_on == dt.date(2026, 11, 9)
    assert view.pauses[0].end == dt.date(2026, 11, 19) and not view.paused
    assert view.extension_days == 15 and view.extended
    assert view.decision == "granted" and view.document_no == "民〔2026〕12号"
    assert view.delivered_on == dt.date(2026, 11, 27) and view.delivery_method == "agent"
    assert view.review_steps == 3  # forward, review note, decision
    assert view.followups["f-1"]["status"] == "closed"
    assert view.notes and view.attachments == [SHA] and view.fields["phone"] == "13900139000"
    assert len(view.timeline) == 20
    assert view.timeline[4].summary.text("zh") == "容缺受理"
    assert not view.is_open


def test_fold_gives_the_clock_its_inputs():
    events = [*proxy_case_events()[:9], ev("extended", days=5)]
    view = fold(events, strict=True)
    inputs = view.clock_inputs(promised_days=25, legal_days=30)
    status = compute_clock(default_calendar(), inputs, dt.date(2026, 11, 23))
    # 25 + 5 extension working days from 11-05, with the 公示 pause 11-12..11-18 (5 working days) excluded
    assert status.clock_start == dt.date(2026, 11, 5)
    assert status.deadline == default_calendar().add_working_days(dt.date(2026, 11, 5), 35)
    assert status.light is Light.GREEN
    # with the full 15-day extension the deadline falls in 2027, which has no calendar yet: a visible warning
    longer = fold(proxy_case_events()[:10], strict=True).clock_inputs(promised_days=25)
    assert "calendar_missing" in compute_clock(default_calendar(), longer, dt.date(2026, 11, 23)).flags


def test_fold_open_gaps_and_pause_show_in_the_view():
    view = fold(
        [
            ev("received", to="received"),
            ev("accepted_with_gaps"),
            ev("paused", **{"from": "accepted_with_gaps", "to": "accepted_with_gaps"}),
        ]
    )
    assert view.anomalies == []
    assert view.open_gaps == {"bank_account": dt.date(2026, 11, 12)}
    assert view.paused and view.is_open
    assert view.materials["bank_account"] == "deferred"


def test_fold_records_anomalies_instead_of_failing():
    bad = CaseEvent("accepted", {"from": "received", "to": "accepted"})  # accepted_on missing
    wrong_from = ev("decided")  # the case was never forwarded
    view = fold([ev("received", to="received"), bad, wrong_from])
    codes = [m.code for m in view.anomalies]
    assert codes == ["missing_field", "unexpected_from_state"]
    assert view.state is CaseState.DECIDED_GRANTED  # the log is the truth
    with pytest.raises(EventPayloadError):
        fold([bad], strict=True)


def test_fold_withdrawn_and_merged_cases_have_no_clock():
    view = fold([ev("received", to="received"), ev("accepted"), ev("withdrawn")])
    assert view.state is CaseState.WITHDRAWN and view.close_reason == "不再需要"
    assert compute_clock(default_calendar(), view.clock_inputs(10), dt.date(2026, 12, 1)).light is Light.NONE
    merged = fold([ev("received", to="received"), ev("duplicate_merged")])
    assert merged.merged_into == "N-0" and not merged.is_open


@pytest.mark.parametrize(
    ("event_type", "change", "path", "code"),
    [
        ("received", {"item_version": 2}, "item_code", "item_mismatch"),
        ("received", {"materials": [{"key": "passport_photo", "status": "received"}]}, "materials[0].key", "unknown_material"),
        ("accepted_with_gaps", {"gaps": [{"material": "form_dibao", "supply_by": "2026-11-12"}]}, "gaps[0].material", "not_deferrable"),
        ("paused", {"procedure": "hearing"}, "procedure", "unknown_procedure"),
        ("paused", {"counts_toward_limit": True}, "counts_toward_limit", "counting_rule"),
        ("extended", {"days": 16}, "days", "extension_too_long"),
    ],
)  # fmt: skip
def test_validate_against_the_pinned_item(event_type, change, path, code):
    from casework.catalog import demo_catalog
    from casework.events import validate_against_item

    dibao = demo_catalog().item("GF00201000", 1)
    validate_against_item(
        event_type,
        SAMPLES[event_type]
        if event_type != "accepted_with_gaps"
        else {
            **SAMPLES[event_type],
            "gaps": [{"material": "special_circumstances", "supply_by": "2026-11-12"}],
        },
        dibao,
    )
    with pytest.raises(EventPayloadError) as raised:
        validate_against_item(event_type, {**SAMPLES[event_type], **change}, dibao)
    assert (raised.value.path, raised.value.code) == (path, code)
