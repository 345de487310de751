"""huey tasks: thin wrappers that take names or ids and call services.

The huey object exists at import (tasks register on it); ``configure_huey`` points it at the instance's
huey.db (or Redis) when the app is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from .db import database

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
    from .services.ingest import ingest_file

    database.connect(reuse_if_open=True)
    try:
        return ingest_file(current_runtime(), name).status
    finally:
        # Inline (immediate) runs share the request's connection; only a consumer thread closes its own.
        if not huey.immediate and not database.is_closed():
            database.close()
