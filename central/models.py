"""peewee models of the central store; the same models run on SQLite and PostgreSQL.

Tables marked append-only are protected by database triggers created in migrations.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from peewee import (
    AutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    CompositeKey,
    DateField,
    DateTimeField,
    IntegerField,
    Model,
    TextField,
)

from casework.custody import CONFLICT_CLASS
from casework.deadlines import Light
from casework.kpi import CaseSummary

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
    fold_state = TextField(null=True)
    """The folded case view the row was made from (projections.py; migration m0011): the next events fold onto
    it. NULL: fold the case from its events next time."""

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


class DownstreamSent(BaseModel):
    """A routed event (by its central_seq) a station's bundle carried, and the newest bundle version that carried
    it: a station that applied that version holds it, so later bundles carry only what it does not hold yet
    (bundles.events_part; SYNC-DESIGN §10)."""

    station_code = CharField(max_length=12)
    central_seq = BigIntegerField()
    bundle_version = IntegerField()

    class Meta:
        table_name = "downstream_sent"
        primary_key = CompositeKey("station_code", "central_seq")


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


class DuplicateToken(BaseModel):
    """A case's network duplicate token (class C): the keyed hash of (ID number, item, period) its
    ``case.received`` carried. Equal tokens on two open cases are one person applying twice for one item."""

    token = CharField(max_length=64, index=True)
    case_id = CharField(max_length=64, unique=True)
    station_code = CharField(max_length=12)
    event_id = CharField(max_length=64)
    idempotency_key = CharField(max_length=64, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "duplicate_tokens"


# --- KPI summaries the reports read (created by migration m0004_report_summaries) ---------------------------------


class KpiCaseSummary(BaseModel):
    """One case's KPI summary as of the projection version it was folded from (migration m0004_report_summaries)."""

    case_id = CharField(max_length=64, primary_key=True)
    version = BigIntegerField()
    computed_on = DateField()
    station = CharField(max_length=12, index=True)
    item_code = CharField(max_length=64, default="")
    counted = BooleanField(default=True)  # False: the pinned item version is not in the catalog
    accepted_on = DateField(null=True, index=True)
    completed_on = DateField(null=True)
    deadline = DateField(null=True)
    promised_days = IntegerField(default=0)
    legal_days = IntegerField(null=True)
    immediate = BooleanField(default=False)
    with_gaps = BooleanField(default=False)
    via_proxy = BooleanField(default=False)
    steps = IntegerField(default=0)
    materials = IntegerField(default=0)
    applicant_trips = IntegerField(default=0)
    completed_in_village = BooleanField(default=False)
    rating_levels = TextField(default="")
    bad_ratings_rectified = IntegerField(default=0)
    light = CharField(max_length=8, default=Light.NONE.value)
    clock_running = BooleanField(default=False)
    merged_into = CharField(
        max_length=64, null=True
    )  # a duplicate merged into another case: not a matter of its own
    # The 代办 route's hops (casework.custody.route_times), added by migration m0010_route_times:
    agent_trips = IntegerField(default=0)
    village_hold_days = IntegerField(null=True)
    transit_hops = IntegerField(default=0)
    transit_days = IntegerField(default=0)

    class Meta:
        table_name = "report_case_summaries"

    def to_summary(self) -> CaseSummary:
        return CaseSummary(
            item_code=self.item_code,
            accepted_on=self.accepted_on,
            completed_on=self.completed_on,
            deadline=self.deadline,
            promised_days=self.promised_days,
            legal_days=self.legal_days,
            immediate=self.immediate,
            with_gaps=self.with_gaps,
            via_proxy=self.via_proxy,
            steps=self.steps,
            materials=self.materials,
            applicant_trips=self.applicant_trips,
            completed_in_village=self.completed_in_village,
            rating_levels=tuple(int(v) for v in self.rating_levels.split(",") if v),
            bad_ratings_rectified=self.bad_ratings_rectified,
            station=self.station,
            agent_trips=self.agent_trips,
            village_hold_days=self.village_hold_days,
            transit_hops=self.transit_hops,
            transit_days=self.transit_days,
        )


