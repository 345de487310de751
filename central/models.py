"""peewee models of the central store; the same models run on SQLite and PostgreSQL.

Tables marked append-only are protected by database triggers created in migrations.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    AutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    IntegerField,
    Model,
    TextField,
)

from .db import database


def utcnow() -> datetime:
    """Naive UTC timestamp: both SQLite and PostgreSQL store it without a zone, so compare like with like."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database


class User(BaseModel):
    """A person who logs in to central (central_admin or auditor)."""

    username = CharField(max_length=64, unique=True)
    display_name = CharField(max_length=100, default="")
    role = CharField(max_length=32)
    password_hash = CharField(max_length=255)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "users"


class LoginAttempt(BaseModel):
    """One login try, used to throttle guessing per username and IP."""

    username = CharField(max_length=64)
    ip = CharField(max_length=64)
    at = DateTimeField(default=utcnow)
    succeeded = BooleanField()

    class Meta:
        table_name = "login_attempts"
        indexes = ((("username", "ip", "at"), False),)


class AuditEntry(BaseModel):
    """Append-only record of a security-relevant action (审计日志)."""

    id = AutoField()
    at = DateTimeField(default=utcnow)
    actor = CharField(max_length=64)
    action = CharField(max_length=64)
    target = CharField(max_length=200, default="")
    detail = TextField(default="")
    ip = CharField(max_length=64, default="")

    class Meta:
        table_name = "audit_log"


class Station(BaseModel):
    """A registered station (服务站), identified by its 12-digit 统计用区划代码."""

    code = CharField(max_length=12, primary_key=True)
    name = CharField(max_length=100)
    level = CharField(max_length=16)
    parent_code = CharField(max_length=12, null=True)
    status = CharField(max_length=16, default="registered")  # registered → enrolled → revoked
    registered_at = DateTimeField(default=utcnow)
    enrolled_at = DateTimeField(null=True)
    key_id = CharField(max_length=64, null=True)
    revoked_at = DateTimeField(null=True)
    last_contact_at = DateTimeField(null=True)
    clock_skew_ms = BigIntegerField(null=True)

    class Meta:
        table_name = "stations"


class StationKey(BaseModel):
    """One signing (Ed25519) + sealing (X25519) key pair a station enrolled; revocation is by (epoch, seq)."""

    station_code = CharField(max_length=12, index=True)
    key_id = CharField(max_length=64, unique=True)
    sign_public = CharField(max_length=64)
    box_public = CharField(max_length=64)
    enrolled_at = DateTimeField(default=utcnow)
    certificate = BlobField()
    serial = IntegerField(unique=True)
    revoked_after_epoch = IntegerField(null=True)
    revoked_after_seq = BigIntegerField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        table_name = "station_keys"


class TrustDocument(BaseModel):
    """Signed trust documents central published: roots and registry versions, kept verbatim."""

    kind = CharField(max_length=40)  # root | registry | epoch_auth:<station code>
    version = IntegerField()
    body = BlobField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "trust_documents"
        indexes = ((("kind", "version"), True),)


class EnrollmentCode(BaseModel):
    """A one-time enrollment code for one station: a keyed hash to find it, and the code itself encrypted.

    The station proves the code with an HMAC keyed by it (sync_protocol.trust), so central must be able to
    recompute that HMAC: any value that can is as secret as the code, so the code is kept encrypted at rest
    (AES-GCM under keys/field_data.key) rather than pretending a hash would protect it.
    """

    station_code = CharField(max_length=12, index=True)
    code_hash = CharField(max_length=64, unique=True)
    code_sealed = BlobField()
    failed_attempts = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_by = CharField(max_length=64)

    class Meta:
        table_name = "enrollment_codes"


class Batch(BaseModel):
    """A sealed file received from a station (by HTTP or USB) and what ingest decided about it."""

    name = CharField(max_length=200, unique=True)
    sha256 = CharField(max_length=64)
    size = BigIntegerField()
    via = CharField(max_length=8, default="http")
    received_at = DateTimeField(default=utcnow)
    status = CharField(max_length=16, default="stored", index=True)
    reason = CharField(max_length=64, default="")
    detail = TextField(default="")
    station_code = CharField(max_length=12, null=True, index=True)
    epoch = IntegerField(null=True)
    seq_first = BigIntegerField(null=True)
    seq_last = BigIntegerField(null=True)
    event_count = IntegerField(default=0)
    applied_count = IntegerField(default=0)
    duplicate_count = IntegerField(default=0)
    held_count = IntegerField(default=0)
    processed_at = DateTimeField(null=True)
    checkpoint = BlobField(null=True)

    class Meta:
        table_name = "batches"


class LogEvent(BaseModel):
    """The central log: every accepted station event, in central order (central_seq). Append-only."""

    central_seq = AutoField()
    event_id = CharField(max_length=64, unique=True)
    station_code = CharField(max_length=12)
    epoch = IntegerField()
    seq = BigIntegerField()
    prev = CharField(max_length=64)
    event_type = CharField(max_length=64)
    aggregate_kind = CharField(max_length=32, default="")
    aggregate_id = CharField(max_length=64, default="", index=True)
    hlc = CharField(max_length=40, default="")
    rehome_of = CharField(max_length=64, null=True, index=True)
    body = BlobField()
    batch_id = IntegerField()
    received_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "central_log"
        indexes = ((("station_code", "epoch", "seq"), True),)


