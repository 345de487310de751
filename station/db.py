"""The database connection only: a peewee proxy bound per thread to the app's SQLite file.

The proxy is bound per thread (not per process) so two station apps can live in one process — tests and the
demo run a township and a village side by side. SQLite runs in WAL mode with ``synchronous=full``: the station
tells the clerk "saved" after the commit that also appended the event, and ``normal`` could lose that last commit
on power loss, so the log would silently miss work the clerk saw saved. A lock per database file serialises
writers so waitress threads queue in Python instead of spinning on SQLITE_BUSY.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from peewee import DatabaseProxy, SqliteDatabase

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 5000,
    "foreign_keys": 1,
    "synchronous": "full",
    # 2 MB of page cache per connection: waitress runs several threads, each with its own connection.
    "cache_size": -2000,
}


class ThreadBoundDatabaseProxy(DatabaseProxy):
    """A DatabaseProxy whose target is remembered per thread."""

    __slots__ = ("_local",)

    def __setattr__(self, attr: str, value: Any) -> None:
        object.__setattr__(self, attr, value)

    def __init__(self) -> None:
        self._local = threading.local()
        super().__init__()

    @property  # type: ignore[override]
    def obj(self) -> Any:
        return getattr(self._local, "db", None)

    @obj.setter
    def obj(self, value: Any) -> None:
        self._local.db = value


database = ThreadBoundDatabaseProxy()
_write_locks: dict[str, threading.RLock] = {}
_write_locks_guard = threading.Lock()


def open_database(path: Path | str) -> SqliteDatabase:
    """A lazily connecting SQLite database with the station's pragmas."""
    return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False)


def bind(real: SqliteDatabase) -> None:
    """Point this thread's proxy at ``real``."""
    database.initialize(real)


@contextmanager
def bound(real: SqliteDatabase) -> Iterator[SqliteDatabase]:
    """Bind ``real`` for the duration of a block (CLI commands, tasks), restoring the previous binding."""
    previous = database.obj
    database.initialize(real)
    try:
        real.connect(reuse_if_open=True)
        yield real
    finally:
        if not real.is_closed():
            real.close()
        database.initialize(previous)


def _lock_for(real: Any) -> threading.RLock:
    key = str(getattr(real, "database", id(real)))
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.RLock())


@contextmanager
def write_transaction() -> Iterator[None]:
    """One IMMEDIATE write transaction under the per-file writer lock (nested calls join the outer one)."""
    real = database.obj
    if real is None:
        raise RuntimeError("no database bound in this thread")
    with _lock_for(real):
        real.connect(reuse_if_open=True)
        if real.transaction_depth() > 0:
            with real.atomic():
                yield
            return
        with real.atomic(lock_type="IMMEDIATE"):
            yield
