"""The raw limit of bench/central.py: the rows central's ingest stored, batch by batch, written again with nothing
but ``executemany`` in one transaction per batch — stdlib ``sqlite3`` on SQLite, ``psycopg`` on PostgreSQL — into
tables made by central's own migrations (same columns, indexes and durability pragmas)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from central.db import SQLITE_PRAGMAS, bind_database, database
from central.migrations import migrate
from central.models import CaseRecord
from central.services.ingest_log import LOG_COLUMNS

CASE_COLUMNS = tuple(f.column_name for f in CaseRecord._meta.sorted_fields)
"""Every column of a case row: the raw side writes whole rows, as central's projection does."""


@dataclass
class RawBatch:
    log_rows: list[tuple[Any, ...]]
    case_rows: list[tuple[Any, ...]]

    @property
    def events(self) -> int:
        return len(self.log_rows)


def rows_written(db_path: Path) -> list[RawBatch]:
    """The rows central's ingest wrote, batch by batch: log rows as stored, and each touched case's row as it
    stood at the end (a case a batch touched is written by that batch)."""
    conn = sqlite3.connect(db_path)
    cases = {row[0]: row for row in conn.execute(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases")}
    batches: dict[int, RawBatch] = {}
    query = (
        f"SELECT batch_id, {', '.join(LOG_COLUMNS)} FROM central_log WHERE batch_id > 0 ORDER BY central_seq"
    )
    for batch_id, *values in conn.execute(query):
        raw = batches.setdefault(batch_id, RawBatch([], []))
        raw.log_rows.append(tuple(values))
    conn.close()
    kind, aggregate = LOG_COLUMNS.index("aggregate_kind"), LOG_COLUMNS.index("aggregate_id")
    for raw in batches.values():
        touched = dict.fromkeys(
            r[aggregate] for r in raw.log_rows if r[kind] == "case" and r[aggregate] in cases
        )
        raw.case_rows = [cases[case_id] for case_id in touched]
    return [batches[k] for k in sorted(batches)]


def upsert_sql(param: str) -> tuple[str, str]:
    """(log insert, case upsert) with ``param`` as the placeholder."""
    log = (
        f"INSERT INTO central_log ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join([param] * len(LOG_COLUMNS))})"
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in CASE_COLUMNS[1:])
    case = (
        f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join([param] * len(CASE_COLUMNS))}) "
        f"ON CONFLICT (case_id) DO UPDATE SET {updates}"
    )
    return log, case


def migrated_sqlite(path: Path) -> Path:
    bind_database(f"sqlite:///{path}")
    migrate()
    database.close()
    return path


def raw_sqlite_seconds(path: Path, batches: list[RawBatch]) -> tuple[float, float]:
    """Seconds for all batches, and of those the seconds spent on the case rows (their share of the limit)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for name, value in SQLITE_PRAGMAS.items():
        conn.execute(f"PRAGMA {name}={value}")
    log_sql, case_sql = upsert_sql("?")
    cases = 0.0
    started = time.perf_counter()
    for raw in batches:
        conn.execute("BEGIN")
        conn.executemany(log_sql, raw.log_rows)
        before = time.perf_counter()
        conn.executemany(case_sql, raw.case_rows)
        cases += time.perf_counter() - before
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, cases


def _pg_values(rows: list[tuple[Any, ...]], datetime_at: tuple[int, ...]) -> list[tuple[Any, ...]]:
    out = []
    for row in rows:
        values = list(row)
        for i in datetime_at:
            values[i] = dt.datetime.fromisoformat(values[i])
        out.append(tuple(values))
    return out


def raw_postgres_seconds(url: str, batches: list[RawBatch]) -> tuple[float, float]:
    import psycopg

    log_at, case_at = (LOG_COLUMNS.index("received_at"),), (CASE_COLUMNS.index("updated_at"),)
    prepared = [(_pg_values(b.log_rows, log_at), _pg_values(b.case_rows, case_at)) for b in batches]
    log_sql, case_sql = upsert_sql("%s")
    cases = 0.0
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for log_rows, case_rows in prepared:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(log_sql, log_rows)
                before = time.perf_counter()
                cursor.executemany(case_sql, case_rows)
                cases += time.perf_counter() - before
        return time.perf_counter() - started, cases
