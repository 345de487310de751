"""Central-signed events, and SYNC-DESIGN §12 invariant 5 on a pure model: every conflict ends in exactly one
resolution, and a replayed resolution is a no-op, whatever the order or number of deliveries."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_protocol.canonical import canonical_bytes, parse_canonical
from sync_protocol.central_events import (
    RESOLUTION,
    ResolutionLedger,
    build_central_event,
    build_resolution,
    compute_central_event_id,
    encode_central_events,
    parse_central_event,
    parse_central_events,
    verify_central_event,
)
from sync_protocol.errors import (
    MalformedError,
    ResolutionConflictError,
    SignatureError,
    UnknownKeyError,
    WrongNetworkError,
)
from sync_protocol.signed import sign_object

from .support import CENTRAL_KEY, NETWORK, T0, make_chain, signing_key

CENTRAL_KEYS = [CENTRAL_KEY.public_raw]
CHAIN = make_chain(30)
CASE = "019b7650-5800-7a00-8000-000000000001"


def resolve(conflict: str, events, outcome: str = "incoming_wins", winner_index: int = 0, issued: int = T0):
    ids = sorted(events)
    return build_resolution(
        network=NETWORK,
        conflict=conflict,
        conflict_class="concurrent_field_edits",
        events=ids,
        outcome=outcome,
        winner=ids[winner_index],
        value={"field": "phone", "new": "13900000000"},
        aggregate_kind="case",
        aggregate_id=CASE,
        issued_ms=issued,
        central_key=CENTRAL_KEY,
    )


def test_a_resolution_round_trips_verifies_and_names_its_competing_events():
    competing = [CHAIN[5].event_id, CHAIN[3].event_id]
    event = resolve("conflict-0001", competing)
    assert parse_central_event(event.raw) == event
    assert verify_central_event(event.raw, CENTRAL_KEYS, network=NETWORK) == event
    assert event.type == RESOLUTION and event.event_id == compute_central_event_id(event.signed.body)
    resolution = event.resolution
    assert resolution is not None
    assert resolution.events == tuple(sorted(competing)) and resolution.winner in resolution.events
    assert event.raw.startswith(b"yiciban-signed/v1 central_event ")


def test_other_central_events_carry_a_free_payload():
    decided = build_central_event(
        network=NETWORK,
        type="case.decided",
        schema_version=2,
        aggregate_kind="case",
        aggregate_id=CASE,
        payload={"from": "under_review", "to": "granted"},
        issued_ms=T0,
        central_key=CENTRAL_KEY,
    )
    assert decided.resolution is None and decided.payload["to"] == "granted"
    assert ResolutionLedger().apply(decided) == (ResolutionLedger(), False)


def test_verification_refuses_strangers_tampering_and_other_networks():
    event = resolve("conflict-0001", [CHAIN[1].event_id])
    with pytest.raises(UnknownKeyError):
        verify_central_event(event.raw, [signing_key("intruder").public_raw], network=NETWORK)
    with pytest.raises(SignatureError):
        verify_central_event(
            event.raw.replace(b"incoming_wins", b"applied_wins_x"), CENTRAL_KEYS, network=NETWORK
        )
    with pytest.raises(WrongNetworkError):
        verify_central_event(event.raw, CENTRAL_KEYS, network="prod-net")


@pytest.mark.parametrize(
    "change",
    [
        {"events": []},
        {"events": ["b" * 64, "a" * 64]},  # not ascending
        {"events": ["a" * 64, "a" * 64]},
        {"winner": "c" * 64},  # not one of the competing events
        {"class": "Not A Code"},
        {"conflict": ""},
        {"extra": 1},
    ],
)
def test_resolution_payload_violations_are_malformed(change):
    body = parse_canonical(resolve("conflict-0001", ["a" * 64, "b" * 64]).signed.body)
    body["p"] = {**body["p"], **change}
    with pytest.raises(MalformedError):
        parse_central_event(sign_object("central_event", canonical_bytes(body), CENTRAL_KEY))


def test_a_decisions_part_frames_central_events_one_envelope_per_pair_of_lines():
    events = [resolve(f"conflict-{i}", [CHAIN[i].event_id]) for i in range(3)]
    part = encode_central_events(events)
    assert parse_central_events(part) == events
    for broken in (part[:-1], part + b"x\n", b"\n".join(part.split(b"\n")[1:])):
        with pytest.raises(MalformedError):
            parse_central_events(broken)


def test_a_second_different_resolution_of_a_conflict_is_refused_and_the_first_stays():
    first = resolve("conflict-0001", [CHAIN[1].event_id, CHAIN[2].event_id])
    second = resolve("conflict-0001", [CHAIN[1].event_id, CHAIN[2].event_id], winner_index=1)
    ledger, changed = ResolutionLedger().apply(first)
    assert changed and ledger.resolved == {"conflict-0001": first.event_id}
    assert ledger.apply(first) == (ledger, False)
    with pytest.raises(ResolutionConflictError):
        ledger.apply(second)


# --- invariant 5 -------------------------------------------------------------------------------------------


@st.composite
def resolutions_and_deliveries(draw):
    """Distinct conflicts, each with its one resolution, and a delivery: any multiset in any order."""
    count = draw(st.integers(1, 8))
    resolutions = [
        resolve(
            f"conflict-{n:04d}",
            draw(st.sets(st.sampled_from([e.event_id for e in CHAIN]), min_size=1, max_size=4)),
            outcome=draw(st.sampled_from(["incoming_wins", "applied_wins", "merged", "human_review"])),
            issued=T0 + n,
        )
        for n in range(count)
    ]
    delivered = draw(st.lists(st.integers(0, count - 1), min_size=count, max_size=4 * count))
    delivered += [n for n in range(count) if n not in delivered]
    return resolutions, draw(st.permutations(delivered))


PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(resolutions_and_deliveries())
def test_every_conflict_ends_in_exactly_one_resolution_and_replays_are_no_ops(case):
    resolutions, order = case
    ledger = ResolutionLedger()
    changes = []
    for index in order:
        ledger, changed = ledger.apply(resolutions[index])
        changes.append(changed)
    assert ledger.resolved == {r.resolution.conflict: r.event_id for r in resolutions}
    assert sum(changes) == len(resolutions)  # each conflict changed the ledger exactly once
    assert ledger.apply_all(resolutions[i] for i in order) == ledger  # replaying everything changes nothing
    via_bytes = [parse_central_event(resolutions[i].raw) for i in reversed(order)]
    assert ResolutionLedger().apply_all(via_bytes) == ledger  # order and re-parsing do not matter


@PROPERTY
@given(resolutions_and_deliveries(), st.data())
def test_a_competing_second_resolution_never_replaces_the_first(case, data):
    resolutions, order = case
    target = data.draw(st.integers(0, len(resolutions) - 1))
    original = resolutions[target].resolution
    rival = build_resolution(
        network=NETWORK,
        conflict=original.conflict,
        conflict_class=original.conflict_class,
        events=original.events,
        outcome="rival_outcome",
        aggregate_kind="case",
        aggregate_id=CASE,
        issued_ms=T0 + 999,
        central_key=CENTRAL_KEY,
    )
    at = data.draw(st.integers(0, len(order)))
    stream = [resolutions[i] for i in order[:at]] + [rival] + [resolutions[i] for i in order[at:]]
    ledger = ResolutionLedger()
    refused = 0
    for event in stream:
        try:
            ledger, _ = ledger.apply(event)
        except ResolutionConflictError:
            refused += 1
    winner = ledger.resolved[original.conflict]
    assert winner in (rival.event_id, resolutions[target].event_id)
    assert refused == sum(
        1 for e in stream if e.resolution.conflict == original.conflict and e.event_id != winner
    )
