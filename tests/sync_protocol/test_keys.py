from __future__ import annotations

import pytest

from sync_protocol import tags
from sync_protocol.errors import MalformedError, SignatureError
from sync_protocol.keys import BoxKey, SigningKey, box_public_from_private, key_id, verify_signature


def test_signing_key_round_trips_through_raw_private_bytes():
    key = SigningKey.generate()
    again = SigningKey.from_private_bytes(key.private_bytes())
    assert again.public_raw == key.public_raw
    assert len(key.public_raw) == 32 and len(key.private_bytes()) == 32


def test_key_id_is_sha256_of_raw_public_key():
    import hashlib

    key = SigningKey.generate()
    assert key.key_id == hashlib.sha256(key.public_raw).hexdigest() == key_id(key.public_raw)


def test_signature_verifies_only_under_its_own_tag_and_data():
    key = SigningKey.generate()
    sig = key.sign(tags.ACK, b"body")
    verify_signature(key.public_raw, tags.ACK, b"body", sig)
    with pytest.raises(SignatureError):
        verify_signature(key.public_raw, tags.CHECKPOINT, b"body", sig)
    with pytest.raises(SignatureError):
        verify_signature(key.public_raw, tags.ACK, b"bodY", sig)
    with pytest.raises(SignatureError):
        verify_signature(SigningKey.generate().public_raw, tags.ACK, b"body", sig)


@pytest.mark.parametrize(
    ("public", "signature"),
    [(b"\x00" * 31, b"\x00" * 64), (b"\x00" * 32, b"\x00" * 63), ("x" * 32, b"\x00" * 64)],
)
def test_verify_signature_rejects_malformed_inputs_as_signature_error(public, signature):
    with pytest.raises(SignatureError):
        verify_signature(public, tags.ACK, b"body", signature)


def test_sign_requires_a_domain_tag_ending_in_nul():
    with pytest.raises(ValueError):
        SigningKey.generate().sign(b"no-nul", b"body")


@pytest.mark.parametrize("raw", [b"", b"\x01" * 31, b"\x01" * 33])
def test_private_keys_must_be_32_bytes(raw):
    with pytest.raises(MalformedError):
        SigningKey.from_private_bytes(raw)
    with pytest.raises(MalformedError):
        BoxKey.from_private_bytes(raw)


def test_box_key_exposes_age_recipient_and_identity_strings():
    from sync_protocol.seal import decode_identity, decode_recipient

    box = BoxKey.generate()
    assert box.recipient.startswith("age1")
    assert box.identity.startswith("AGE-SECRET-KEY-1")
    assert decode_recipient(box.recipient) == box.public_raw
    assert decode_identity(box.identity) == box.private_raw
    assert box_public_from_private(box.private_raw) == box.public_raw
    assert BoxKey.from_private_bytes(box.private_bytes()).public_raw == box.public_raw
