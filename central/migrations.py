"""Ordered schema migrations, applied by `init` and checked at start-up, on SQLite and PostgreSQL.

Each migration is a function recorded by name in ``schema_migrations`` once it has run, inside one transaction.
Once a release has shipped, a migration is never edited; schema changes append a new function.
"""

from __future__ import annotations

from collections.abc import Callable

from peewee import Database

from . import models
from .db import database, is_postgres, write_lock
from .errors import MigrationError
from .models import utcnow


def _append_only_sqlite(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
    ]


def _append_only_postgres(table: str) -> list[str]:
    return [
        f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION yiciban_refuse_change()",
    ]


POSTGRES_REFUSE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION yiciban_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME; END $$"
)


def _protect_append_only(db: Database, table: str) -> None:
    if is_postgres():
        db.execute_sql(POSTGRES_REFUSE_FUNCTION)
        statements = _append_only_postgres(table)
    else:
        statements = _append_only_sqlite(table)
    for sql in statements:
        db.execute_sql(sql)


def m0001_accounts_stations(db: Database) -> None:
    """Users, login throttling, the audit log, stations and enrollment codes."""
    db.create_tables(models.MODELS_0001)
    _protect_append_only(db, "audit_log")


def m0002_ingest(db: Database) -> None:
    """Received batches, the central log, chain heads, held events, fork evidence, acks and case projections."""
    db.create_tables(models.MODELS_0002)
    _protect_append_only(db, "central_log")


def m0003_downstream(db: Database) -> None:
    """Published catalogs and calendars, and the downstream bundles issued to stations."""
    db.create_tables(models.MODELS_0003)


def m0004_report_summaries(db: Database) -> None:
    """Per-case KPI summaries the reports keep current (central.services.reports)."""
    db.create_tables(models.MODELS_0004)


def m0005_custody(db: Database) -> None:
    """代办 custody at central: folder pairs, holdings, class-D custody issues (central.services.custody)."""
    db.create_tables(models.MODELS_0005)


def m0006_conflicts(db: Database) -> None:
    """Conflict records (classes A–G) with owner, age and resolution."""
    db.create_tables(models.MODELS_0006)


def m0007_trust_document_kinds(db: Database) -> None:
    """Longer trust document kinds: per-station epoch authorizations are named ``epoch_auth:<station code>``."""
    if is_postgres():
        db.execute_sql("ALTER TABLE trust_documents ALTER COLUMN kind TYPE VARCHAR(40)")
    # SQLite does not enforce VARCHAR lengths: nothing to change there.


def m0008_hot_path_indexes(db: Database) -> None:
    """Ingest reads by index, not by scanning the log: a station's epoch.open events (conflict detection's epoch
    links) and the custody events after the custody cursor."""
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS central_log_station_type ON central_log (station_code, event_type)"
    )
    db.execute_sql("CREATE INDEX IF NOT EXISTS central_log_type_seq ON central_log (event_type, central_seq)")


def m0009_duplicate_tokens(db: Database) -> None:
    """Network duplicate tokens of received cases (conflict class C), matched without the ID number."""
    db.create_tables(models.MODELS_0009)


def m0010_route_times(db: Database) -> None:
    """KPI summaries carry the 代办 route's hop times. The summaries are a cache of the log: the table is made
    again in its current shape and the next report re-folds every case into it."""
    db.drop_tables(models.MODELS_0004)
    db.create_tables(models.MODELS_0004)


def m0011_case_fold_state(db: Database) -> None:
    """Case projections keep the folded view they were made from, so ingest folds only a case's new events.
    Existing rows start without one (NULL): each case is folded from its events the next time it changes. (A
    database made since has the column from m0002, which creates the table in its current shape.)"""
    if "fold_state" not in {column.name for column in db.get_columns("cases")}:
        db.execute_sql("ALTER TABLE cases ADD COLUMN fold_state TEXT")


def m0012_downstream_sent(db: Database) -> None:
    """Which routed events each station's bundles carried: downstream events parts become incremental."""
    db.create_tables(models.MODELS_0012)


MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    m0001_accounts_stations,
    m0002_ingest,
    m0003_downstream,
    m0004_report_summaries,
    m0005_custody,
    m0006_conflicts,
    m0007_trust_document_kinds,
    m0008_hot_path_indexes,
    m0009_duplicate_tokens,
    m0010_route_times,
    m0011_case_fold_state,
    m0012_downstream_sent,
)


def _ensure_table(db: Database) -> None:
    db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name VARCHAR(100) PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
    )


def applied_migrations(db: Database | None = None) -> list[str]:
    db = db or database
    _ensure_table(db)
    return [row[0] for row in db.execute_sql("SELECT name FROM schema_migrations ORDER BY name")]


def pending_migrations(db: Database | None = None) -> list[str]:
    done = set(applied_migrations(db))
    return [m.__name__ for m in MIGRATIONS if m.__name__ not in done]


def migrate(db: Database | None = None) -> list[str]:
    """Apply every pending migration in order; return the names applied."""
    db = db or database
    applied: list[str] = []
    with write_lock:
        db.connect(reuse_if_open=True)
        done = set(applied_migrations(db))
        for migration in MIGRATIONS:
            if migration.__name__ in done:
                continue
            with db.atomic():
                migration(db)
                db.execute_sql(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)"
                    if is_postgres()
                    else "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (migration.__name__, utcnow().isoformat()),
                )
            applied.append(migration.__name__)
    return applied


def check_schema_current(db: Database | None = None) -> None:
    """Refuse to start on a database whose schema is behind the code."""
    pending = pending_migrations(db)
    if pending:
        raise MigrationError(
            f"database schema is behind: pending {', '.join(pending)}; run `yiciban-central init`"
        )
