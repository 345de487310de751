"""Ordered schema migrations: each a function applied once, recorded in ``schema_migrations``.

Migrations are plain SQL so the schema on disk is exactly what is written here (triggers included), and a
new migration is appended to ``MIGRATIONS`` — never edited once released.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from peewee import SqliteDatabase

from .errors import MigrationError


def _core(db: SqliteDatabase) -> None:
    db.execute_sql("CREATE TABLE node_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute_sql(
        """CREATE TABLE station_identity (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            station_code TEXT NOT NULL,
            name TEXT NOT NULL,
            level TEXT NOT NULL CHECK (level IN ('village', 'township', 'county')),
            parent_code TEXT NOT NULL DEFAULT '',
            network_id TEXT NOT NULL DEFAULT '',
            certificate BLOB,
            central_info TEXT,
            enrolled_at TEXT
        )"""
    )
    db.execute_sql(
        """CREATE TABLE user (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            roles TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        )"""
    )
    db.execute_sql(
        "CREATE TABLE login_failure (id INTEGER PRIMARY KEY, username TEXT NOT NULL, ip TEXT NOT NULL, at TEXT NOT NULL)"
    )
    db.execute_sql("CREATE INDEX login_failure_who ON login_failure (username, ip, at)")
    db.execute_sql(
        """CREATE TABLE login_lock (
            username TEXT NOT NULL, ip TEXT NOT NULL, until TEXT NOT NULL, PRIMARY KEY (username, ip)
        )"""
    )
    db.execute_sql(
        """CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            ip TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    _append_only(db, "audit_log")


def _event_log(db: SqliteDatabase) -> None:
    db.execute_sql(
        """CREATE TABLE event_log (
            id INTEGER PRIMARY KEY,
            station TEXT NOT NULL,
            epoch INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            prev_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            aggregate_kind TEXT NOT NULL,
            aggregate_id TEXT NOT NULL,
            idempotency_key TEXT UNIQUE,
            body BLOB NOT NULL,
            recorded_at TEXT NOT NULL,
            UNIQUE (station, epoch, seq)
        )"""
    )
    db.execute_sql("CREATE INDEX event_log_aggregate ON event_log (aggregate_kind, aggregate_id)")
    _append_only(db, "event_log")


def _append_only(db: SqliteDatabase, table: str) -> None:
    for verb in ("UPDATE", "DELETE"):
        db.execute_sql(
            f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
        )


Migration = tuple[str, Callable[[SqliteDatabase], None]]

MIGRATIONS: tuple[Migration, ...] = (
    ("0001_core", _core),
    ("0002_event_log", _event_log),
)


def _ensure_table(db: SqliteDatabase) -> None:
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
    )


def applied_migrations(db: SqliteDatabase) -> list[str]:
    """Names of the migrations recorded in the database, in order of application."""
    _ensure_table(db)
    return [row[0] for row in db.execute_sql("SELECT name FROM schema_migrations ORDER BY rowid")]


def pending_migrations(db: SqliteDatabase) -> list[str]:
    """Names this program knows that the database has not applied yet.

    Raises:
        MigrationError: the database has migrations this program does not know (it is newer).
    """
    done = applied_migrations(db)
    known = [name for name, _ in MIGRATIONS]
    unknown = [name for name in done if name not in known]
    if unknown:
        raise MigrationError(f"database has migrations this program does not know: {', '.join(unknown)}")
    return [name for name in known if name not in done]


def migrate(db: SqliteDatabase) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied."""
    db.connect(reuse_if_open=True)
    todo = set(pending_migrations(db))
    applied = []
    for name, function in MIGRATIONS:
        if name not in todo:
            continue
        try:
            with db.atomic(lock_type="IMMEDIATE"):
                function(db)
                db.execute_sql(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (name, datetime.now(UTC).isoformat(timespec="seconds")),
                )
        except Exception as e:
            raise MigrationError(f"migration {name} failed: {e}") from e
        applied.append(name)
    return applied