class StationChain(BaseModel):
    """The head of one (station, epoch) chain as central holds it, so ingest never scans the log."""

    station_code = CharField(max_length=12)
    epoch = IntegerField()
    head_seq = BigIntegerField()
    head_id = CharField(max_length=64)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "station_chains"
        indexes = ((("station_code", "epoch"), True),)


class HeldEvent(BaseModel):
    """An event received beyond a gap: kept, not applied, until its predecessors arrive."""

    station_code = CharField(max_length=12)
    epoch = IntegerField()
    seq = BigIntegerField()
    event_id = CharField(max_length=64)
    body = BlobField()
    batch_id = IntegerField()
    received_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "held_events"
        indexes = ((("station_code", "epoch", "seq", "event_id"), True),)


class QuarantinedEvent(BaseModel):
    """An event kept out of the log for a human: signed by a revoked or unknown key, or a new epoch to review."""

    station_code = CharField(max_length=12, index=True)
    epoch = IntegerField()
    seq = BigIntegerField()
    event_id = CharField(max_length=64)
    reason = CharField(max_length=64)
    body = BlobField()
    batch_id = IntegerField()
    received_at = DateTimeField(default=utcnow)
    released_at = DateTimeField(null=True)

    class Meta:
        table_name = "quarantined_events"
        indexes = ((("station_code", "epoch", "seq", "event_id"), True),)


class ForkEvidence(BaseModel):
    """Two different events claiming one (station, epoch, seq): both kept as proof."""

    station_code = CharField(max_length=12, index=True)
    epoch = IntegerField()
    seq = BigIntegerField()
    held_event_id = CharField(max_length=64)
    incoming_event_id = CharField(max_length=64)
    incoming_body = BlobField()
    batch_id = IntegerField()
    detected_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "fork_evidence"


class Ack(BaseModel):
    """A signed ack central issued to a station, only after the commit it reports."""

    station_code = CharField(max_length=12)
    version = IntegerField()
    created_at = DateTimeField(default=utcnow)
    body = BlobField()

    class Meta:
        table_name = "acks"
        indexes = ((("station_code", "version"), True),)


class CaseRecord(BaseModel):
    """Projection of one case (办件) across all stations, folded from the central log."""

    case_id = CharField(max_length=64, primary_key=True)
    case_number = CharField(max_length=64, default="", index=True)
    item_code = CharField(max_length=64, default="")
    item_name = CharField(max_length=200, default="")
    state = CharField(max_length=32, default="")
    origin_station = CharField(max_length=12, index=True)
    owner_station = CharField(max_length=12, index=True)
    applicant_masked = CharField(max_length=64, default="")
    version = BigIntegerField(default=0)
    updated_at = DateTimeField(default=utcnow)
    data = TextField(default="{}")

    class Meta:
        table_name = "cases"


class Publication(BaseModel):
    """Reference data central publishes to every station: a catalog version or one year's working calendar."""

    kind = CharField(max_length=16)  # catalog | calendar
    key = CharField(max_length=16, default="")  # the year, for calendars
    version = IntegerField()
    data = BlobField()
    sha256 = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)
    created_by = CharField(max_length=64)

    class Meta:
        table_name = "publications"
        indexes = ((("kind", "key", "version"), True),)


class DownstreamBundle(BaseModel):
    """A sealed downstream bundle (下行包) issued to one station, kept verbatim; versions only grow."""

    station_code = CharField(max_length=12)
    version = IntegerField()
    bundle_id = CharField(max_length=64)
    snapshot = BooleanField()
    part_versions = TextField()
    name = CharField(max_length=200)
    data = BlobField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "downstream_bundles"
        indexes = ((("station_code", "version"), True),)


class Conflict(BaseModel):
    """A conflict record (冲突): class A–G, an owner (the station whose event arrived second) and an age.

    ``incoming_applied`` says whether the incoming event counts in the projections; an open conflict keeps it out
    until a person resolves it. Every resolution is also a central event in the log.
    """

    conflict_class = CharField(max_length=1, index=True)
    status = CharField(max_length=16, index=True)  # open | auto_resolved | resolved
    outcome = CharField(max_length=32)
    reason_zh = TextField(default="")
    reason_en = TextField(default="")
    station_code = CharField(max_length=12, index=True)
    aggregate_id = CharField(max_length=64, default="", index=True)
    incoming_event_id = CharField(max_length=64, default="")
    applied_event_ids = TextField(default="[]")
    incoming_applied = BooleanField(default=False)
    batch_id = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    resolved_at = DateTimeField(null=True)
    resolved_by = CharField(max_length=64, default="")
    resolution_event_id = CharField(max_length=64, default="")

    class Meta:
        table_name = "conflicts"


MODELS_0001 = (User, LoginAttempt, AuditEntry, Station, StationKey, TrustDocument, EnrollmentCode)
MODELS_0002 = (Batch, LogEvent, StationChain, HeldEvent, QuarantinedEvent, ForkEvidence, Ack, CaseRecord)
MODELS_0003 = (Publication, DownstreamBundle)
MODELS_0006 = (Conflict,)
APPEND_ONLY_TABLES = ("audit_log", "central_log")
