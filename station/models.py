"""peewee models mapping the tables that ``migrations.py`` creates (the SQL there is the schema of record)."""

from __future__ import annotations

import json
from typing import Any, Self

from peewee import BlobField, BooleanField, CompositeKey, Field, IntegerField, Model, TextField

from .db import database


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False

    @classmethod
    def find(cls, field: Field, value: Any) -> Self | None:
        """The row whose ``field`` equals ``value`` (the first, if several), or None — read with plain SQL for the
        lookups of hot paths: ~30 µs where building the same query per call costs ~240 µs."""
        sql = f'SELECT * FROM "{cls._meta.table_name}" WHERE "{field.column_name}" = ? LIMIT 1'
        return next(iter(cls.raw(sql, value)), None)


class NodeState(BaseModel):
    """Small key → JSON values: HLC, current epoch, last ack, sync status."""

    key = TextField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "node_state"

    @classmethod
    def read(cls, key: str, default: Any = None) -> Any:
        # Plain SQL: pages read several keys per request, and building the query costs 25 times the lookup.
        row = database.execute_sql("SELECT value FROM node_state WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    @classmethod
    def write(cls, key: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        cls.insert(key=key, value=text).on_conflict_replace().execute()


class StationIdentity(BaseModel):
    """Who this station is: code (统计用区划代码), level, parent, and its enrollment with central."""

    id = IntegerField(primary_key=True)
    station_code = TextField()
    name = TextField()
    level = TextField()
    parent_code = TextField(default="")
    network_id = TextField(default="")
    certificate = BlobField(null=True)
    central_info = TextField(null=True)
    enrolled_at = TextField(null=True)

    class Meta:
        table_name = "station_identity"

    @classmethod
    def current(cls) -> StationIdentity | None:
        # Plain SQL (a page asks several times per request; building the query is most of the cost), read afresh
        # each time: a fresh instance the caller may change and save, and an enrollment is seen at once.
        return cls.find(cls.id, 1)


class User(BaseModel):
    username = TextField(unique=True)
    display_name = TextField()
    password_hash = TextField()
    roles = TextField()
    active = BooleanField(default=True)
    created_at = TextField()

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class LoginFailure(BaseModel):
    username = TextField()
    ip = TextField()
    at = TextField()


class LoginLock(BaseModel):
    username = TextField()
    ip = TextField()
    until = TextField()

    class Meta:
        primary_key = False


class AuditLog(BaseModel):
    """Append-only record of security-relevant actions (the table refuses UPDATE and DELETE)."""

    at = TextField()
    actor = TextField()
    action = TextField()
    ip = TextField(default="")
    detail = TextField(default="{}")


class EventLog(BaseModel):
    """The station's hash-chained outbox; ``body`` holds the exact canonical bytes that were hashed."""

    station = TextField()
    epoch = IntegerField()
    seq = IntegerField()
    event_id = TextField(unique=True)
    prev_id = TextField()
    event_type = TextField()
    aggregate_kind = TextField()
    aggregate_id = TextField()
    idempotency_key = TextField(null=True, unique=True)
    body = BlobField()
    recorded_at = TextField()


class Applicant(BaseModel):
    """申请人: the ID number only as ciphertext, a keyed lookup hash and a masked form."""

    id = TextField(primary_key=True)
    name = TextField()
    id_type = TextField()
    id_cipher = BlobField()
    id_lookup = TextField(index=True)
    id_masked = TextField()
    phone = TextField(default="")
    address = TextField(default="")
    created_at = TextField()


class CaseRecord(BaseModel):
    """办件: the projection of one case's events, for lists, search and the case page."""

    id = TextField(primary_key=True)
    number = TextField(unique=True)
    station_code = TextField()
    item_code = TextField()
    item_version = IntegerField()
    item_name = TextField()
    applicant_id = TextField()
    applicant_name = TextField()
    applicant_id_masked = TextField()
    state = TextField()
    received_on = TextField()
    accepted_on = TextField(null=True)
    deadline = TextField(null=True)
    light = TextField(default="none")
    calendar_missing = BooleanField(null=True, default=False)
    """The clock stops: a working-day calendar year is missing. NULL on rows not re-projected since 0010."""
    open_gaps = IntegerField(default=0)
    version = IntegerField(default=0)
    last_event_id = TextField(default="")
    created_by = TextField()
    created_at = TextField()
    updated_at = TextField()

    class Meta:
        table_name = "case_record"


class CaseMaterial(BaseModel):
    case_id = TextField()
    material_key = TextField()
    name = TextField()
    status = TextField()

    class Meta:
        table_name = "case_material"
        primary_key = False


class DownstreamPart(BaseModel):
    """One part of an applied downstream bundle, kept verbatim."""

    bundle_version = IntegerField()
    part_type = TextField()
    part_version = IntegerField()
    body = BlobField()
    applied = BooleanField(default=False)
    received_at = TextField()

    class Meta:
        table_name = "downstream_part"


class CaseFollowup(BaseModel):
    """差评回访 ticket of a case: open until the follow-up is closed."""

    followup_id = TextField(primary_key=True)
    case_id = TextField()
    due_on = TextField()
    status = TextField()

    class Meta:
        table_name = "case_followup"


class CentralCaseEvent(BaseModel):
    """An event of central's own log about one of this station's cases (from a downstream bundle)."""

    event_id = TextField(primary_key=True)
    case_id = TextField()
    event_type = TextField()
    hlc = TextField()
    body = BlobField()
    received_at = TextField()

    class Meta:
        table_name = "central_case_event"


class CentralVersion(BaseModel):
    """The central version of a case or applicant as this station last learned it (the base its events declare)."""

    aggregate_kind = TextField()
    aggregate_id = TextField()
    version = IntegerField()

    class Meta:
        table_name = "central_version"
        primary_key = CompositeKey("aggregate_kind", "aggregate_id")


# --- 代办 custody tables (created by migration 0006_custody) --------------------------------------------------------------


class CustodyManifest(BaseModel):
    id = TextField(primary_key=True)
    from_station = TextField()
    to_station = TextField()
    direction = TextField()
    agent = TextField()
    agent_name = TextField()
    created_by = TextField()
    created_at = TextField()
    dispatched_at = TextField(null=True)
    dispatched_by = TextField(null=True)

    class Meta:
        table_name = "custody_manifest"


class CustodyFolder(BaseModel):
    manifest_id = TextField()
    case_id = TextField()
    case_number = TextField()
    item_code = TextField()
    item_name = TextField()
    masked_applicant = TextField()
    material_count = IntegerField()
    pages = IntegerField(default=0)
    label = TextField()
    received_at = TextField(null=True)

    class Meta:
        table_name = "custody_folder"
        primary_key = False


class CustodyReceipt(BaseModel):
    manifest_id = TextField()
    case_id = TextField()
    case_number = TextField()
    item_code = TextField()
    masked_applicant = TextField()
    material_count = IntegerField()
    sending_station = TextField()
    direction = TextField()
    label = TextField()
    received_at = TextField()
    received_by = TextField()
    event_id = TextField()

    class Meta:
        table_name = "custody_receipt"
        primary_key = False


class CustodyAuthorization(BaseModel):
    event_id = TextField(primary_key=True)
    case_id = TextField()
    agent = TextField()
    agent_name = TextField()
    powers = TextField()
    full_proxy = BooleanField(default=False)
    signed_on = TextField()
    valid_until = TextField(null=True)
    recorded_by = TextField()
    recorded_at = TextField()

    class Meta:
        table_name = "custody_authorization"


class CustodyIssue(BaseModel):
    key = TextField(primary_key=True)
    kind = TextField()
    case_id = TextField()
    case_number = TextField(default="")
    manifest_id = TextField(default="")
    since = TextField()
    description_zh = TextField()
    description_en = TextField()
    status = TextField(default="open")
    updated_at = TextField()

    class Meta:
        table_name = "custody_issue"
