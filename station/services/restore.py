"""Restore (恢复): put a backup in place and open a new epoch, so events numbered after the backup can never
collide with the ones central already holds from the lost store (SYNC-DESIGN §3, §7 fork recovery)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from sync_protocol.events import Event

from .. import db as dbmod
from ..auth import record_audit
from ..db import write_transaction
from ..errors import InstanceError
from ..migrations import migrate
from .log import clear_rollback, open_epoch, read_head

DATABASE_FILE = "station.db"


def put_backup_in_place(instance: Path, backup: Path) -> Path:
    """Move the current store aside (never deleted) and copy ``backup`` into its place; returns the moved file."""
    if not backup.is_file():
        raise InstanceError(f"{backup} is not a backup file")
    current = instance / DATABASE_FILE
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = instance / "backups" / f"replaced-{stamp}.db"
    aside.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        source = current.with_name(current.name + suffix)
        if source.exists():
            shutil.move(source, aside.with_name(aside.name + suffix))
    temp = current.with_name(".restore.tmp")
    shutil.copyfile(backup, temp)
    temp.replace(current)
    return aside


def open_restore_epoch(actor: str = "cli") -> Event:
    """Open the next epoch with reason ``restore`` and lift the rollback lock (inside its own transaction)."""
    with write_transaction():
        clear_rollback()
        event = open_epoch("restore", actor)
        record_audit(actor, "restore", epoch=event.epoch, previous_head=event.prev)
    return event


def restore(instance: Path, backup: Path | None, actor: str = "cli") -> Event:
    """Optionally put ``backup`` in place, migrate, and open a restore epoch."""
    instance = instance.resolve()
    if backup is not None:
        put_backup_in_place(instance, backup)
    database = dbmod.open_database(instance / DATABASE_FILE)
    migrate(database)
    with dbmod.bound(database):
        if read_head() is None:
            raise InstanceError("the restored store has no log yet: there is nothing to continue from")
        return open_restore_epoch(actor)
