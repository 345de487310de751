from __future__ import annotations

import pytest

from sync_protocol.errors import MalformedError, NonCanonicalError, SignatureError, SizeLimitError
from sync_protocol.signed import parse_signed, sign_object

from .support import CENTRAL_KEY, STATION_KEY, signing_key

BODY = b'{"kid":"' + CENTRAL_KEY.key_id.encode() + b'","v":1}'


def test_envelope_round_trips_and_verifies():
    raw = sign_object("ack", BODY, CENTRAL_KEY)
    assert raw.startswith(b"yiciban-signed/v1 ack ") and raw.endswith(b"\n" + BODY)
    signed = parse_signed(raw, "ack")
    assert signed.body == BODY and signed.fields["v"] == 1
    signed.verify(CENTRAL_KEY.public_raw)
    with pytest.raises(SignatureError):
        signed.verify(signing_key("other").public_raw)


def test_signature_of_one_kind_does_not_verify_as_another():
    raw = sign_object("ack", BODY, CENTRAL_KEY).replace(b" ack ", b" registry ", 1)
    with pytest.raises(SignatureError):
        parse_signed(raw, "registry").verify(CENTRAL_KEY.public_raw)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw.replace(b"yiciban-signed/v1", b"yiciban-signed/v2", 1),
        lambda raw: raw.replace(b" ack ", b" registry ", 1),
        lambda raw: raw.replace(b"\n", b" ", 1),
        lambda raw: raw.replace(b" ack ", b" ack  ", 1),
        lambda raw: raw[:40] + raw[40:60].upper() + raw[60:],
        lambda raw: raw[:30] + raw[31:],
        lambda raw: raw + b"\n",
        lambda raw: raw.replace(b"\n", b"\n[1]", 1).replace(BODY, b""),
    ],
)
def test_malformed_envelopes_are_refused(mangle):
    with pytest.raises(MalformedError):
        parse_signed(mangle(sign_object("ack", BODY, CENTRAL_KEY)), "ack")


def test_non_canonical_body_is_refused_even_with_a_valid_signature():
    raw = sign_object("ack", b'{"v": 1}', CENTRAL_KEY)
    with pytest.raises(NonCanonicalError):
        parse_signed(raw, "ack")


def test_size_cap_is_checked_before_parsing():
    with pytest.raises(SizeLimitError):
        parse_signed(b"x" * 101, "ack", max_size=100)


def test_envelopes_join_as_pairs_of_lines_and_split_back():
    from sync_protocol.signed import join_envelopes, split_envelopes

    envelopes = [sign_object("checkpoint", b'{"n":%d}' % i, STATION_KEY) for i in range(3)]
    joined = join_envelopes(envelopes)
    assert joined.count(b"\n") == 6 and split_envelopes(joined, max_items=3) == envelopes
    with pytest.raises(MalformedError):
        split_envelopes(joined, max_items=2)
    with pytest.raises(ValueError):
        join_envelopes([envelopes[0] + b"\n"])
