"""huey tasks: thin wrappers that take names or ids and call services.

The huey object exists at import (tasks register on it); ``configure_huey`` points it at the instance's
huey.db (or Redis) when the app is created.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from .db import database

if TYPE_CHECKING:
    from casework.custody import CustodyLimits

log = logging.getLogger(__name__)

huey = Huey("yiciban-central", storage_class=MemoryStorage, immediate_use_memory=False, utc=True)


def configure_huey(settings: dict[str, Any]) -> Huey:
    if settings.get("REDIS_URL"):
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": settings["REDIS_URL"]}
    else:
        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(Path(settings["INSTANCE_PATH"]) / "huey.db")}
    huey.storage = huey.create_storage()
    huey.immediate = bool(settings.get("HUEY_IMMEDIATE"))
    return huey


@huey.task(retries=2, retry_delay=5)
def ingest_file_task(name: str) -> str:
    """Open, decide and apply one stored inbox file; returns the batch status."""
    from .runtime import current_runtime
    from .services.custody import has_unread_custody_events, refresh_custody
    from .services.ingest import ingest_file

    database.connect(reuse_if_open=True)
    try:
        status = ingest_file(current_runtime(), name).status
        if has_unread_custody_events():  # issues appear and clear as the batches arrive, not when looked at
            refresh_custody(limits=custody_limits())
        return status
    finally:
        # Inline (immediate) runs share the request's connection; only a consumer thread closes its own.
        if not huey.immediate and not database.is_closed():
            database.close()


def custody_limits() -> CustodyLimits:
    """Custody limits from the CUSTODY_* settings; a setting that cannot be read is logged and the defaults hold."""
    from casework.custody import CustodyError, CustodyLimits

    from .runtime import current_runtime

    try:
        return CustodyLimits.from_settings(current_runtime().settings)
    except CustodyError as e:
        log.warning("custody settings: %s", e.text("en"))
        return CustodyLimits()


@huey.periodic_task(crontab(minute="*/15"), name="central.refresh_custody")
def refresh_custody_task(today: str | None = None) -> dict[str, list[str]]:
    """Bring the custody issues (class D) up to date as working days pass; ``today`` (ISO date) is for tests."""
    from .services.custody import refresh_custody

    database.connect(reuse_if_open=True)
    try:
        day = dt.date.fromisoformat(today) if today else None
        result = refresh_custody(day, limits=custody_limits())
        return {"opened": result.opened, "cleared": result.cleared}
    finally:
        if not huey.immediate and not database.is_closed():
            database.close()
