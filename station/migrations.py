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


def _cases(db: SqliteDatabase) -> None:
    # Projections of the log: rebuilt from events by services.cases; only that module writes them.
    db.execute_sql(
        """CREATE TABLE applicant (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            id_type TEXT NOT NULL,
            id_cipher BLOB NOT NULL,
            id_lookup TEXT NOT NULL,
            id_masked TEXT NOT NULL,
            phone TEXT NOT NULL DEFAULT '',
            address TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )"""
    )
    db.execute_sql("CREATE INDEX applicant_lookup ON applicant (id_lookup)")
    db.execute_sql(
        """CREATE TABLE case_record (
            id TEXT PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,
            station_code TEXT NOT NULL,
            item_code TEXT NOT NULL,
            item_version INTEGER NOT NULL,
            item_name TEXT NOT NULL,
            applicant_id TEXT NOT NULL REFERENCES applicant (id),
            applicant_name TEXT NOT NULL,
            applicant_id_masked TEXT NOT NULL,
            state TEXT NOT NULL,
            received_on TEXT NOT NULL,
            accepted_on TEXT,
            deadline TEXT,
            light TEXT NOT NULL DEFAULT 'none',
            open_gaps INTEGER NOT NULL DEFAULT 0,
            version INTEGER NOT NULL DEFAULT 0,
            last_event_id TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute_sql("CREATE INDEX case_record_state ON case_record (state, deadline)")
    db.execute_sql("CREATE INDEX case_record_applicant ON case_record (applicant_id)")
    db.execute_sql("CREATE INDEX case_record_received ON case_record (received_on)")
    db.execute_sql(
        """CREATE TABLE case_material (
            case_id TEXT NOT NULL REFERENCES case_record (id),
            material_key TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (case_id, material_key)
        )"""
    )


def _case_search(db: SqliteDatabase) -> None:
    # Chinese text is stored one character per token so a two-character name matches; pinyin as syllables and
    # initials; the case number split at '-'.
    db.execute_sql(
        """CREATE VIRTUAL TABLE case_search USING fts5(
            case_id UNINDEXED, number, applicant, pinyin, item, tokenize = 'unicode61'
        )"""
    )


def _downstream(db: SqliteDatabase) -> None:
    # Parts of downstream bundles kept verbatim: applied ones for the record, the rest until the station can
    # apply them (nothing central sends is dropped silently).
    db.execute_sql(
        """CREATE TABLE downstream_part (
            id INTEGER PRIMARY KEY,
            bundle_version INTEGER NOT NULL,
            part_type TEXT NOT NULL,
            part_version INTEGER NOT NULL,
            body BLOB NOT NULL,
            applied INTEGER NOT NULL DEFAULT 0,
            received_at TEXT NOT NULL
        )"""
    )


def _custody(db: SqliteDatabase) -> None:
    # 代办 custody (services.custody writes these): manifests and their folders as drafted and dispatched here,
    # folders registered here from their signed labels (possibly before the case data arrives), 代办委托书 records,
    # and custody issues central routed to this station.
    db.execute_sql(
        """CREATE TABLE custody_manifest (
            id TEXT PRIMARY KEY,
            from_station TEXT NOT NULL,
            to_station TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
            agent TEXT NOT NULL,
            agent_name TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            dispatched_at TEXT,
            dispatched_by TEXT
        )"""
    )
    db.execute_sql(
        """CREATE TABLE custody_folder (
            manifest_id TEXT NOT NULL REFERENCES custody_manifest (id),
            case_id TEXT NOT NULL,
            case_number TEXT NOT NULL,
            item_code TEXT NOT NULL,
            item_name TEXT NOT NULL,
            masked_applicant TEXT NOT NULL,
            material_count INTEGER NOT NULL,
            pages INTEGER NOT NULL DEFAULT 0,
            label TEXT NOT NULL,
            received_at TEXT,
            PRIMARY KEY (manifest_id, case_id)
        )"""
    )
    db.execute_sql("CREATE INDEX custody_folder_case ON custody_folder (case_id)")
    db.execute_sql(
        """CREATE TABLE custody_receipt (
            manifest_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            case_number TEXT NOT NULL,
            item_code TEXT NOT NULL,
            masked_applicant TEXT NOT NULL,
            material_count INTEGER NOT NULL,
            sending_station TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
            label TEXT NOT NULL,
            received_at TEXT NOT NULL,
            received_by TEXT NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY (manifest_id, case_id)
        )"""
    )
    db.execute_sql("CREATE INDEX custody_receipt_case ON custody_receipt (case_id)")
    db.execute_sql(
        """CREATE TABLE custody_authorization (
            event_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            agent_name TEXT NOT NULL,
            powers TEXT NOT NULL,
            full_proxy INTEGER NOT NULL DEFAULT 0,
            signed_on TEXT NOT NULL,
            valid_until TEXT,
            recorded_by TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )"""
    )
    db.execute_sql("CREATE INDEX custody_authorization_case ON custody_authorization (case_id)")
    db.execute_sql(
        """CREATE TABLE custody_issue (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            case_id TEXT NOT NULL,
            case_number TEXT NOT NULL DEFAULT '',
            manifest_id TEXT NOT NULL DEFAULT '',
            since TEXT NOT NULL,
            description_zh TEXT NOT NULL,
            description_en TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            updated_at TEXT NOT NULL
        )"""
    )


def _followups(db: SqliteDatabase) -> None:
    # 差评回访: projection of follow-up tickets for the home page (services.cases writes it from the events).
    db.execute_sql(
        """CREATE TABLE case_followup (
            followup_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL REFERENCES case_record (id),
            due_on TEXT NOT NULL,
            status TEXT NOT NULL
        )"""
    )
    db.execute_sql("CREATE INDEX case_followup_due ON case_followup (status, due_on)")


def _central_case_events(db: SqliteDatabase) -> None:
    # Central's own events about this station's cases (decisions, conflict resolutions) from downstream bundles,
    # kept verbatim and folded into the case view after the station's own events.
    db.execute_sql(
        """CREATE TABLE central_case_event (
            event_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            hlc TEXT NOT NULL,
            body BLOB NOT NULL,
            received_at TEXT NOT NULL
        )"""
    )
    db.execute_sql("CREATE INDEX central_case_event_case ON central_case_event (case_id, hlc)")


def _window_indexes(db: SqliteDatabase) -> None:
    # Found by bench/station.py on 50,000 cases / 500,000 events: the log's head and ranges of it are read by
    # (epoch, seq) without the station column, and the home lists filter open cases by light, deadline and
    # recency; without these every append and every home page scanned a whole table.
    db.execute_sql("CREATE INDEX event_log_position ON event_log (epoch, seq)")
    db.execute_sql("CREATE INDEX case_record_light ON case_record (light, deadline)")
    db.execute_sql("CREATE INDEX case_record_deadline ON case_record (deadline)")
    db.execute_sql("CREATE INDEX case_record_recent ON case_record (created_at, number)")


def _window_speed(db: SqliteDatabase) -> None:
    # Found by bench/station.py (home p95 621 ms, intake p95 239 ms on 50,000 cases):
    # - the clock's calendar_missing flag is stored by project_case so the home lists stop re-folding events. Only
    #   a yellow row without a deadline can carry it; those stay NULL (unknown) until re-projected — the hourly
    #   light refresh does so, and a list meanwhile folds just those rows — every other row is known to be 0.
    # - case_search rows are keyed by case_record's rowid: deleting by the UNINDEXED case_id column scanned the
    #   whole FTS table on every projection. (case_record's rowid is stable: backups copy pages, never VACUUM.)
    db.execute_sql("ALTER TABLE case_record ADD COLUMN calendar_missing INTEGER")
    db.execute_sql(
        "UPDATE case_record SET calendar_missing = 0 WHERE light != 'yellow' OR deadline IS NOT NULL"
    )
    db.execute_sql(
        """CREATE TEMP TABLE case_search_rekeyed AS
           SELECT r.rowid AS record_rowid, s.case_id, s.number, s.applicant, s.pinyin, s.item
           FROM case_search AS s JOIN case_record AS r ON r.id = s.case_id"""
    )
    db.execute_sql("DELETE FROM case_search")
    db.execute_sql(
        """INSERT INTO case_search (rowid, case_id, number, applicant, pinyin, item)
           SELECT record_rowid, case_id, number, applicant, pinyin, item FROM case_search_rekeyed
           GROUP BY record_rowid"""
    )
    db.execute_sql("DROP TABLE temp.case_search_rekeyed")


def _central_versions(db: SqliteDatabase) -> None:
    # The central version of each case/applicant as this station last learned it from a downstream bundle: the
    # base (bv) every event on that aggregate declares, so central can tell a concurrent act from a follow-up.
    db.execute_sql(
        """CREATE TABLE central_version (
            aggregate_kind TEXT NOT NULL,
            aggregate_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (aggregate_kind, aggregate_id)
        )"""
    )


def _pinyin_heteronyms(db: SqliteDatabase) -> None:
    # Search rows index every reading of each name character (services/search.py ``pinyin_tokens``): without
    # pypinyin's phrase dictionary a polyphonic surname (长 Zhǎng, 单 Shàn, 曾 Zēng, 尉迟 Yùchí) was indexed by its
    # common reading only, so "zhang" or "zs" never found 长三. Re-derive the pinyin column of every row.
    from .services.search import pinyin_tokens

    rows = db.execute_sql(
        "SELECT s.rowid, r.applicant_name FROM case_search AS s JOIN case_record AS r ON r.rowid = s.rowid"
    ).fetchall()
    tokens: dict[str, str] = {}
    db.connection().executemany(
        "UPDATE case_search SET pinyin = ? WHERE rowid = ?",
        [(tokens.get(name) or tokens.setdefault(name, pinyin_tokens(name)), rowid) for rowid, name in rows],
    )


def _open_case_indexes(db: SqliteDatabase) -> None:
    # Found by bench/station.py on 50,000 cases / 500,000 events (home 5.4 s):
    # - "is the folder here" reads the station's last hand-over of a case by (aggregate, station) in log order;
    #   SQLite served it from the (station, epoch, seq) key — every event of the station, backwards — since that
    #   also gives the order. With station and the order in the aggregate index it reads the case's few events.
    #   The old (aggregate_kind, aggregate_id) index is this one's prefix.
    # - the home lists read open cases by light; closed cases keep their last light (40,000 yellow rows), so
    #   (light, deadline) scanned them all for 16 open ones. (light, state, deadline) seeks each open state.
    db.execute_sql("DROP INDEX event_log_aggregate")
    db.execute_sql(
        "CREATE INDEX event_log_aggregate ON event_log (aggregate_kind, aggregate_id, station, epoch, seq)"
    )
    db.execute_sql("DROP INDEX case_record_light")
    db.execute_sql("CREATE INDEX case_record_open_light ON case_record (light, state, deadline)")


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
    ("0003_cases", _cases),
    ("0004_case_search", _case_search),
    ("0005_downstream", _downstream),
    ("0006_custody", _custody),
    ("0007_followups", _followups),
    ("0008_central_case_events", _central_case_events),
    ("0009_window_indexes", _window_indexes),
    ("0010_window_speed", _window_speed),
    ("0011_central_versions", _central_versions),
    ("0012_pinyin_heteronyms", _pinyin_heteronyms),
    ("0013_open_case_indexes", _open_case_indexes),
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
