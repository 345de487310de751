"""Signed QR payloads for receipts and custody labels: round trip, tamper, wrong kind, unknown key, fuzz."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_protocol.errors import (
    MalformedError,
    ProtocolError,
    SignatureError,
    SizeLimitError,
    UnknownKeyError,
)
from sync_protocol.receipts import (
    CUSTODY,
    RECEIPT,
    b64url_decode,
    b64url_encode,
    key_reference,
    parse_qr_payload,
    sign_qr_payload,
    verify_qr_payload,
)

CASE_ID = "6f1c2a7e-3b9d-4c1e-9a8b-2d4e6f8a0b1c"
RECEIPT_FIELDS = {
    "case_id": CASE_ID,
    "case_number": "990101101000-GF00201000-20261123-V01-0007",
    "item_code": "990101101000-GF00201000",
    "station_id": "990101101201",
    "issued_on": "2026-11-23",
    "doc_type": "mr",
}
CUSTODY_FIELDS = {
    "case_id": CASE_ID,
    "case_number": "990101101000-GF00201000-20261123-V01-0007",
    "item_code": "990101101000-GF00201000",
    "sending_station": "990101101201",
    "masked_applicant": "张*明",
    "material_count": 6,
    "manifest_id": "JJ-V01-20261123-02",
}


class StationKey:
    def __init__(self, seed: int) -> None:
        private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"station-%d" % seed).digest())
        self.private_raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        self.public_raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.public_raw).hexdigest()


STATION = StationKey(1)
OTHER = StationKey(2)


def registry(*keys: StationKey):
    def lookup(key_ref: str) -> bytes | None:
        for key in keys:
            if key.key_id.startswith(key_ref):
                return key.public_raw
        return None

    return lookup


def signed_receipt(**changes: object) -> str:
    return sign_qr_payload(RECEIPT, {**RECEIPT_FIELDS, **changes}, STATION.private_raw, STATION.key_id)


def test_receipt_round_trip_returns_the_signed_fields():
    text = signed_receipt()
    assert verify_qr_payload(text, registry(STATION)) == RECEIPT_FIELDS
    kind, fields, key_ref, signature = parse_qr_payload(text)
    assert (kind, fields, key_ref, len(signature)) == (RECEIPT, RECEIPT_FIELDS, STATION.key_id[:16], 64)


def test_custody_round_trip_returns_the_signed_fields():
    text = sign_qr_payload(CUSTODY, CUSTODY_FIELDS, STATION.private_raw, STATION.key_id)
    assert verify_qr_payload(text, registry(STATION), expected_kind=CUSTODY) == CUSTODY_FIELDS


def test_payloads_stay_short_enough_to_scan():
    assert len(signed_receipt()) < 300
    assert len(sign_qr_payload(CUSTODY, CUSTODY_FIELDS, STATION.private_raw, STATION.key_id)) < 320


def test_signing_is_deterministic_and_accepts_a_short_key_reference():
    assert signed_receipt() == sign_qr_payload(
        RECEIPT, RECEIPT_FIELDS, STATION.private_raw, STATION.key_id[:16]
    )


def test_case_id_is_returned_in_canonical_uuid_form():
    text = signed_receipt(case_id=CASE_ID.upper())
    assert verify_qr_payload(text, registry(STATION))["case_id"] == CASE_ID


def test_tampered_field_fails_verification():
    prefix, kind, body, signature = signed_receipt().split(".")
    forged_body = b64url_encode(b64url_decode(body, "body").replace(b"V01-0007", b"V01-0008"))
    with pytest.raises(SignatureError):
        verify_qr_payload(".".join((prefix, kind, forged_body, signature)), registry(STATION))


def test_tampered_signature_fails_verification():
    prefix, kind, body, signature = signed_receipt().split(".")
    raw = bytearray(b64url_decode(signature, "sig"))
    raw[10] ^= 0x01
    with pytest.raises(SignatureError):
        verify_qr_payload(".".join((prefix, kind, body, b64url_encode(bytes(raw)))), registry(STATION))


def test_receipt_relabelled_as_custody_is_rejected():
    prefix, _kind, body, signature = signed_receipt().split(".")
    with pytest.raises(MalformedError):
        verify_qr_payload(".".join((prefix, CUSTODY, body, signature)), registry(STATION))


def test_wrong_expected_kind_is_rejected():
    with pytest.raises(MalformedError, match="expected"):
        verify_qr_payload(signed_receipt(), registry(STATION), expected_kind=CUSTODY)


def test_unknown_key_is_rejected():
    with pytest.raises(UnknownKeyError):
        verify_qr_payload(signed_receipt(), registry(OTHER))


def test_registry_returning_another_key_is_a_signature_failure():
    with pytest.raises(SignatureError):
        verify_qr_payload(signed_receipt(), lambda _ref: OTHER.public_raw)


def test_payload_signed_by_another_station_claiming_our_key_id_fails():
    text = sign_qr_payload(RECEIPT, RECEIPT_FIELDS, OTHER.private_raw, STATION.key_id)
    with pytest.raises(SignatureError):
        verify_qr_payload(text, registry(STATION, OTHER))


@pytest.mark.parametrize("cut", [1, 5, 40, 120, 200])
def test_truncated_payload_is_rejected(cut: int):
    text = signed_receipt()
    with pytest.raises((MalformedError, SignatureError)):
        verify_qr_payload(text[:-cut], registry(STATION))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "YCB1",
        "YCB2.r.AAAA.AAAA",
        "YCB1.x.AAAA.AAAA",
        "YCB1.r.AAAA.AAAA.AAAA",
        "YCB1.r.!!!!.AAAA",
        "YCB1.r.AAAA=.AAAA",
        "https://example.invalid/receipt",
    ],
)
def test_malformed_text_is_rejected(text: str):
    with pytest.raises(MalformedError):
        parse_qr_payload(text)


def test_oversized_payload_is_a_size_limit_error():
    with pytest.raises(SizeLimitError):
        parse_qr_payload("YCB1.r." + "A" * 2000 + ".AAAA")


def test_non_text_is_malformed():
    with pytest.raises(MalformedError):
        parse_qr_payload(b"YCB1.r.AAAA.AAAA")  # type: ignore[arg-type]


def test_non_canonical_base64_is_rejected():
    prefix, kind, body, signature = signed_receipt().split(".")
    # Same bytes, different trailing bits: the last character of an unpadded group may not carry junk.
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) + 1]
    with pytest.raises(MalformedError):
        parse_qr_payload(".".join((prefix, kind, body, signature[:-1] + twin)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"case_id": "not-a-uuid"}, "UUID"),
        ({"issued_on": "2026-02-30"}, "YYYY-MM-DD"),
        ({"issued_on": "20261123"}, "YYYY-MM-DD"),
        ({"station_id": ""}, "non-empty"),
        ({"case_number": "有中文"}, "ASCII"),
        ({"doc_type": "x" * 65}, "64"),
    ],
)
def test_bad_receipt_fields_are_refused_when_signing(changes: dict, message: str):
    with pytest.raises(MalformedError, match=message):
        signed_receipt(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"masked_applicant": "330110198503121236"},
        {"masked_applicant": "张晓明13800138000"},
        {"material_count": -1},
        {"material_count": True},
        {"material_count": "6"},
    ],
)
def test_bad_custody_fields_are_refused_when_signing(changes: dict):
    with pytest.raises(MalformedError):
        sign_qr_payload(CUSTODY, {**CUSTODY_FIELDS, **changes}, STATION.private_raw, STATION.key_id)


def test_missing_or_extra_fields_are_refused():
    fields = dict(RECEIPT_FIELDS)
    del fields["doc_type"]
    with pytest.raises(MalformedError):
        sign_qr_payload(RECEIPT, fields, STATION.private_raw, STATION.key_id)
    with pytest.raises(MalformedError):
        sign_qr_payload(RECEIPT, {**RECEIPT_FIELDS, "extra": "x"}, STATION.private_raw, STATION.key_id)


def test_bad_key_material_is_refused():
    with pytest.raises(MalformedError):
        sign_qr_payload(RECEIPT, RECEIPT_FIELDS, b"short", STATION.key_id)
    with pytest.raises(MalformedError):
        key_reference("ABCDEF0123456789")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses_or_raises_a_protocol_error(text: str):
    with contextlib.suppress(ProtocolError):
        parse_qr_payload(text)


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_single_character_change_is_rejected(position: int, replacement: str):
    text = signed_receipt()
    index = position % len(text)
    mutated = text[:index] + replacement + text[index + 1 :]
    if mutated == text:
        return
    with pytest.raises(ProtocolError):
        verify_qr_payload(mutated, registry(STATION))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([RECEIPT, CUSTODY]))
def test_any_signed_garbage_body_raises_a_protocol_error(body: bytes, kind: str):
    text = f"YCB1.{kind}.{b64url_encode(body)}.{b64url_encode(bytes(64))}"
    with pytest.raises(ProtocolError):
        verify_qr_payload(text, registry(STATION))


# Test vector for docs/PROTOCOL.md: Ed25519 seed 00 01 02 … 1f, the receipt fields above.
VECTOR_SEED = bytes(range(32))
VECTOR_KEY_ID = "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c"
VECTOR_BODY = (
    '["bxwqfjudTB6aiy1Ob4oLHA","990101101000-GF00201000-20261123-V01-0007","990101101000-GF00201000",'
    '"990101101201","20261123","mr","56475aa75463474c"]'
)
VECTOR = (
    "YCB1.r.WyJieHdxZmp1ZFRCNmFpeTFPYjRvTEhBIiwiOTkwMTAxMTAxMDAwLUdGMDAyMDEwMDAtMjAyNjExMjMtVjAxLTAwMDciLCI5OTAx"
    "MDExMDEwMDAtR0YwMDIwMTAwMCIsIjk5MDEwMTEwMTIwMSIsIjIwMjYxMTIzIiwibXIiLCI1NjQ3NWFhNzU0NjM0NzRjIl0."
    "QaG3ierL9zbQ8HJuP9U__NDyPic1E0fCQVbFLaoCduOj2E84UpeX4SbKcSU5KBBFGchUM8iP6qX_akSecVgxDA"
)


def test_vector_matches_the_documented_bytes():
    assert sign_qr_payload(RECEIPT, RECEIPT_FIELDS, VECTOR_SEED, VECTOR_KEY_ID) == VECTOR
    assert b64url_decode(VECTOR.split(".")[2], "body").decode("utf-8") == VECTOR_BODY
    public = (
        Ed25519PrivateKey.from_private_bytes(VECTOR_SEED)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    assert hashlib.sha256(public).hexdigest() == VECTOR_KEY_ID
    assert (
        verify_qr_payload(VECTOR, lambda ref: public if VECTOR_KEY_ID.startswith(ref) else None)
        == RECEIPT_FIELDS
    )
