from __future__ import annotations

import pytest

from sync_protocol.errors import (
    EnrollmentError,
    MalformedError,
    RootRotationError,
    SignatureError,
    UnknownKeyError,
    WrongNetworkError,
)
from sync_protocol.trust import (
    check_certificate_matches_request,
    issue_certificate,
    make_enrollment_request,
    make_root,
    parse_certificate,
    rotate_root,
    trust_initial_root,
    update_root,
    verify_certificate,
    verify_enrollment_request,
)

from .support import CENTRAL_KEY, NETWORK, STATION, STATION_BOX, STATION_KEY, T0, signing_key

ROOT_KEY = signing_key("root-1")
ROOT_KEY_2 = signing_key("root-2")
CENTRAL_KEY_2 = signing_key("central-2")


def _root(version=1, *, root_keys=(ROOT_KEY,), central=(CENTRAL_KEY,), signer=ROOT_KEY, network=NETWORK):
    return make_root(
        network=network,
        version=version,
        root_keys=[k.public_raw for k in root_keys],
        central_keys=[k.public_raw for k in central],
        issued_ms=T0,
        signing_key=signer,
    )


def test_initial_root_is_self_signed_and_can_be_pinned():
    root = trust_initial_root(_root().raw, network=NETWORK, pinned_key_id=ROOT_KEY.key_id)
    assert root.version == 1 and root.central_public_for(CENTRAL_KEY.key_id) == CENTRAL_KEY.public_raw
    with pytest.raises(RootRotationError):
        trust_initial_root(_root().raw, network=NETWORK, pinned_key_id=ROOT_KEY_2.key_id)
    with pytest.raises(WrongNetworkError):
        trust_initial_root(_root().raw, network="prod")
    with pytest.raises(RootRotationError):
        trust_initial_root(_root(signer=ROOT_KEY_2).raw, network=NETWORK)


def test_root_rotation_n_to_n_plus_one_is_signed_by_the_old_root():
    first = trust_initial_root(_root().raw, network=NETWORK)
    second_data = _root(2, root_keys=(ROOT_KEY_2,), central=(CENTRAL_KEY_2,), signer=ROOT_KEY).raw
    second = rotate_root(first, second_data)
    assert second.version == 2 and second.central_keys == (CENTRAL_KEY_2.public_raw,)
    third = rotate_root(second, _root(3, root_keys=(ROOT_KEY_2,), signer=ROOT_KEY_2).raw)
    assert third.version == 3


def test_root_signed_only_by_its_own_new_key_is_refused():
    first = trust_initial_root(_root().raw, network=NETWORK)
    with pytest.raises(RootRotationError):
        rotate_root(first, _root(2, root_keys=(ROOT_KEY_2,), signer=ROOT_KEY_2).raw)


def test_root_versions_cannot_be_skipped_or_replayed():
    first = trust_initial_root(_root().raw, network=NETWORK)
    with pytest.raises(RootRotationError):
        rotate_root(first, _root(3).raw)
    with pytest.raises(RootRotationError):
        rotate_root(first, _root(1).raw)


def test_root_with_forged_signature_fails():
    first = trust_initial_root(_root().raw, network=NETWORK)
    data = bytearray(_root(2).raw)
    data[20] ^= 1  # inside the signature hex
    with pytest.raises((SignatureError, MalformedError)):
        rotate_root(first, bytes(data))


def test_update_root_applies_a_chain_and_skips_held_versions():
    first = trust_initial_root(_root().raw, network=NETWORK)
    chain = [_root(3, signer=ROOT_KEY).raw, _root(2).raw, _root(1).raw]
    assert update_root(first, chain).version == 3


def _request(code="482913-771024"):
    return make_enrollment_request(
        network=NETWORK,
        station_id=STATION,
        signing_key=STATION_KEY,
        box_public=STATION_BOX.public_raw,
        code=code,
        wall_ms=T0,
    )


def test_enrollment_request_proves_key_possession_and_the_one_time_code():
    request = verify_enrollment_request(_request(), network=NETWORK, code="482913-771024")
    assert request.sign_public == STATION_KEY.public_raw and request.box_public == STATION_BOX.public_raw
    assert b"482913" not in _request()
    with pytest.raises(EnrollmentError):
        verify_enrollment_request(_request(), network=NETWORK, code="000000-000000")
    with pytest.raises(WrongNetworkError):
        verify_enrollment_request(_request(), network="prod", code=None)


def test_enrollment_request_signed_by_another_key_fails():
    data = _request().replace(
        STATION_KEY.public_raw.hex().encode(), signing_key("x").public_raw.hex().encode()
    )
    with pytest.raises(SignatureError):
        verify_enrollment_request(data, network=NETWORK, code=None)


def _certificate(central=CENTRAL_KEY, level="village"):
    return issue_certificate(
        network=NETWORK,
        station_id=STATION,
        level=level,
        parent="st-330106",
        sign_public=STATION_KEY.public_raw,
        box_public=STATION_BOX.public_raw,
        epoch=1,
        serial=7,
        issued_ms=T0,
        central_key=central,
    )


def test_certificate_verifies_under_the_root_and_matches_the_request():
    root = trust_initial_root(_root().raw, network=NETWORK)
    cert = verify_certificate(_certificate().raw, root, network=NETWORK)
    assert cert.station_key_id == STATION_KEY.key_id and cert.level == "village" and cert.epoch == 1
    check_certificate_matches_request(cert, verify_enrollment_request(_request(), network=NETWORK, code=None))
    assert parse_certificate(cert.raw) == cert


def test_certificate_from_a_key_outside_the_root_is_unknown():
    root = trust_initial_root(_root().raw, network=NETWORK)
    with pytest.raises(UnknownKeyError):
        verify_certificate(_certificate(central=signing_key("rogue")).raw, root, network=NETWORK)


def test_certificate_for_other_keys_does_not_match_request():
    other = make_enrollment_request(
        network=NETWORK,
        station_id=STATION,
        signing_key=signing_key("y"),
        box_public=STATION_BOX.public_raw,
        code="1",
        wall_ms=T0,
    )
    with pytest.raises(EnrollmentError):
        check_certificate_matches_request(
            _certificate(), verify_enrollment_request(other, network=NETWORK, code=None)
        )


def test_unknown_level_is_malformed():
    with pytest.raises(MalformedError):
        _certificate(level="province")
