"""Backups of the station store with SQLite's online backup API, written atomically into ``backups/``."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

BACKUP_PREFIX = "station-"


def backup_database(db_path: Path, backups: Path, now: datetime | None = None) -> Path:
    """Copy a consistent snapshot of ``db_path`` to ``backups/station-<UTC time>.db`` and return its path."""
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    backups.mkdir(parents=True, exist_ok=True)
    target = backups / f"{BACKUP_PREFIX}{moment}.db"
    temp = backups / f".{target.name}.tmp"
    temp.unlink(missing_ok=True)
    source = sqlite3.connect(db_path)
    try:
        copy = sqlite3.connect(temp)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        source.close()
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temp, 0o600)
    os.replace(temp, target)
    return target


def latest_backup(backups: Path) -> Path | None:
    found = sorted(backups.glob(f"{BACKUP_PREFIX}*.db"))
    return found[-1] if found else None


def backup_is_due(backups: Path, interval_hours: int, now: datetime | None = None) -> bool:
    last = latest_backup(backups)
    if last is None:
        return True
    stamp = datetime.strptime(last.stem[len(BACKUP_PREFIX) :], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - stamp).total_seconds() >= interval_hours * 3600
