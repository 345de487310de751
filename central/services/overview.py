"""Counts for the dashboard."""

from __future__ import annotations

from peewee import fn

from ..models import Batch, CaseRecord, Conflict, Station


def _by_status(model, column) -> dict[str, int]:
    return {row[0]: row[1] for row in model.select(column, fn.COUNT(1)).group_by(column).tuples()}


def dashboard_counts() -> dict[str, object]:
    return {
        "stations": _by_status(Station, Station.status),
        "batches": _by_status(Batch, Batch.status),
        "cases": CaseRecord.select().count(),
        "conflicts": _by_status(Conflict, Conflict.status),
    }
