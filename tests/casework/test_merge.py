"""SYNC-DESIGN.md §9 merge policy: classes A–G, authority ranks, field stakes, set-like fields, duplicate key."""

from __future__ import annotations

import pytest

from casework.catalog import Level
from casework.lifecycle import ACTIONS, CaseState
from casework.merge import (
    COMMUTING_PAIRS,
    HIGH_STAKES_FIELDS,
    LOW_STAKES_FIELDS,
    SET_LIKE_FIELDS,
    ConflictClass,
    authority_rank,
    classify_custody,
    classify_duplicate,
    classify_field_edit,
    classify_integrity,
    classify_late_event,
    classify_stale_catalog,
    classify_transitions,
    commute,
    duplicate_key,
)

V, T, C, X = Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CENTRAL
S = CaseState


def test_authority_central_over_deciding_level_over_township_over_village():
    assert authority_rank(X, C) > authority_rank(C, C) > authority_rank(T, C) > authority_rank(V, C)
    assert authority_rank(T, T) > authority_rank(V, T)


def test_commuting_pairs_name_real_actions():
    for pair in COMMUTING_PAIRS:
        assert pair <= ACTIONS
    assert commute("review_note", "supply_gap") and commute("extend", "review_note")
    assert not commute("extend", "extend") and not commute("decide_grant", "withdraw")


@pytest.mark.parametrize(
    ("applied", "applied_level", "incoming", "incoming_level", "state", "automatic", "outcome"),
    [
        # village withdraws while the township grants: both legal acts → a person decides
        ("decide_grant", T, "withdraw", V, S.DECIDED_GRANTED, False, "human_review"),
        ("review_note", T, "supply_gap", V, S.ACCEPTED_WITH_GAPS, True, "apply_both"),
        ("pause", C, "review_note", C, S.FORWARDED, True, "apply_both"),
        ("review_note", T, "pause", T, S.ACCEPTED, True, "apply_both"),
        # still valid from the current state
        ("forward", T, "pause", T, S.FORWARDED, True, "apply_incoming"),
        # not valid at the incoming level, and the applied side outranks it
        ("forward", T, "pause", V, S.FORWARDED, True, "keep_applied"),
        # an extension is allowed once: two concurrent ones go to a person
        ("extend", T, "extend", C, S.FORWARDED, False, "human_review"),
        ("pause", V, "mark_result_ready", C, S.ACCEPTED, False, "human_review"),
    ],
)
def test_class_a_concurrent_transitions(
    applied, applied_level, incoming, incoming_level, state, automatic, outcome
):
    resolution = classify_transitions(
        applied, applied_level, incoming, incoming_level, state, deciding_level=C
    )
    assert resolution.conflict_class is ConflictClass.A
    assert (resolution.automatic, resolution.outcome) == (automatic, outcome)
    assert resolution.reason.text("zh") and resolution.reason.text("en")


def test_field_stakes_tables_are_disjoint():
    assert not (HIGH_STAKES_FIELDS & LOW_STAKES_FIELDS)
    assert not (SET_LIKE_FIELDS & (HIGH_STAKES_FIELDS | LOW_STAKES_FIELDS))
    assert {"name", "id_number", "birth_date", "bank_account"} <= HIGH_STAKES_FIELDS
    assert "phone" in LOW_STAKES_FIELDS


@pytest.mark.parametrize(
    ("field", "base", "applied", "incoming", "automatic", "outcome", "value"),
    [
        ("phone", "13800138000", "13900139000", "13900139000", True, "same_value", "13900139000"),
        ("phone", "13800138000", "13800138000", "13700137000", True, "apply_incoming", "13700137000"),
        ("phone", "13800138000", "13900139000", "13800138000", True, "keep_applied", "13900139000"),
        ("phone", "13800138000", "13900139000", "13700137000", True, "last_writer_wins", "13700137000"),
        ("name", "张三", "张叁", "章三", False, "human_review", None),
        ("bank_account", "1", "2", "3", False, "human_review", None),
        ("favourite_colour", "red", "green", "blue", False, "human_review", None),  # unknown → high-stakes
        ("tags", ["a"], ["a", "b"], ["a", "c"], True, "union", ["a", "b", "c"]),
        ("notes", ["n1", "n2"], ["n1", "n2", "n3"], ["n2", "n4"], True, "union", ["n2", "n3", "n4"]),
    ],
)
def test_class_b_three_way_field_merge(field, base, applied, incoming, automatic, outcome, value):
    resolution = classify_field_edit(
        field, base, applied, incoming, applied_clock=(100, "V01"), incoming_clock=(200, "T01")
    )
    assert resolution.conflict_class is ConflictClass.B
    assert (resolution.automatic, resolution.outcome, resolution.value) == (automatic, outcome, value)