# --- 代办 custody at central (created by migration m0005_custody) --------------------------------------------------


class CustodyPair(BaseModel):
    """Both phases of one folder on one manifest, as central has heard of them."""

    manifest_id = CharField(max_length=64)
    case_id = CharField(max_length=64, index=True)
    case_number = CharField(max_length=64, default="")
    from_station = CharField(max_length=12, default="")
    to_station = CharField(max_length=12, default="")
    agent = CharField(max_length=64, default="")
    direction = CharField(max_length=8, default="up")
    dispatched_at = CharField(max_length=40, default="")
    dispatch_event = CharField(max_length=64, default="")
    receipts = TextField(default="[]")  # [{"station", "at", "by", "event"}], one per receiving station
    status = CharField(max_length=16, default="in_transit", index=True)

    class Meta:
        table_name = "custody_pairs"
        indexes = ((("manifest_id", "case_id"), True),)


class CustodyHolding(BaseModel):
    """A case's paper waiting at a station (village before forwarding, a result before 送达)."""

    case_id = CharField(max_length=64)
    kind = CharField(max_length=32)
    station_code = CharField(max_length=12)
    since = CharField(max_length=40)
    case_number = CharField(max_length=64, default="")

    class Meta:
        table_name = "custody_holdings"
        indexes = ((("case_id", "kind"), True),)


class CustodyIssue(BaseModel):
    """A custody conflict (class D): open, cleared by itself, or resolved by a human."""

    key = CharField(max_length=200, primary_key=True)
    conflict_class = CharField(max_length=1, default=CONFLICT_CLASS)
    kind = CharField(max_length=32, index=True)
    case_id = CharField(max_length=64, index=True)
    case_number = CharField(max_length=64, default="")
    manifest_id = CharField(max_length=64, default="")
    stations = TextField(default="[]")
    since = CharField(max_length=10)
    age_days = IntegerField(null=True)
    description_zh = TextField()
    description_en = TextField()
    status = CharField(max_length=16, default="open", index=True)  # open | cleared | resolved
    raised_at = DateTimeField(default=utcnow)
    closed_at = DateTimeField(null=True)
    resolved_by = CharField(max_length=64, default="")
    resolution = TextField(default="")
    revision = IntegerField(default=0)
    conflict_id = IntegerField(null=True)  # the Conflict row (class D) in central's conflict queue

    class Meta:
        table_name = "custody_issues"

    @property
    def station_codes(self) -> list[str]:
        return list(json.loads(self.stations))

    def to_conflict(self) -> dict[str, Any]:
        return {
            "class": CONFLICT_CLASS,
            "kind": self.kind,
            "key": self.key,
            "case_id": self.case_id,
            "case_number": self.case_number,
            "manifest_id": self.manifest_id,
            "stations": self.station_codes,
            "since": self.since,
            "age_days": self.age_days,
            "description": {"zh": self.description_zh, "en": self.description_en},
        }


class CustodyCursor(BaseModel):
    """How far central has read its log for custody (central_seq), and a revision counter of the issues."""

    id = IntegerField(primary_key=True)
    central_seq = IntegerField(default=0)
    revision = IntegerField(default=0)

    class Meta:
        table_name = "custody_cursor"


MODELS_0001 = (User, LoginAttempt, AuditEntry, Station, StationKey, TrustDocument, EnrollmentCode)
MODELS_0002 = (Batch, LogEvent, StationChain, HeldEvent, QuarantinedEvent, ForkEvidence, Ack, CaseRecord)
MODELS_0003 = (Publication, DownstreamBundle)
MODELS_0004 = (KpiCaseSummary,)
MODELS_0005 = (CustodyPair, CustodyHolding, CustodyIssue, CustodyCursor)
MODELS_0006 = (Conflict,)
MODELS_0009 = (DuplicateToken,)
MODELS_0012 = (DownstreamSent,)
APPEND_ONLY_TABLES = ("audit_log", "central_log")
