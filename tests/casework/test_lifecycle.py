"""DOMAIN.md §2.2 and §6.2: the case state machine as a table, with levels, roles and the 容缺 guards."""

from __future__ import annotations

import pytest

from casework.catalog import Level
from casework.errors import TransitionError
from casework.lifecycle import (
    TERMINAL_STATES,
    TRANSITIONS,
    CaseState,
    Role,
    allowed_actions,
    check_transition,
)

S = CaseState
V, T, C, X = Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CENTRAL
VS, TC, CC, PA, CA = (
    Role.VILLAGE_STAFF,
    Role.TOWNSHIP_CLERK,
    Role.COUNTY_CLERK,
    Role.PROXY_AGENT,
    Role.CENTRAL_ADMIN,
)
ROLE_LEVELS = {VS: {V}, TC: {T}, CC: {C}, PA: {V, T, C}, CA: {X}}


def test_proxy_case_path_village_to_township_to_county_and_back():
    steps = [
        (None, "receive_at_village", V, VS, S.VILLAGE_RECEIVED),
        (S.VILLAGE_RECEIVED, "dispatch", V, PA, S.IN_TRANSIT),
        (S.IN_TRANSIT, "receive_custody", T, TC, S.RECEIVED),
        (S.RECEIVED, "accept", T, TC, S.ACCEPTED),
        (S.ACCEPTED, "review_note", T, TC, S.ACCEPTED),
        (S.ACCEPTED, "forward", T, TC, S.FORWARDED),
        (S.FORWARDED, "receive_custody", C, CC, S.FORWARDED),
        (S.FORWARDED, "decide_grant", C, CC, S.DECIDED_GRANTED),
        (S.DECIDED_GRANTED, "mark_result_ready", C, CC, S.RESULT_READY),
        (S.RESULT_READY, "dispatch", C, PA, S.RESULT_READY),
        (S.RESULT_READY, "receive_custody", V, VS, S.RESULT_READY),
        (S.RESULT_READY, "deliver", V, VS, S.DELIVERED),
    ]
    for state, action, level, role, expected in steps:
        intent = check_transition(state, action, level, role)
        assert (intent.from_state, intent.to_state, intent.action) == (state, expected, action)
    assert check_transition(S.RECEIVED, "accept", T, TC).to_payload() == {
        "action": "accept",
        "from": "received",
        "to": "accepted",
    }
    assert check_transition(S.RECEIVED, "accept_with_gaps", T, TC).reason.text("zh") == "容缺受理"


@pytest.mark.parametrize(
    ("state", "action", "level", "role", "to"),
    [
        (S.RECEIVED, "request_correction", T, TC, S.CORRECTION_REQUESTED),
        (S.CORRECTION_REQUESTED, "accept", T, TC, S.ACCEPTED),  # materials supplied ⇒ 受理 on the supply date
        (S.CORRECTION_REQUESTED, "request_correction", T, TC, S.CORRECTION_REQUESTED),
        (S.RECEIVED, "refuse_acceptance", C, CC, S.NOT_ACCEPTED),
        (S.RECEIVED, "accept_with_gaps", T, TC, S.ACCEPTED_WITH_GAPS),
        (S.ACCEPTED, "decide_refuse", T, TC, S.DECIDED_REFUSED),
        (S.ACCEPTED_WITH_GAPS, "decide_refuse", T, TC, S.DECIDED_REFUSED),
        (S.ACCEPTED, "pause", T, TC, S.ACCEPTED),
        (S.FORWARDED, "resume", C, CC, S.FORWARDED),
        (S.IN_TRANSIT, "withdraw", V, VS, S.WITHDRAWN),
        (S.ACCEPTED, "withdraw", T, TC, S.WITHDRAWN),
        (S.ACCEPTED_WITH_GAPS, "terminate", T, TC, S.TERMINATED),
        (S.ACCEPTED_WITH_GAPS, "terminate", X, CA, S.TERMINATED),
        (None, "receive", C, CC, S.RECEIVED),
    ],
)
def test_allowed_transitions(state, action, level, role, to):
    assert check_transition(state, action, level, role).to_state is to


@pytest.mark.parametrize(
    ("state", "action", "level", "role", "code"),
    [
        (S.VILLAGE_RECEIVED, "accept", V, VS, "transition_not_allowed"),  # the village only receives
        (S.RECEIVED, "accept", V, VS, "level_not_allowed"),
        (S.RECEIVED, "accept", T, PA, "role_not_allowed"),
        (S.DELIVERED, "withdraw", V, VS, "transition_not_allowed"),
        (S.DECIDED_GRANTED, "withdraw", T, TC, "transition_not_allowed"),
        (S.NOT_ACCEPTED, "accept", T, TC, "transition_not_allowed"),
        (S.ACCEPTED, "deliver", T, TC, "transition_not_allowed"),
        (S.IN_TRANSIT, "receive_custody", T, PA, "role_not_allowed"),
        (S.ACCEPTED, "forward", C, CC, "level_not_allowed"),
        (None, "receive", V, VS, "level_not_allowed"),
        (S.ACCEPTED, "fly_away", T, TC, "unknown_action"),
    ],
)
def test_refused_transitions_say_why_in_both_languages(state, action, level, role, code):
    with pytest.raises(TransitionError) as raised:
        check_transition(state, action, level, role)
    assert raised.value.code == code
    assert raised.value.text("zh") != raised.value.text("en")


