"""The database connection only: a peewee proxy bound at app creation to SQLite or PostgreSQL.

SQLite runs in WAL mode with ``synchronous=full``: central signs acks that promise events are stored, and
``normal`` may lose the last commits on power loss after the ack left — a silent loss the station could never
detect. A process-wide lock serialises writers so waitress threads queue in Python instead of spinning on
SQLITE_BUSY, which keeps write latency predictable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse.db_url import connect as connect_url

from .errors import ConfigError

database = DatabaseProxy()
write_lock = threading.RLock()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 5000,
    "foreign_keys": 1,
    "synchronous": "full",
    "cache_size": -16000,
}


def make_database(url: str) -> Database:
    """Open (lazily) the database named by ``url``: ``sqlite:///path`` or ``postgresql://…``."""
    if url.startswith("sqlite:///"):
        return SqliteDatabase(url[len("sqlite:///") :], pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if url.startswith(("postgresql://", "postgres://")):
        return connect_url(url)
    raise ConfigError(f"DATABASE_URL must start with sqlite:/// or postgresql://, got {url.split(':')[0]}:")


def bind_database(url: str) -> Database:
    """Point the proxy at ``url`` (closing any previous binding) and return the real database."""
    if database.obj is not None and not database.is_closed():
        database.close()
    real = make_database(url)
    database.initialize(real)
    return real


def is_postgres() -> bool:
    return database.obj is not None and not isinstance(database.obj, SqliteDatabase)


@contextmanager
def write_transaction() -> Iterator[None]:
    """One write transaction under the process-wide writer lock."""
    with write_lock:
        database.connect(reuse_if_open=True)
        with database.atomic():
            yield
