"""Restore (恢复): put a backup in place and open a new epoch, so events numbered after the backup can never
collide with the ones central already holds from the lost store (SYNC-DESIGN §3, §7 fork recovery)."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from sync_protocol.events import EPOCH_OPEN, Event, parse_event, rehome_event

from .. import db as dbmod
from ..auth import record_audit
from ..db import write_transaction
from ..errors import InstanceError
from ..migrations import migrate
from ..models import EventLog
from .log import clear_rollback, open_epoch, read_head, rollback_state, store_event, tick_clock

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
    """Open the next epoch and lift the lock. After a fork (central holds other events at our seqs), the epoch is
    a ``fork_recovery`` one and every event of ours from the first forked seq on is re-issued in it as a
    ``rehome`` event naming its original, so nothing staff entered is lost and nothing is applied twice."""
    with write_transaction():
        state = rollback_state() or {}
        head = read_head()
        forked: list[Event] = []
        if state.get("fork_seq") and head is not None:
            rows = (
                EventLog.select(EventLog.body)
                .where((EventLog.epoch == state["epoch"]) & (EventLog.seq >= state["fork_seq"]))
                .order_by(EventLog.seq)
            )
            forked = [
                parse_event(bytes(row.body))
                for row in rows
                if parse_event(bytes(row.body)).type != EPOCH_OPEN
            ]
        clear_rollback()
        opening = open_epoch("fork_recovery" if forked else "restore", actor)
        previous = opening
        for original in forked:
            now = int(time.time() * 1000)
            previous = rehome_event(
                original, epoch=opening.epoch, seq=previous.seq + 1, prev=previous.event_id,
                hlc=tick_clock(now), wall_ms=now, actor=actor,
            )  # fmt: skip
            store_event(previous)
        record_audit(actor, "restore", epoch=opening.epoch, previous_head=opening.prev, rehomed=len(forked))
    return opening


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
