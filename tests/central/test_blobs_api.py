"""HEAD/PUT /api/v1/blobs/<sha256>: resumable sealed blob uploads, verification, quarantine; inline batch blobs."""

from __future__ import annotations

import hashlib

import pytest

from central.models import AuditEntry
from central.runtime import current_runtime
from central.services.blobs import blob_path
from sync_protocol.batch import InlineBlob, build_batch
from sync_protocol.blobs import open_blob, seal_blob
from sync_protocol.seal import decode_recipient

from .conftest import VILLAGE

CONTENT = b"scan of a household register page " * 2000


@pytest.fixture
def recipients(central_info):
    return [
        decode_recipient(central_info["ingest_recipient"]),
        decode_recipient(central_info["escrow_recipient"]),
    ]


@pytest.fixture
def sealed(recipients):
    return seal_blob(CONTENT, "image/png", recipients)


def put_piece(client, sealed, start, end):
    return client.put(
        f"/api/v1/blobs/{sealed.ref.sha256}",
        data=sealed.data[start:end],
        headers={"Content-Range": f"bytes {start}-{end - 1}/{len(sealed.data)}"},
    )


def test_head_is_404_before_anything_is_held(client, sealed):
    assert client.head(f"/api/v1/blobs/{sealed.ref.sha256}").status_code == 404


def test_an_upload_in_three_pieces_resumes_and_completes(client, sealed):
    size = len(sealed.data)
    cut1, cut2 = size // 3, 2 * size // 3
    first = put_piece(client, sealed, 0, cut1)
    assert first.status_code == 202 and first.get_json() == {
        "status": "partial",
        "sha256": sealed.ref.sha256,
        "held": cut1,
    }
    head = client.head(f"/api/v1/blobs/{sealed.ref.sha256}")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(cut1) and head.headers["X-Blob-Complete"] == "false"

    assert put_piece(client, sealed, cut1, cut2).status_code == 202
    last = put_piece(client, sealed, cut2, size)
    assert last.status_code == 200 and last.get_json()["status"] == "complete"

    head = client.head(f"/api/v1/blobs/{sealed.ref.sha256}")
    assert head.headers["Content-Length"] == str(size) and head.headers["X-Blob-Complete"] == "true"
    stored = blob_path(current_runtime().instance, sealed.ref.sha256)
    ref, content = open_blob(stored.read_bytes(), [current_runtime().keys.ingest.private_raw])
    assert content == CONTENT and ref == sealed.ref


def test_a_piece_at_the_wrong_offset_is_409_with_the_held_length(client, sealed):
    put_piece(client, sealed, 0, 1000)
    for start in (0, 500, 2000):  # a repeat, an overlap, a hole
        response = put_piece(client, sealed, start, start + 1000)
        assert response.status_code == 409
        assert response.headers["X-Blob-Held-Length"] == "1000"
        assert response.get_json()["held"] == 1000
    assert client.head(f"/api/v1/blobs/{sealed.ref.sha256}").headers["Content-Length"] == "1000"


def test_the_same_blob_again_is_idempotent_even_sealed_differently(client, sealed, recipients):
    assert put_piece(client, sealed, 0, len(sealed.data)).status_code == 200
    stored = blob_path(current_runtime().instance, sealed.ref.sha256).read_bytes()
    again = seal_blob(CONTENT, "image/png", recipients)  # sealing is randomised: other bytes, same content
    assert again.data != sealed.data
    response = put_piece(client, again, 0, len(again.data))
    assert response.status_code == 200 and response.get_json()["status"] == "complete"
    assert blob_path(current_runtime().instance, sealed.ref.sha256).read_bytes() == stored


def test_a_whole_file_without_content_range_is_accepted(client, sealed):
    response = client.put(f"/api/v1/blobs/{sealed.ref.sha256}", data=sealed.data)
    assert response.status_code == 200 and response.get_json()["status"] == "complete"


def test_a_blob_under_another_hash_is_quarantined_with_its_reason(client, sealed):
    wrong = hashlib.sha256(b"something else").hexdigest()
    response = client.put(f"/api/v1/blobs/{wrong}", data=sealed.data)
    assert response.status_code == 422 and response.get_json()["error"] == "blob_quarantined"
    instance = current_runtime().instance
    assert client.head(f"/api/v1/blobs/{wrong}").status_code == 404
    assert not blob_path(instance, wrong).exists()
    reasons = list((instance / "quarantine").glob(f"blob-{wrong}.age.*.reason"))
    assert len(reasons) == 1 and reasons[0].read_text().startswith("blob_mismatch")
    entry = AuditEntry.get(AuditEntry.action == "blob_quarantined")
    assert entry.target == f"blob-{wrong}.age"


def test_a_blob_sealed_to_someone_else_is_quarantined(client):
    from sync_protocol.keys import BoxKey

    foreign = seal_blob(CONTENT, "image/png", [BoxKey.generate().public_raw])
    response = client.put(f"/api/v1/blobs/{foreign.ref.sha256}", data=foreign.data)
    assert response.status_code == 422
    assert client.head(f"/api/v1/blobs/{foreign.ref.sha256}").status_code == 404


def test_a_blob_over_the_cap_is_refused_before_reading(app, client, sealed):
    app.config["MAX_BLOB_BYTES"] = 1000
    response = put_piece(client, sealed, 0, 500)
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"
    assert client.head(f"/api/v1/blobs/{sealed.ref.sha256}").status_code == 404


@pytest.mark.parametrize(
    ("sha256", "content_range", "code"),
    [
        ("ABC", "bytes 0-9/10", "bad_name"),
        ("a" * 64, "bytes 5-2/10", "bad_range"),
        ("a" * 64, "items 0-9/10", "bad_range"),
        ("a" * 64, "bytes 0-19/20", "bad_range"),  # body is 10 bytes
    ],
)
def test_bad_names_and_ranges_are_400(client, sha256, content_range, code):
    response = client.put(f"/api/v1/blobs/{sha256}", data=b"x" * 10, headers={"Content-Range": content_range})
    assert response.status_code == 400 and response.get_json()["error"] == code


def test_the_blob_api_needs_no_session_and_no_csrf(instance_path, sealed):
    from central import create_app

    app = create_app({"INSTANCE_PATH": str(instance_path), "HUEY_IMMEDIATE": True, "TESTING": True})
    with app.test_client() as fresh:
        response = fresh.put(f"/api/v1/blobs/{sealed.ref.sha256}", data=sealed.data)
    assert response.status_code == 200


@pytest.mark.usefixtures("stations")
def test_inline_blobs_of_a_batch_are_kept_sealed_at_ingest(client, village, central_info, recipients):
    small = b"\x89PNG small signature image"
    batch = build_batch(
        village.events,
        network=village.network,
        station_id=VILLAGE,
        signing_key=village.signing,
        recipient_keys=recipients,
        bundle_version=0,
        hlc=village.events[-1].hlc,
        wall_ms=village.events[-1].wall_ms,
        blobs=[InlineBlob(small, "image/png")],
    )
    assert client.put(f"/api/v1/files/{batch.name}", data=batch.data).status_code == 202
    sha256 = hashlib.sha256(small).hexdigest()
    head = client.head(f"/api/v1/blobs/{sha256}")
    assert head.status_code == 200 and head.headers["X-Blob-Complete"] == "true"
    ref, content = open_blob(
        blob_path(current_runtime().instance, sha256).read_bytes(),
        [current_runtime().keys.ingest.private_raw],
        expected_sha256=sha256,
    )
    assert content == small and ref.media_type == "image/png"
