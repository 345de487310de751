"""What services need from the node, without Flask: instance folder, keys, settings and identity helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peewee import SqliteDatabase

from .keystore import InstanceKeys


@dataclass
class NodeContext:
    """The station's runtime handles, shared by views, tasks and CLI commands."""

    instance: Path
    database: SqliteDatabase
    keys: InstanceKeys
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.instance / "station.db"
