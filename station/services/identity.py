"""The station's own identity: code, name, level and parent (and the network once known)."""

from __future__ import annotations

import re

from ..db import write_transaction
from ..models import StationIdentity

STATION_CODE = re.compile(r"\d{12}")
LEVELS = ("village", "township", "county")


def set_identity(
    station_code: str, name: str, level: str, parent_code: str = "", network: str = ""
) -> StationIdentity:
    """Record who this station is; an existing identity may be renamed but never change its code or level."""
    if not STATION_CODE.fullmatch(station_code):
        raise ValueError("the station code must be the 12-digit 统计用区划代码")
    if parent_code and not STATION_CODE.fullmatch(parent_code):
        raise ValueError("the parent code must be a 12-digit 统计用区划代码")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    if not name.strip():
        raise ValueError("the station needs a name")
    with write_transaction():
        current = StationIdentity.current()
        if current is None:
            return StationIdentity.create(
                id=1,
                station_code=station_code,
                name=name.strip(),
                level=level,
                parent_code=parent_code,
                network_id=network,
            )
        if current.station_code != station_code or current.level != level:
            raise ValueError(
                f"this instance already belongs to station {current.station_code} ({current.level}); "
                "use a new instance folder for another station"
            )
        if network and current.network_id and current.network_id != network:
            raise ValueError(f"this instance already belongs to network {current.network_id}")
        current.name = name.strip()
        current.parent_code = parent_code or current.parent_code
        current.network_id = current.network_id or network
        current.save()
        return current