def test_last_writer_wins_ties_break_by_station():
    earlier = classify_field_edit(
        "address", "a", "b", "c", applied_clock=(5, "V02"), incoming_clock=(5, "V01")
    )
    assert earlier.winner == "applied" and earlier.value == "b"


def test_duplicate_key_normalises_the_id_and_item():
    assert duplicate_key("33011019850312123x", "gf00201000") == duplicate_key(
        "３３０１１０ １９８５０３１２ １２３X", "GF00201000"
    )
    assert duplicate_key("330110850312123", "GF00201000") == duplicate_key("330110198503121236", "GF00201000")
    assert duplicate_key("330110198503121236", "GF00503000", period="2026") != duplicate_key(
        "330110198503121236", "GF00503000", period="2027"
    )


def test_class_c_duplicates():
    key = duplicate_key("330110198503121236", "GF00201000")
    same_op = classify_duplicate(key, key, idempotency_a="op-1", idempotency_b="op-1", both_open=True)
    assert same_op.automatic and same_op.outcome == "dedup"
    two_stations = classify_duplicate(key, key, idempotency_a="op-1", idempotency_b="op-2", both_open=True)
    assert two_stations.conflict_class is ConflictClass.C and not two_stations.automatic
    assert two_stations.outcome == "flag_both"  # never auto-delete
    other = duplicate_key("330110198503121236", "GF00203000")
    assert classify_duplicate(key, other, idempotency_a="a", idempotency_b="b", both_open=True) is None
    assert classify_duplicate(key, key, idempotency_a="a", idempotency_b="b", both_open=False) is None


@pytest.mark.parametrize(
    ("dispatches", "receipts", "days", "automatic", "code"),
    [
        (1, 1, 2, True, "matched"),
        (1, 1, 4, False, "in_transit_too_long"),
        (0, 1, None, False, "receipt_without_dispatch"),
        (1, 2, 1, False, "double_receipt"),
        (1, 0, 5, False, "in_transit_too_long"),
    ],
)
def test_class_d_custody(dispatches, receipts, days, automatic, code):
    resolution = classify_custody(dispatches, receipts, days)
    assert resolution.conflict_class is ConflictClass.D
    assert (resolution.automatic, resolution.reason.code) == (automatic, code)


def test_class_e_stale_catalog():
    ok = classify_stale_catalog(12, 13, item_withdrawn=False, eligibility_changed=False)
    assert ok.automatic and ok.outcome == "evaluate_under_declared_version" and "v12" in ok.reason.text("en")
    assert not classify_stale_catalog(12, 13, item_withdrawn=True, eligibility_changed=False).automatic


def test_class_f_late_events():
    assert classify_late_event(merged_into="N-0", closed=False, changes_outcome=False).outcome == "redirect"
    assert classify_late_event(merged_into=None, closed=True, changes_outcome=False).outcome == "annotate"
    assert not classify_late_event(merged_into=None, closed=True, changes_outcome=True).automatic


def test_class_g_is_never_automatic():
    resolution = classify_integrity("fork")
    assert resolution.conflict_class is ConflictClass.G and not resolution.automatic
    assert resolution.outcome == "quarantine"


def test_duplicate_token_matches_one_person_and_item_under_one_network_key_only():
    from casework.merge import duplicate_token

    key = bytes(range(32))
    token = duplicate_token(key, "11010519491231002X", "LOW_INCOME")
    # The legacy 15-digit number of the same person, lower-case item code: the same token.
    assert duplicate_token(key, "110105491231002", " low_income") == token
    assert duplicate_token(key, "11010519491231002X", "OTHER") != token
    assert duplicate_token(bytes(32), "11010519491231002X", "LOW_INCOME") != token  # another network
    assert "11010519491231002X" not in token and len(token) == 64
    with pytest.raises(ValueError):
        duplicate_token(b"short", "11010519491231002X", "LOW_INCOME")


def test_class_g_says_what_happened_in_words():
    fork = classify_integrity("fork").reason
    assert "旧备份" in fork.text("zh") and "old copy" in fork.text("en")
    assert "odd_code" in classify_integrity("odd_code").reason.text("zh")  # an unknown code is still shown
