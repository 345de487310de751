"""huey tasks: thin wrappers that bind the database and call services.

Tasks are registered per app on that app's own huey (``<instance>/huey.db``), so two stations in one process
keep separate queues.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from huey import MemoryHuey, SqliteHuey, crontab
from huey.api import Huey

from . import db as dbmod
from .services import sync as sync_service
from .services.backup import backup_database, backup_is_due
from .services.home import refresh_open_cases


def create_huey(app: Flask) -> Huey:
    node = app.extensions["station"]
    instance = Path(app.config["INSTANCE_PATH"])
    huey: Huey
    if app.config["HUEY_IMMEDIATE"]:
        huey = MemoryHuey(f"station-{instance.name}", immediate=True)
    else:
        huey = SqliteHuey(f"station-{instance.name}", filename=str(instance / "huey.db"))

    @huey.periodic_task(crontab(minute="*/10"), name="station.scheduled_backup")
    def scheduled_backup() -> str | None:
        if not backup_is_due(instance / "backups", app.config["BACKUP_INTERVAL_HOURS"]):
            return None
        return str(backup_database(node.db_path, instance / "backups"))

    @huey.periodic_task(crontab(minute="5", hour="*"), name="station.refresh_lights")
    def refresh_lights() -> int:
        with dbmod.bound(node.database):
            return refresh_open_cases()

    @huey.periodic_task(crontab(minute="*"), name="station.periodic_sync")
    def periodic_sync() -> dict | None:
        with dbmod.bound(node.database):
            if not sync_service.sync_is_due(node):
                return None
            return sync_service.run_sync(node, trigger="schedule")

    @huey.task(name="station.sync_now")
    def sync_now() -> dict:
        with dbmod.bound(node.database):
            return sync_service.run_sync(node, trigger="button")

    app.extensions["station_tasks"] = {
        "scheduled_backup": scheduled_backup,
        "refresh_lights": refresh_lights,
        "periodic_sync": periodic_sync,
        "sync_now": sync_now,
    }
    return huey
