"""Domain-separation tags: one per kind of hashed or signed object, so a signature can never be replayed
as another kind. Each is ASCII, ends with a NUL byte, and is prefixed to the canonical bytes before hashing or
signing. Changing one is a protocol version bump.
"""

from __future__ import annotations

EVENT_ID = b"yiciban/v1/event\x00"
CHECKPOINT = b"yiciban/v1/checkpoint\x00"
ACK = b"yiciban/v1/ack\x00"
BUNDLE = b"yiciban/v1/bundle\x00"
BUNDLE_PART = b"yiciban/v1/bundle-part\x00"
CERTIFICATE = b"yiciban/v1/certificate\x00"
ENROLLMENT_REQUEST = b"yiciban/v1/enrollment-request\x00"
ROOT = b"yiciban/v1/root\x00"
REGISTRY = b"yiciban/v1/registry\x00"
RECEIPT_QR = b"yiciban/v1/receipt-qr\x00"
CUSTODY_QR = b"yiciban/v1/custody-qr\x00"
CENTRAL_EVENT = b"yiciban/v1/central-event\x00"
EPOCH_AUTHORIZATION = b"yiciban/v1/epoch-authorization\x00"
"""Added after v1 shipped: a new tag for a new kind of object (existing tags and vectors are unchanged)."""

ALL = {
    "event_id": EVENT_ID,
    "checkpoint": CHECKPOINT,
    "ack": ACK,
    "bundle": BUNDLE,
    "bundle_part": BUNDLE_PART,
    "certificate": CERTIFICATE,
    "enrollment_request": ENROLLMENT_REQUEST,
    "root": ROOT,
    "registry": REGISTRY,
    "receipt_qr": RECEIPT_QR,
    "custody_qr": CUSTODY_QR,
    "central_event": CENTRAL_EVENT,
    "epoch_authorization": EPOCH_AUTHORIZATION,
}
