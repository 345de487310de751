"""Epoch authorizations: central's signed permission to open a new epoch after a restore (SYNC-DESIGN §7), and
``ingest.decide`` opening such an epoch only with a valid one that names exactly its epoch, reason and link."""

from __future__ import annotations

import pytest

from sync_protocol.authorization import (
    issue_epoch_authorization,
    parse_epoch_authorization,
    verify_epoch_authorization,
)
from sync_protocol.canonical import canonical_bytes, parse_canonical
from sync_protocol.errors import MalformedError, SignatureError, UnknownKeyError, WrongNetworkError
from sync_protocol.ingest import EpochHistory, KeyStatus, Outcome, StationHistory, decide
from sync_protocol.schema import ZERO_ID
from sync_protocol.signed import sign_object

from .support import CENTRAL_KEY, NETWORK, STATION, T0, make_chain, signing_key

OK = KeyStatus(True)
CENTRAL_KEYS = [CENTRAL_KEY.public_raw]
FIRST = make_chain(8)
LINK = (1, 6, FIRST[5].event_id)
RESTORED = make_chain(3, epoch=2, previous_head=LINK, reason="restore")


def authorize(**overrides):
    fields = {
        "network": NETWORK,
        "station_id": STATION,
        "epoch": 2,
        "reason": "restore",
        "previous_head": LINK,
        "issued_ms": T0 + 10**6,
        "central_key": CENTRAL_KEY,
    }
    return issue_epoch_authorization(**{**fields, **overrides})


def history(*authorizations, **extra):
    return StationHistory(
        STATION,
        epochs={1: EpochHistory(8, FIRST[-1].event_id, {e.seq: e.event_id for e in FIRST})},
        epoch_authorizations=tuple(authorizations),
        **extra,
    )


def test_an_authorization_round_trips_and_verifies_under_a_central_key():
    auth = authorize()
    assert parse_epoch_authorization(auth.raw) == auth
    assert verify_epoch_authorization(auth.raw, CENTRAL_KEYS, network=NETWORK).previous_head == LINK
    assert auth.raw.startswith(b"yiciban-signed/v1 epoch_authorization ")
    assert auth.covers(RESTORED[0]) and not auth.covers(RESTORED[1])


def test_verification_refuses_strangers_tampering_and_other_networks():
    with pytest.raises(UnknownKeyError):
        verify_epoch_authorization(
            authorize(central_key=signing_key("intruder")), CENTRAL_KEYS, network=NETWORK
        )
    raw = authorize().raw
    tampered = raw.replace(b'"ep":2', b'"ep":3')
    with pytest.raises(SignatureError):
        verify_epoch_authorization(tampered, CENTRAL_KEYS, network=NETWORK)
    with pytest.raises(WrongNetworkError):
        verify_epoch_authorization(raw, CENTRAL_KEYS, network="prod-net")


@pytest.mark.parametrize(
    "change",
    [
        {"prev_ep": 2},  # not an earlier epoch
        {"prev_ep": 0},  # zeros only all together
        {"prev": ZERO_ID},
        {"reason": "because"},
        {"ep": 0},
        {"extra": 1},
    ],
)
def test_schema_violations_are_malformed(change):
    body = {**parse_canonical(authorize().signed.body), **change}
    with pytest.raises(MalformedError):
        parse_epoch_authorization(sign_object("epoch_authorization", canonical_bytes(body), CENTRAL_KEY))


def test_a_restore_epoch_opens_with_a_valid_authorization():
    result = decide(RESTORED, history(authorize()), key=OK, central_keys=CENTRAL_KEYS)
    assert [d.outcome for d in result.decisions] == [Outcome.OPEN_EPOCH, Outcome.ACCEPT, Outcome.ACCEPT]
    assert result.decisions[0].details == {"authorized_by": "epoch_authorization", "issued": T0 + 10**6}


def test_without_an_authorization_the_epoch_goes_to_review():
    result = decide(RESTORED, history(), key=OK)
    assert [d.outcome for d in result.decisions] == [Outcome.EPOCH_REVIEW, Outcome.GAP, Outcome.GAP]
    opened = result.decisions[0]
    assert opened.reason == "epoch_needs_review"
    assert opened.details == {"epoch_reason": "restore", "link": [1, 6]}


