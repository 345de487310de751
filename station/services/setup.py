"""Creating and upgrading an instance on disk."""

from __future__ import annotations

from pathlib import Path

from peewee import SqliteDatabase

from .. import db as dbmod
from ..keystore import create_instance_files
from ..migrations import migrate

DATABASE_FILE = "station.db"


def initialise_instance(instance: Path) -> tuple[list[str], list[str], SqliteDatabase]:
    """Create folders and missing keys, apply pending migrations; return (keys created, migrations, db)."""
    instance = instance.resolve()
    created = create_instance_files(instance)
    database = dbmod.open_database(instance / DATABASE_FILE)
    try:
        applied = migrate(database)
    finally:
        database.close()
    return created, applied, database
