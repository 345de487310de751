"""peewee models mapping the tables that ``migrations.py`` creates (the SQL there is the schema of record)."""

from __future__ import annotations

import json
from typing import Any

from peewee import BlobField, BooleanField, IntegerField, Model, TextField

from .db import database


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class NodeState(BaseModel):
    """Small key → JSON values: HLC, current epoch, last ack, sync status."""

    key = TextField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "node_state"

    @classmethod
    def read(cls, key: str, default: Any = None) -> Any:
        row = cls.get_or_none(cls.key == key)
        return default if row is None else json.loads(row.value)

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
        return cls.get_or_none(cls.id == 1)


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