@pytest.mark.parametrize(
    "overrides",
    [
        {"epoch": 3},
        {"reason": "re_enroll"},
        {"previous_head": (1, 5, FIRST[4].event_id)},
        {"previous_head": (1, 6, "ab" * 32)},
        {"station_id": "st-other"},
    ],
)
def test_an_authorization_for_anything_else_does_not_open_the_epoch(overrides):
    result = decide(RESTORED, history(authorize(**overrides)), key=OK, central_keys=CENTRAL_KEYS)
    assert result.decisions[0].outcome is Outcome.EPOCH_REVIEW
    assert "invalid_authorizations" not in result.decisions[0].details


def test_a_forged_or_foreign_network_authorization_is_counted_and_routed_to_review():
    forged = authorize(central_key=signing_key("intruder"))
    foreign = authorize(network="other-net")
    result = decide(RESTORED, history(forged), key=OK, central_keys=CENTRAL_KEYS)
    assert result.decisions[0].outcome is Outcome.EPOCH_REVIEW
    assert result.decisions[0].details["invalid_authorizations"] == 1
    assert decide(RESTORED, history(foreign), key=OK, central_keys=CENTRAL_KEYS).decisions[0].outcome is (
        Outcome.EPOCH_REVIEW
    )
    both = decide(RESTORED, history(forged, authorize()), key=OK, central_keys=CENTRAL_KEYS)
    assert both.decisions[0].outcome is Outcome.OPEN_EPOCH


def test_authorizations_without_keys_to_check_them_are_a_caller_bug():
    with pytest.raises(ValueError):
        decide(RESTORED, history(authorize()), key=OK)


def test_a_reinstall_over_existing_history_needs_an_authorization_naming_no_link():
    reinstall = make_chain(2, epoch=2, reason="re_enroll")
    assert decide(reinstall, history(), key=OK).decisions[0].reason == "epoch_needs_review"
    fresh = authorize(reason="re_enroll", previous_head=None)
    result = decide(reinstall, history(fresh), key=OK, central_keys=CENTRAL_KEYS)
    assert [d.outcome for d in result.decisions] == [Outcome.OPEN_EPOCH, Outcome.ACCEPT]


def test_a_re_enrollment_certificate_epoch_still_authorizes_any_held_link():
    result = decide(RESTORED, history(authorized_epochs=frozenset({2})), key=OK)
    assert result.decisions[0].outcome is Outcome.OPEN_EPOCH
    assert result.decisions[0].details == {"authorized_by": "certificate"}


def test_an_epoch_held_for_review_opens_when_decided_again_with_its_authorization():
    """Central re-decides held epoch.open events after it issues an authorization (like unknown_key files)."""
    first = decide(RESTORED, history(), key=OK)
    held = {d.event.seq: d.event.event_id for d in first.decisions}
    epochs = {
        1: EpochHistory(8, FIRST[-1].event_id, {e.seq: e.event_id for e in FIRST}),
        2: EpochHistory(0, ZERO_ID, {}, held),
    }
    again = decide(
        RESTORED,
        StationHistory(STATION, epochs=epochs, epoch_authorizations=(authorize(),)),
        key=OK,
        central_keys=CENTRAL_KEYS,
    )
    assert [d.outcome for d in again.decisions] == [Outcome.OPEN_EPOCH, Outcome.ACCEPT, Outcome.ACCEPT]


def test_an_authorizations_part_carries_several_and_refuses_bad_framing():
    from sync_protocol.authorization import encode_authorizations, parse_authorizations

    several = [authorize(), authorize(epoch=3, previous_head=(2, 3, RESTORED[-1].event_id))]
    part = encode_authorizations(several)
    assert parse_authorizations(part) == several
    assert parse_authorizations(b"") == []
    for broken in (part[:-1], b"\n" + part, part.replace(b"yiciban-signed/v1 ", b"yiciban-signed/v2 ", 1)):
        with pytest.raises(MalformedError):
            parse_authorizations(broken)


def test_a_recorded_fork_never_authorizes_an_epoch_linked_to_nothing():
    from_nothing = make_chain(2, epoch=2, reason="fork_recovery")
    assert (
        decide(from_nothing, history(has_open_fork=True), key=OK).decisions[0].outcome is Outcome.EPOCH_REVIEW
    )