def test_open_gaps_block_grant_and_result_until_supplied():
    with pytest.raises(TransitionError) as raised:
        check_transition(S.ACCEPTED_WITH_GAPS, "decide_grant", T, TC, open_gaps=2)
    assert raised.value.code == "gaps_open" and "2" in raised.value.text("zh")
    with pytest.raises(TransitionError):
        check_transition(S.FORWARDED, "decide_grant", C, CC, open_gaps=1)
    with pytest.raises(TransitionError):
        check_transition(S.DECIDED_GRANTED, "mark_result_ready", C, CC, open_gaps=1)
    # a refusal needs no gaps closed
    assert check_transition(S.DECIDED_REFUSED, "mark_result_ready", C, CC, open_gaps=1, granted=False)
    assert (
        check_transition(S.ACCEPTED_WITH_GAPS, "supply_gap", V, VS, open_gaps=2).to_state
        is S.ACCEPTED_WITH_GAPS
    )
    assert check_transition(S.ACCEPTED_WITH_GAPS, "supply_gap", T, TC, open_gaps=1).to_state is S.ACCEPTED
    assert check_transition(S.FORWARDED, "supply_gap", C, CC, open_gaps=1).to_state is S.FORWARDED
    with pytest.raises(TransitionError) as none_open:
        check_transition(S.ACCEPTED_WITH_GAPS, "supply_gap", T, TC, open_gaps=0)
    assert none_open.value.code == "no_open_gap"
    assert (
        check_transition(S.ACCEPTED_WITH_GAPS, "decide_grant", T, TC, open_gaps=0).to_state
        is S.DECIDED_GRANTED
    )


def test_extension_only_once():
    assert check_transition(S.ACCEPTED, "extend", T, TC).to_state is S.ACCEPTED
    with pytest.raises(TransitionError) as raised:
        check_transition(S.ACCEPTED, "extend", T, TC, already_extended=True)
    assert raised.value.code == "already_extended"


def test_terminal_states_have_no_way_out():
    for row in TRANSITIONS:
        assert not (row.from_states & TERMINAL_STATES), row.action
    for state in TERMINAL_STATES:
        for role, levels in ROLE_LEVELS.items():
            for level in levels:
                assert allowed_actions(state, level, role) == []


def test_every_row_is_reachable_by_a_role_at_one_of_its_levels():
    for row in TRANSITIONS:
        assert any(ROLE_LEVELS[role] & row.levels for role in row.roles), row.action
        assert row.zh and row.en


def test_every_non_terminal_state_can_be_reached_and_left():
    targets = {row.to_state for row in TRANSITIONS if row.to_state is not None}
    assert targets == set(CaseState)
    for state in set(CaseState) - TERMINAL_STATES:
        assert any(state in row.from_states for row in TRANSITIONS), state


def test_allowed_actions_for_a_village_clerk_on_a_new_receipt():
    assert allowed_actions(S.VILLAGE_RECEIVED, V, VS) == ["dispatch", "withdraw"]
    assert "accept" in allowed_actions(S.RECEIVED, T, TC)


def test_item_levels_decide_who_accepts_and_who_decides():
    # 低保: accepted by the township, decided by the county
    levels = {"acceptance_level": T, "decision_level": C}
    assert check_transition(S.RECEIVED, "accept", T, TC, **levels).to_state is S.ACCEPTED
    assert check_transition(S.ACCEPTED, "forward", T, TC, **levels).to_state is S.FORWARDED
    with pytest.raises(TransitionError) as raised:
        check_transition(S.ACCEPTED, "decide_grant", T, TC, **levels)
    assert raised.value.code == "not_decision_level"
    assert check_transition(S.FORWARDED, "decide_grant", C, CC, **levels).to_state is S.DECIDED_GRANTED
    # 宅基地: accepted and decided by the township, nothing to forward
    with pytest.raises(TransitionError) as nothing_to_forward:
        check_transition(S.ACCEPTED, "forward", T, TC, acceptance_level=T, decision_level=T)
    assert nothing_to_forward.value.code == "not_decision_level"


def test_a_township_receives_a_county_item_only_on_behalf_and_relays_it():
    levels = {"acceptance_level": C, "decision_level": C}  # 户口迁入: 镇帮办, 派出所 decides
    with pytest.raises(TransitionError) as raised:
        check_transition(None, "receive", T, TC, **levels)
    assert raised.value.code == "not_acceptance_level"
    assert "代收" in raised.value.text("zh")
    assert check_transition(None, "receive_at_village", T, TC, **levels).to_state is S.VILLAGE_RECEIVED
    assert check_transition(S.VILLAGE_RECEIVED, "dispatch", T, TC, **levels).to_state is S.IN_TRANSIT
    # a village folder relayed through the township stays in transit until the county signs for it
    assert check_transition(S.IN_TRANSIT, "receive_custody", T, TC, **levels).to_state is S.IN_TRANSIT
    assert check_transition(S.IN_TRANSIT, "dispatch", T, PA, **levels).to_state is S.IN_TRANSIT
    assert check_transition(S.IN_TRANSIT, "receive_custody", C, CC, **levels).to_state is S.RECEIVED
    assert check_transition(S.RECEIVED, "accept", C, CC, **levels).to_state is S.ACCEPTED
