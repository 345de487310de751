"""Publishing reference data (目录与日历发布): catalog versions and yearly working-day calendars.

Files are validated by casework before they are stored; the bytes stored are the bytes stations receive.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources

from peewee import fn

from casework.calendar import load_year_calendar
from casework.catalog import load_catalog
from casework.errors import CalendarFormatError, CatalogFormatError, FormatProblem
from sync_protocol.canonical import canonical_bytes

from ..db import write_transaction
from ..models import Publication
from .audit import record_audit

CALENDARS_FORMAT = "yiciban.calendars/1"


class PublicationError(ValueError):
    """A file cannot be published; ``problems`` say where and what (bilingual, from casework)."""

    def __init__(self, message: str, problems: list[FormatProblem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Published:
    kind: str
    key: str
    version: int


def publish_catalog(data: bytes, actor: str) -> Published:
    """Store a catalog file; its own ``catalog_version`` must be newer than the last published one."""
    try:
        catalog = load_catalog(data)
    except CatalogFormatError as e:
        raise PublicationError("the catalog file is not valid", list(e.problems)) from e
    with write_transaction():
        last = (
            Publication.select(fn.MAX(Publication.version)).where(Publication.kind == "catalog").scalar() or 0
        )
        if catalog.catalog_version <= last:
            raise PublicationError(f"catalog version {catalog.catalog_version} is not newer than {last}")
        Publication.create(
            kind="catalog",
            version=catalog.catalog_version,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            created_by=actor,
        )
        record_audit(
            actor, "published", "catalog", {"version": catalog.catalog_version, "items": len(catalog.items)}
        )
    return Published("catalog", "", catalog.catalog_version)


def publish_calendar(data: bytes, actor: str) -> Published:
    """Store one year's calendar; publishing a year again replaces it for stations (a new version)."""
    try:
        year = load_year_calendar(data)
    except CalendarFormatError as e:
        raise PublicationError("the calendar file is not valid", list(e.problems)) from e
    with write_transaction():
        last = (
            Publication.select(fn.MAX(Publication.version)).where(Publication.kind == "calendar").scalar()
            or 0
        )
        Publication.create(
            kind="calendar",
            key=str(year.year),
            version=last + 1,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            created_by=actor,
        )
        record_audit(actor, "published", "calendar", {"year": year.year, "version": last + 1})
    return Published("calendar", str(year.year), last + 1)


def publish_shipped(actor: str) -> list[Published]:
    """The demo catalog and the calendars casework ships (for a demo or a first install)."""
    data_dir = resources.files("casework").joinpath("data")
    done = []
    if not Publication.select().where(Publication.kind == "catalog").exists():
        done.append(publish_catalog(data_dir.joinpath("demo_catalog.json").read_bytes(), actor))
    for entry in sorted(data_dir.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("calendar_") and entry.name.endswith(".json"):
            year = entry.name.removeprefix("calendar_").removesuffix(".json")
            if (
                not Publication.select()
                .where(Publication.kind == "calendar", Publication.key == year)
                .exists()
            ):
                done.append(publish_calendar(entry.read_bytes(), actor))
    return done


def latest_catalog() -> Publication | None:
    return (
        Publication.select().where(Publication.kind == "catalog").order_by(Publication.version.desc()).first()
    )


def calendar_part() -> tuple[int, bytes] | None:
    """All years' newest calendars as one canonical JSON document: (version, bytes), or None."""
    rows = list(Publication.select().where(Publication.kind == "calendar").order_by(Publication.version))
    if not rows:
        return None
    newest_by_year = {}
    for row in rows:
        newest_by_year[row.key] = row
    years = [json.loads(bytes(newest_by_year[k].data)) for k in sorted(newest_by_year)]
    return rows[-1].version, canonical_bytes({"format": CALENDARS_FORMAT, "years": years})


def list_publications() -> list[Publication]:
    return list(Publication.select().order_by(Publication.created_at.desc(), Publication.id.desc()))
