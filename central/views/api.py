"""The machine API v1 (station ↔ central): authenticated by signatures inside the files, so no cookies and no CSRF."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from ..auth import public
from ..errors import UploadError
from ..runtime import current_runtime
from ..services.acks import latest_ack
from ..services.inbox import store_file
from ..tasks import ingest_file_task

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/files/<name>", methods=["PUT"])
@public
def put_file(name: str):
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise UploadError(f"file is larger than {limit} bytes", code="too_large", http_status=413)
    stored = store_file(request.stream, name, instance=current_runtime().instance, max_bytes=limit)
    if stored.duplicate:
        return jsonify({"status": "duplicate", "name": stored.name, "sha256": stored.sha256}), 200
    ingest_file_task(stored.name)
    return jsonify({"status": "stored", "name": stored.name, "sha256": stored.sha256}), 202


@bp.route("/blobs/<sha256>", methods=["HEAD"])
@public
def head_blob(sha256: str):
    """How much of a sealed blob file central holds: 200 with its length, 404 when nothing."""
    from ..services.blobs import blob_state

    state = blob_state(current_runtime().instance, sha256)
    if state is None:
        return Response(status=404)
    response = Response(status=200)
    response.headers["Content-Length"] = str(state.held)
    response.headers["X-Blob-Complete"] = "true" if state.complete else "false"
    response.automatically_set_content_length = False
    return response


@bp.route("/blobs/<sha256>", methods=["PUT"])
@public
def put_blob(sha256: str):
    """One piece of a sealed blob file at the offset in Content-Range; resumable and idempotent."""
    from ..services.blobs import (
        HELD_LENGTH_HEADER,
        BlobOffsetError,
        parse_content_range,
        receive_blob_piece,
    )

    runtime = current_runtime()
    content_range = parse_content_range(request.headers.get("Content-Range"), request.content_length)
    try:
        state = receive_blob_piece(
            request.stream,
            sha256,
            content_range,
            instance=runtime.instance,
            max_bytes=current_app.config["MAX_BLOB_BYTES"],
            identities=[runtime.keys.ingest.private_raw],
        )
    except BlobOffsetError as e:
        response = jsonify({"error": e.code, "message": e.message, "held": e.held})
        response.status_code = 409
        response.headers[HELD_LENGTH_HEADER] = str(e.held)
        return response
    body = {"status": "complete" if state.complete else "partial", "sha256": sha256, "held": state.held}
    response = jsonify(body)
    response.status_code = 200 if state.complete else 202
    response.headers[HELD_LENGTH_HEADER] = str(state.held)
    return response


@bp.route("/stations/<station_code>/ack", methods=["GET"])
@public
def get_ack(station_code: str):
    body = latest_ack(station_code)
    if body is None:
        return jsonify({"error": "no_ack", "message": "no ack for this station yet"}), 404
    return Response(body, status=200, mimetype="application/json")


@bp.route("/stations/<station_code>/bundles", methods=["GET"])
@public
def get_bundle(station_code: str):
    from ..services.bundles import next_bundle

    after = request.args.get("after", "0")
    if not after.isdigit():
        return jsonify({"error": "bad_request", "message": "after must be a non-negative integer"}), 400
    issued = next_bundle(current_runtime(), station_code, int(after))
    if issued is None:
        return Response(status=204)
    response = Response(issued.data, status=200, mimetype="application/octet-stream")
    response.headers["X-Bundle-Version"] = str(issued.version)
    response.headers["Content-Disposition"] = f'attachment; filename="{issued.name}"'
    return response


@bp.route("/info", methods=["GET"])
@public
def get_info():
    """Central's public identity: network id, root and online keys, recipients, trust documents."""
    from ..db import write_transaction
    from ..services.enrollment import central_info, ensure_root_published

    runtime = current_runtime()
    with write_transaction():
        ensure_root_published(runtime.root_document)
    return jsonify(central_info(runtime.identity))


@bp.route("/enroll", methods=["POST"])
@public
def enroll():
    from ..errors import EnrollmentRefusedError
    from ..services.enrollment import enroll_station

    limit = current_app.config["MAX_ENROLL_BYTES"]
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise EnrollmentRefusedError("enrollment request too large", code="too_large", http_status=413)
    runtime = current_runtime()
    reply = enroll_station(
        data, runtime.identity, runtime.cipher, runtime.root_document, request.remote_addr or ""
    )
    from ..services.ingest import reevaluate_unknown_key_batches

    for name in reevaluate_unknown_key_batches():
        ingest_file_task(name)  # files that waited for this station's key
    return jsonify(reply)
