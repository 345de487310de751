"""Large blobs as sealed, content-addressed files: naming, verification, resumable chunks, dedup."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_protocol import blobs, seal
from sync_protocol.canonical import canonical_bytes
from sync_protocol.errors import (
    BlobMismatchError,
    MalformedError,
    NonCanonicalError,
    ProtocolError,
    SealError,
    SizeLimitError,
)
from sync_protocol.events import AttachmentRef

_private = X25519PrivateKey.generate()
PRIVATE = _private.private_bytes_raw()
PUBLIC = _private.public_key().public_bytes_raw()
SCAN = os.urandom(300_000)


def test_sealed_blob_is_named_by_the_content_hash_and_opens_verified() -> None:
    sealed = blobs.seal_blob(SCAN, "image/jpeg", [PUBLIC])
    digest = hashlib.sha256(SCAN).hexdigest()
    assert sealed.name == f"blob-{digest}.age" == blobs.blob_file_name(sealed.ref.sha256)
    assert sealed.ref == blobs.BlobRef(digest, len(SCAN), "image/jpeg")
    assert sealed.sealed_sha256 == hashlib.sha256(sealed.data).hexdigest()
    ref, content = blobs.open_blob(sealed.data, [PRIVATE], expected=sealed.ref, expected_sha256=digest)
    assert (ref, content) == (sealed.ref, SCAN)


def test_name_and_ref_carry_no_content_or_personal_data() -> None:
    sealed = blobs.seal_blob("身份证 张三 110101199003071234".encode(), "text/plain", [PUBLIC])
    assert sealed.name.isascii() and sealed.name == sealed.name.lower()
    assert blobs.parse_blob_file_name(sealed.name) == sealed.ref.sha256


def test_empty_blob_round_trips() -> None:
    sealed = blobs.seal_blob(b"", "application/pdf", [PUBLIC])
    assert blobs.open_blob(sealed.data, [PRIVATE]) == (sealed.ref, b"")


def test_same_content_seals_to_different_bytes_under_one_name() -> None:
    first, second = (blobs.seal_blob(b"scan", "image/png", [PUBLIC]) for _ in range(2))
    assert first.name == second.name and first.data != second.data


@pytest.mark.parametrize(
    "expected",
    [
        blobs.BlobRef(hashlib.sha256(b"other").hexdigest(), len(SCAN), "image/jpeg"),
        blobs.BlobRef(hashlib.sha256(SCAN).hexdigest(), len(SCAN) - 1, "image/jpeg"),
        blobs.BlobRef(hashlib.sha256(SCAN).hexdigest(), len(SCAN), "image/png"),
    ],
)
def test_open_blob_refuses_a_blob_other_than_the_referenced_one(expected: blobs.BlobRef) -> None:
    sealed = blobs.seal_blob(SCAN, "image/jpeg", [PUBLIC])
    with pytest.raises(BlobMismatchError):
        blobs.open_blob(sealed.data, [PRIVATE], expected=expected)


def test_open_blob_refuses_content_that_does_not_match_its_file_name() -> None:
    sealed = blobs.seal_blob(SCAN, "image/jpeg", [PUBLIC])
    with pytest.raises(BlobMismatchError):
        blobs.open_blob(sealed.data, [PRIVATE], expected_sha256="0" * 64)


def seal_container(header: bytes, content: bytes) -> bytes:
    return seal.seal(blobs.MAGIC + header + b"\n" + content, [PUBLIC])


def test_open_blob_refuses_a_lying_inner_header() -> None:
    header = canonical_bytes({"mt": "image/png", "sha256": hashlib.sha256(b"a").hexdigest(), "size": 1})
    with pytest.raises(BlobMismatchError):
        blobs.open_blob(seal_container(header, b"b"), [PRIVATE])


@pytest.mark.parametrize(
    ("plaintext", "error"),
    [
        (b"not a blob", MalformedError),
        (blobs.MAGIC + b"{}" * 300, MalformedError),
        (blobs.MAGIC + b'{"mt":"image/png", "sha256":"' + b"0" * 64 + b'","size":0}\n', NonCanonicalError),
        (blobs.MAGIC + b'{"mt":"image/png","size":0}\n', MalformedError),
        (blobs.MAGIC + b'{"mt":"IMAGE","sha256":"' + b"0" * 64 + b'","size":0}\n', MalformedError),
        (blobs.MAGIC + b'{"mt":"image/png","sha256":"' + b"0" * 64 + b'","size":"0"}\n', MalformedError),
    ],
)
def test_open_blob_refuses_malformed_containers(plaintext: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        blobs.open_blob(seal.seal(plaintext, [PUBLIC]), [PRIVATE])


def test_tampered_blob_file_fails_in_the_seal_layer() -> None:
    data = bytearray(blobs.seal_blob(SCAN, "image/jpeg", [PUBLIC]).data)
    data[len(data) // 2] ^= 0x80
    with pytest.raises(SealError):
        blobs.open_blob(bytes(data), [PRIVATE])


@pytest.mark.parametrize("media_type", ["", "image", "Image/JPEG", "image/jpeg; q=1", "图片/jpeg"])
def test_media_types_must_be_lower_case_type_slash_subtype(media_type: str) -> None:
    with pytest.raises(MalformedError):
        blobs.blob_ref(b"x", media_type)


def test_blob_over_the_cap_is_refused_before_sealing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs, "MAX_BLOB_SIZE", 10)
    with pytest.raises(SizeLimitError):
        blobs.seal_blob(b"x" * 11, "image/png", [PUBLIC])


@pytest.mark.parametrize(
    "name", ["blob-" + "A" * 64 + ".age", "blob-abc.age", "batch-x.age", "blob-" + "0" * 64]
)
def test_parse_blob_file_name_rejects_other_names(name: str) -> None:
    with pytest.raises(MalformedError):
        blobs.parse_blob_file_name(name)


# --- resumable transfer ------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=5000), st.integers(1, 700), st.data())
def test_chunks_reassemble_from_any_resume_point(data: bytes, size: int, draws: st.DataObject) -> None:
    start = draws.draw(st.integers(0, len(data)))
    received = data[:start]
    for chunk in blobs.blob_chunks(data, size, start=start):
        assert chunk.offset == len(received) and chunk.total == len(data)
        received += blobs.bytes_to_append(len(received), chunk.offset, chunk.data, chunk.total)
    assert received == data


def test_interrupted_upload_resumes_and_opens() -> None:
    sealed = blobs.seal_blob(SCAN, "image/jpeg", [PUBLIC])
    chunks = list(blobs.blob_chunks(sealed.data, 64 * 1024))
    assert chunks[-1].is_last and not chunks[0].is_last
    received = b""
    for chunk in chunks[:3]:
        received += blobs.bytes_to_append(len(received), chunk.offset, chunk.data, chunk.total)
    for chunk in [chunks[1], *blobs.blob_chunks(sealed.data, 50_000, start=len(received))]:
        received += blobs.bytes_to_append(len(received), chunk.offset, chunk.data, chunk.total)
    assert hashlib.sha256(received).hexdigest() == sealed.sealed_sha256
    assert blobs.open_blob(received, [PRIVATE], expected=sealed.ref)[1] == SCAN


def test_overlapping_resent_chunk_appends_only_the_new_part() -> None:
    assert blobs.bytes_to_append(10, 5, b"0123456789", 20) == b"56789"
    assert blobs.bytes_to_append(10, 0, b"0123456789", 20) == b""


@pytest.mark.parametrize(
    ("held", "offset", "chunk", "total", "error"),
    [
        (10, 11, b"x", 20, MalformedError),
        (10, 10, b"x" * 11, 20, SizeLimitError),
        (-1, 0, b"x", 20, MalformedError),
        (0, 0, b"x", 65 * 1024 * 1024, SizeLimitError),
    ],
)
def test_bytes_to_append_refuses_holes_and_overruns(held, offset, chunk, total, error) -> None:
    with pytest.raises(error):
        blobs.bytes_to_append(held, offset, chunk, total)


def test_blob_chunks_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        list(blobs.blob_chunks(b"abc", 0))
    with pytest.raises(ValueError):
        list(blobs.blob_chunks(b"abc", 2, start=4))
    assert list(blobs.blob_chunks(b"", 10)) == [blobs.BlobChunk(0, b"", 0)]


# --- dedup ---------------------------------------------------------------------------------------------------


def test_dedup_and_missing_blobs_use_the_content_hash() -> None:
    a, b, c = (blobs.blob_ref(x, "image/png") for x in (b"a", b"b", b"c"))
    assert blobs.dedup_refs([a, b, a, c, b]) == [a, b, c]
    assert blobs.missing_blobs([a, b, a, c], held_sha256=[b.sha256]) == [a, c]


def test_one_hash_with_two_sizes_is_refused() -> None:
    a = blobs.blob_ref(b"a", "image/png")
    with pytest.raises(BlobMismatchError):
        blobs.dedup_refs([a, blobs.BlobRef(a.sha256, 2, "image/png")])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64))
def test_random_plaintext_in_a_valid_seal_raises_a_protocol_error(plaintext: bytes) -> None:
    with pytest.raises(ProtocolError):
        blobs.open_blob(seal.seal(blobs.MAGIC + plaintext, [PUBLIC]), [PRIVATE])


def test_a_blob_ref_is_the_attachment_reference_an_event_carries() -> None:
    ref = blobs.seal_blob(b"scan", "image/png", [PUBLIC]).ref
    assert isinstance(ref, AttachmentRef)
    assert blobs.MAGIC + canonical_bytes(ref.to_dict()) + b"\n" + b"scan" == seal.open_sealed(
        blobs.seal_blob(b"scan", "image/png", [PUBLIC]).data, [PRIVATE]
    )
