"""What every custody module shares: the tables (migration 0006_custody), refusals, event appends, names."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from casework.errors import Message, message
from casework.events import validate_payload
from casework.lifecycle import Role

from ...errors import ActionRefusedError
from ...models import (  # noqa: F401  (the custody tables, re-exported for the custody modules)
    CustodyAuthorization,
    CustodyFolder,
    CustodyIssue,
    CustodyManifest,
    CustodyReceipt,
    StationIdentity,
)
from ..cases import CASE, Actor, station, wire_type
from ..log import append_event

REGISTRY_KEY = "registry"
FOLDER_STATUSES = ("received", "original_returned", "promised")  # materials physically in the folder


class CustodyRefusedError(ActionRefusedError):
    """A custody action refused with a message for the clerk in both languages."""

    code = "custody_refused"

    def __init__(self, msg: Message) -> None:
        self.message = msg
        super().__init__(msg.text("zh"))

    def text(self, locale: str) -> str:
        return self.message.text(locale)


def _refuse(code: str, zh: str, en: str, **params: Any) -> CustodyRefusedError:
    return CustodyRefusedError(message(code, zh, en, **params))


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _role(actor: Actor) -> Role:
    return Role(actor.role)


def _key(*parts: str) -> str:
    """An idempotency key (at most 64 characters) for one custody act: the same act twice is one event."""
    return "custody-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:48]


def _append(actor: Actor, case_id: str, local_type: str, payload: Mapping[str, Any], key: str) -> str:
    validate_payload(local_type, payload)
    appended = append_event(
        actor=actor.username, event_type=wire_type(local_type), aggregate_kind=CASE, aggregate_id=case_id,
        payload=payload, idempotency_key=key,
    )  # fmt: skip
    return appended.event.event_id


def station_name(code: str, identity: StationIdentity | None = None) -> str:
    identity = identity or station()
    if code == identity.station_code:
        return str(identity.name)
    return code


def _issuer(identity: StationIdentity) -> Any:
    from printing import Issuer

    return Issuer(organ=identity.name, station=identity.name, level=identity.level, consult_phone="")


def _proxy_agent(username: str, display_name: str, identity: StationIdentity) -> Any:
    from printing.documents.proxy import ProxyAgent

    return ProxyAgent(name=display_name, staff_number=username, station=identity.name)
