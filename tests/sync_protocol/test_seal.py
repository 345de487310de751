"""age v1 sealing: round trips, key encodings, strict header grammar, and fail-closed behaviour (SYNC-DESIGN §12.3)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_protocol import bech32, seal
from sync_protocol.errors import (
    Bech32Error,
    NoIdentityError,
    ProtocolError,
    SealAuthError,
    SealError,
    SealHeaderError,
    SealTruncatedError,
    SizeLimitError,
)


def new_key() -> tuple[bytes, bytes]:
    private = X25519PrivateKey.generate()
    return private.private_bytes_raw(), private.public_key().public_bytes_raw()


INGEST_PRIVATE, INGEST_PUBLIC = new_key()
ESCROW_PRIVATE, ESCROW_PUBLIC = new_key()
STRANGER_PRIVATE, _ = new_key()
SMALL = seal.seal(b"small sealed batch \xe6\x9d\x8e\xe5\x9b\x9b", [INGEST_PUBLIC, ESCROW_PUBLIC])
MULTI_PLAINTEXT = os.urandom(2 * seal.CHUNK_SIZE + 1234)
MULTI = seal.seal(MULTI_PLAINTEXT, [INGEST_PUBLIC, ESCROW_PUBLIC])


def payload_offset(data: bytes) -> int:
    return seal.parse_header(data).payload_offset


# --- Bech32 and key strings ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["A12UEL5L", "a12uel5l", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"])
def test_bech32_accepts_bip173_valid_strings(text: str) -> None:
    hrp, _ = bech32.decode(text)
    assert hrp.lower() == text[: text.rfind("1")].lower()


@pytest.mark.parametrize(
    "text",
    [
        "A12uEL5L",
        "a12uel5m",
        "pzry9x0s0muk",
        "1pzry9x0s0muk",
        "x1b4n0q5v",
        "li1dgmt3",
        "a1",
        "age1",
        "a12UEL5L",
    ],
)
def test_bech32_rejects_invalid_strings(text: str) -> None:
    with pytest.raises(Bech32Error):
        bech32.decode(text)


def test_age_spec_example_keys_decode_to_the_spec_values() -> None:
    identity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
    recipient = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj"
    private = seal.decode_identity(identity)
    assert private == b"\x42" * 32
    assert seal.encode_identity(private) == identity
    assert seal.encode_recipient(seal.public_key_of(private)) == recipient
    assert seal.decode_recipient(recipient) == seal.public_key_of(private)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=32, max_size=32))
def test_key_strings_round_trip(raw: bytes) -> None:
    assert seal.decode_recipient(seal.encode_recipient(raw)) == raw
    identity = seal.encode_identity(raw)
    assert identity == identity.upper() and identity.startswith("AGE-SECRET-KEY-1")
    assert seal.decode_identity(identity) == raw


@pytest.mark.parametrize(
    "make_text",
    [
        lambda: seal.encode_recipient(ESCROW_PUBLIC).upper(),  # recipients are lower case
        lambda: seal.encode_identity(ESCROW_PRIVATE).lower(),  # identities are upper case
        lambda: seal.encode_identity(ESCROW_PRIVATE),  # an identity is not a recipient
        lambda: bech32.encode("age", b"\x01" * 31),  # wrong length
        lambda: seal.encode_recipient(ESCROW_PUBLIC)[:-1] + "q",  # checksum
    ],
)
def test_decode_recipient_rejects_anything_but_an_age_x25519_recipient(make_text) -> None:
    with pytest.raises(Bech32Error):
        seal.decode_recipient(make_text())


def test_decode_identity_rejects_a_recipient() -> None:
    with pytest.raises(Bech32Error):
        seal.decode_identity(seal.encode_recipient(ESCROW_PUBLIC))


# --- base64 -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [b"AAE=", b"AAF", b"AB", b"A", b"AA==", b"AA\n", b"A-_B", b"AAAA AA"])
def test_base64_rejects_padding_and_non_canonical_forms(text: bytes) -> None:
    with pytest.raises(SealHeaderError):
        seal.b64decode_canonical(text)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=100))
def test_base64_round_trips_canonically(data: bytes) -> None:
    assert seal.b64decode_canonical(seal.b64encode_unpadded(data)) == data


# --- round trips and layout ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size", [0, 1, seal.CHUNK_SIZE - 1, seal.CHUNK_SIZE, seal.CHUNK_SIZE + 1, 3 * seal.CHUNK_SIZE]
)
def test_seal_round_trips_at_chunk_boundaries_with_either_recipient(size: int) -> None:
    plaintext = os.urandom(size)
    sealed = seal.seal(plaintext, [INGEST_PUBLIC, ESCROW_PUBLIC])
    chunks = max(1, -(-size // seal.CHUNK_SIZE))
    assert len(sealed) == payload_offset(sealed) + 16 + size + 16 * chunks
    assert seal.open_sealed(sealed, [INGEST_PRIVATE]) == plaintext
    assert seal.open_sealed(sealed, [STRANGER_PRIVATE, ESCROW_PRIVATE]) == plaintext


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_seal_round_trips_any_plaintext(plaintext: bytes) -> None:
    assert seal.open_sealed(seal.seal(plaintext, [ESCROW_PUBLIC]), [ESCROW_PRIVATE]) == plaintext


def test_header_has_one_x25519_stanza_per_recipient_in_order() -> None:
    header = seal.parse_header(SMALL)
    assert [s.args[0] for s in header.stanzas] == [b"X25519", b"X25519"]
    assert SMALL.startswith(b"age-encryption.org/v1\n-> X25519 ")
    assert header.mac_input.endswith(b"\n---")


def test_sealing_twice_gives_different_bytes() -> None:
    assert seal.seal(b"same", [ESCROW_PUBLIC]) != seal.seal(b"same", [ESCROW_PUBLIC])


def test_unknown_stanza_types_are_ignored() -> None:
    file_key, nonce = os.urandom(16), os.urandom(16)
    stanzas = [
        seal.Stanza(args=(b"example.com/grease", b"x", b"!"), body=os.urandom(70)),
        seal._wrap_file_key(file_key, ESCROW_PUBLIC, os.urandom(32)),
    ]
    payload_key = seal._hkdf(file_key, nonce, b"payload")
    data = seal._encode_header(stanzas, file_key) + nonce + b"".join(seal.encrypt_chunks(payload_key, b"ok"))
    assert seal.open_sealed(data, [ESCROW_PRIVATE]) == b"ok"


# --- wrong keys and bad arguments ---------------------------------------------------------------------------


def test_wrong_identity_raises_no_identity() -> None:
    with pytest.raises(NoIdentityError):
        seal.open_sealed(SMALL, [STRANGER_PRIVATE])
    with pytest.raises(NoIdentityError):
        seal.open_sealed(SMALL, [])


@pytest.mark.parametrize("recipients", [[], [b"\x01" * 31], [bytes(32)]])
def test_seal_refuses_unusable_recipients(recipients: list[bytes]) -> None:
    with pytest.raises(SealError):
        seal.seal(b"x", recipients)


def test_size_caps_apply_to_seal_and_open() -> None:
    with pytest.raises(SizeLimitError):
        seal.seal(b"x" * 1000, [ESCROW_PUBLIC], max_size=999)
    with pytest.raises(SizeLimitError):
        seal.seal(b"x" * 100, [ESCROW_PUBLIC], max_size=200)  # plaintext fits, the header does not
    with pytest.raises(SizeLimitError):
        seal.open_sealed(SMALL, [ESCROW_PRIVATE], max_size=len(SMALL) - 1)


# --- header grammar ------------------------------------------------------------------------------------------


def replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1
    return data.replace(old, new, 1)


def first_share(data: bytes) -> bytes:
    return data.split(b"\n")[1].split(b" ")[2]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: replace_once(d, b"/v1\n", b"/v2\n"), id="version"),
        pytest.param(lambda d: replace_once(d, b"/v1\n", b"/v1\r\n"), id="crlf"),
        pytest.param(lambda d: replace_once(d, b"-> X25519 ", b"->  X25519 "), id="empty-argument"),
        pytest.param(lambda d: replace_once(d, b"-> X25519 ", b"-> X25519 extra "), id="three-arguments"),
        pytest.param(lambda d: replace_once(d, b"-> X25519 ", b"->X25519 "), id="no-space"),
        pytest.param(lambda d: replace_once(d, b"\n---", b"\n--"), id="short-mac-mark"),
        pytest.param(lambda d: replace_once(d, b"\n--- ", b"\n---  "), id="mac-double-space"),
        pytest.param(lambda d: replace_once(d, b"\n--- ", b"\n---"), id="mac-no-space"),
        pytest.param(lambda d: d[: d.index(b"\n") + 1] + d[d.index(b"\n---") + 1 :], id="no-stanza"),
        pytest.param(lambda d: replace_once(d, b"-> X25519 ", b"+> X25519 "), id="unknown-line"),
        pytest.param(lambda d: replace_once(d, first_share(d), first_share(d) + b"="), id="padded-share"),
        pytest.param(lambda d: replace_once(d, first_share(d), first_share(d)[:-1]), id="short-share"),
        pytest.param(
            lambda d: replace_once(d, first_share(d), seal.b64encode_unpadded(bytes(32))), id="zero-share"
        ),
        pytest.param(lambda d: d[: d.index(b"\n---")], id="header-cut"),
    ],
)
def test_malformed_headers_raise_seal_header_error(mutate) -> None:
    with pytest.raises(SealHeaderError):
        seal.open_sealed(mutate(SMALL), [ESCROW_PRIVATE])


def test_non_canonical_share_encoding_is_rejected() -> None:
    share = first_share(SMALL)
    # 32 bytes use 43 characters whose last one carries 2 unused bits: setting one keeps the decoded bytes.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = share[:-1] + bytes([alphabet[alphabet.index(share[-1]) ^ 1]])
    assert seal.base64.b64decode(twin + b"=") == seal.base64.b64decode(share + b"=")
    with pytest.raises(SealHeaderError, match="non-canonical"):
        seal.open_sealed(replace_once(SMALL, share, twin), [ESCROW_PRIVATE])


def test_stanza_body_over_64_columns_is_rejected() -> None:
    body = seal.b64encode_unpadded(os.urandom(60))
    stanza = b"-> grease\n" + body + b"\n"
    with pytest.raises(SealHeaderError, match="64 columns"):
        seal.parse_header(replace_once(SMALL, b"-> X25519", stanza + b"-> X25519"))


def test_stanza_body_ending_with_a_full_line_needs_an_empty_final_line() -> None:
    full = seal.b64encode_unpadded(os.urandom(48))
    assert len(full) == 64
    good = replace_once(SMALL, b"-> X25519", b"-> grease\n" + full + b"\n\n-> X25519")
    assert len(seal.parse_header(good).stanzas) == 3
    bad = replace_once(SMALL, b"-> X25519", b"-> grease\n" + full + b"\n-> X25519")
    with pytest.raises(SealHeaderError):
        seal.parse_header(bad)


def stanza_blocks(data: bytes) -> tuple[bytes, list[bytes], bytes]:
    lines = data[: payload_offset(data)].split(b"\n")
    blocks = [b"\n".join(lines[i : i + 2]) + b"\n" for i in range(1, len(lines) - 2, 2)]
    return lines[0] + b"\n", blocks, data[data.index(b"\n---") + 1 :]


def test_reordered_or_duplicated_stanzas_fail_the_header_mac() -> None:
    version, blocks, rest = stanza_blocks(SMALL)
    assert len(blocks) == 2
    for altered in ([blocks[1], blocks[0]], [blocks[0], blocks[0], blocks[1]], [blocks[1]]):
        with pytest.raises(SealHeaderError, match="MAC"):
            seal.open_sealed(version + b"".join(altered) + rest, [INGEST_PRIVATE, ESCROW_PRIVATE])


def test_header_swapped_between_two_files_fails_closed() -> None:
    other = seal.seal(MULTI_PLAINTEXT, [INGEST_PUBLIC, ESCROW_PUBLIC])
    swapped = MULTI[: payload_offset(MULTI)] + other[payload_offset(other) :]
    with pytest.raises(SealAuthError):
        seal.open_sealed(swapped, [ESCROW_PRIVATE])
    without_nonce = MULTI[: payload_offset(MULTI) + 16] + other[payload_offset(other) + 16 :]
    with pytest.raises(SealAuthError):
        seal.open_sealed(without_nonce, [ESCROW_PRIVATE])


# --- payload: truncation, trailing data, empty final chunk -------------------------------------------------


def test_truncation_at_every_chunk_boundary_is_detected() -> None:
    start = payload_offset(MULTI)
    boundaries = [start, start + 16] + [start + 16 + k * seal.ENCRYPTED_CHUNK_SIZE for k in (1, 2)]
    for cut in boundaries:
        with pytest.raises(SealTruncatedError):
            seal.open_sealed(MULTI[:cut], [ESCROW_PRIVATE])


def test_truncation_inside_a_tag_or_a_chunk_fails_closed() -> None:
    start = payload_offset(MULTI) + 16
    for cut in (start + 5, start + seal.ENCRYPTED_CHUNK_SIZE + 15, len(MULTI) - 1):
        with pytest.raises((SealTruncatedError, SealAuthError)):
            seal.open_sealed(MULTI[:cut], [ESCROW_PRIVATE])


@pytest.mark.parametrize("size", [0, 10, seal.CHUNK_SIZE, 2 * seal.CHUNK_SIZE])
@pytest.mark.parametrize(
    "suffix",
    [b"\x00", bytes(range(16)), bytes(i % 251 for i in range(seal.ENCRYPTED_CHUNK_SIZE))],
    ids=["one-byte", "16-bytes", "a-whole-chunk"],
)
def test_trailing_data_after_the_final_chunk_is_rejected(size: int, suffix: bytes) -> None:
    sealed = seal.seal(os.urandom(size), [ESCROW_PUBLIC])
    with pytest.raises(SealAuthError):
        seal.open_sealed(sealed + suffix, [ESCROW_PRIVATE])


def test_full_final_chunk_followed_by_data_names_the_cause() -> None:
    sealed = seal.seal(os.urandom(seal.CHUNK_SIZE), [ESCROW_PUBLIC])
    with pytest.raises(SealAuthError, match="follows the final chunk"):
        seal.open_sealed(sealed + os.urandom(40), [ESCROW_PRIVATE])


def build_with_chunks(chunks: list[tuple[bytes, bool]]) -> bytes:
    file_key, nonce = os.urandom(16), os.urandom(16)
    stanza = seal._wrap_file_key(file_key, ESCROW_PUBLIC, os.urandom(32))
    aead = seal.ChaCha20Poly1305(seal._hkdf(file_key, nonce, b"payload"))
    body = b"".join(aead.encrypt(seal._chunk_nonce(i, final), c, None) for i, (c, final) in enumerate(chunks))
    return seal._encode_header([stanza], file_key) + nonce + body


def test_empty_final_chunk_after_data_is_rejected() -> None:
    data = build_with_chunks([(os.urandom(seal.CHUNK_SIZE), False), (b"", True)])
    with pytest.raises(SealAuthError, match="empty final chunk"):
        seal.open_sealed(data, [ESCROW_PRIVATE])


def test_final_flag_on_a_middle_chunk_is_rejected() -> None:
    data = build_with_chunks([(os.urandom(seal.CHUNK_SIZE), True), (b"tail", True)])
    with pytest.raises(SealAuthError):
        seal.open_sealed(data, [ESCROW_PRIVATE])


def test_hand_built_stream_matches_what_seal_accepts() -> None:
    data = build_with_chunks([(b"a" * seal.CHUNK_SIZE, False), (b"tail", True)])
    assert seal.open_sealed(data, [ESCROW_PRIVATE]) == b"a" * seal.CHUNK_SIZE + b"tail"


# --- invariant 3 (property-based): any bit flip, truncation or header swap fails closed ----------------------


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_single_bit_flip_fails_closed(data: st.DataObject) -> None:
    sealed = data.draw(st.sampled_from([SMALL, MULTI]))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    with pytest.raises(SealError):
        seal.open_sealed(flip(sealed, bit), [ESCROW_PRIVATE])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_truncation_fails_closed(data: st.DataObject) -> None:
    sealed = data.draw(st.sampled_from([SMALL, MULTI]))
    cut = data.draw(st.integers(0, len(sealed) - 1))
    with pytest.raises(SealError):
        seal.open_sealed(sealed[:cut], [ESCROW_PRIVATE])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_swapping_headers_between_any_two_files_fails_closed(a: bytes, b: bytes) -> None:
    first, second = seal.seal(a, [ESCROW_PUBLIC]), seal.seal(b, [ESCROW_PUBLIC])
    swapped = first[: payload_offset(first)] + second[payload_offset(second) :]
    with pytest.raises(SealError):
        seal.open_sealed(swapped, [ESCROW_PRIVATE])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_or_random_input_raises_only_protocol_errors(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from([SMALL, b"", b"age-encryption.org/v1\n"]))
    position = data.draw(st.integers(0, len(base)))
    deleted = data.draw(st.integers(0, 8))
    inserted = data.draw(st.binary(max_size=12))
    mutated = base[:position] + inserted + base[position + deleted :]
    if mutated == SMALL:
        return
    with pytest.raises(ProtocolError):
        seal.open_sealed(mutated, [ESCROW_PRIVATE])


# --- test vectors (tests/vectors/sealed, explained in docs/PROTOCOL.md) -------------------------------------

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors" / "sealed"


def load_vector_generator():
    spec = importlib.util.spec_from_file_location("sealed_vector_generator", VECTOR_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vector_files_are_reproduced_byte_for_byte() -> None:
    expected = load_vector_generator().build_vectors()
    on_disk = {p.name for p in VECTOR_DIR.iterdir() if p.is_file() and p.name != "generate.py"}
    assert on_disk == set(expected)
    for name, content in expected.items():
        assert (VECTOR_DIR / name).read_bytes() == content, name


def test_vectors_open_with_either_documented_identity() -> None:
    document = json.loads((VECTOR_DIR / "vectors.json").read_text())
    identities = {role: bytes.fromhex(k["private_key"]) for role, k in document["keys"].items()}
    for role, key in document["keys"].items():
        assert seal.decode_identity((VECTOR_DIR / f"{role}-identity.txt").read_text()) == identities[role]
        assert seal.decode_recipient(key["recipient"]).hex() == key["public_key"]
    for record in document["vectors"].values():
        sealed = (VECTOR_DIR / record["sealed_file"]).read_bytes()
        plaintext = (VECTOR_DIR / record["plaintext_file"]).read_bytes()
        assert hashlib.sha256(sealed).hexdigest() == record["sealed_sha256"]
        assert sealed.startswith(record["header"].encode())
        for identity in identities.values():
            assert seal.open_sealed(sealed, [identity]) == plaintext


@pytest.mark.parametrize("recipients", [1, 2, 5])
def test_header_length_matches_the_documented_formula(recipients: int) -> None:
    sealed = seal.seal(b"", [ESCROW_PUBLIC] * recipients)
    assert payload_offset(sealed) == 22 + 98 * recipients + 48
    assert len(sealed) == 22 + 98 * recipients + 48 + 16 + 16


def sealed_with_grease(grease_count: int) -> bytes:
    file_key, nonce = os.urandom(16), os.urandom(16)
    stanzas = [seal.Stanza(args=(b"grease", str(i).encode()), body=b"") for i in range(grease_count)]
    stanzas.append(seal._wrap_file_key(file_key, ESCROW_PUBLIC, os.urandom(32)))
    payload_key = seal._hkdf(file_key, nonce, b"payload")
    return seal._encode_header(stanzas, file_key) + nonce + b"".join(seal.encrypt_chunks(payload_key, b"ok"))


def test_at_most_64_stanzas_are_accepted() -> None:
    assert seal.open_sealed(sealed_with_grease(seal.MAX_STANZAS - 1), [ESCROW_PRIVATE]) == b"ok"
    with pytest.raises(SealHeaderError, match="too many"):
        seal.open_sealed(sealed_with_grease(seal.MAX_STANZAS), [ESCROW_PRIVATE])


@pytest.mark.parametrize("key", ["x" * 32, 42, None, b"\x01" * 33])
def test_keys_must_be_raw_32_byte_values(key: object) -> None:
    with pytest.raises(SealError):
        seal.seal(b"x", [key])  # type: ignore[list-item]
    with pytest.raises(SealError):
        seal.open_sealed(SMALL, [key])  # type: ignore[list-item]
