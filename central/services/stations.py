"""Station registry (站点登记) and one-time enrollment codes.

A station is registered by a central admin (code, name, level, parent); it becomes *enrolled* once it proves
possession of its own keys with a one-time code. Codes are random and shown once; at rest central keeps a keyed
hash and the code encrypted (see ``EnrollmentCode`` for why not only a hash).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sync_protocol.fieldcrypt import FieldCipher

from ..db import database, write_transaction
from ..errors import NotFoundError, RegistrationError
from ..models import EnrollmentCode, Station, utcnow
from .audit import record_audit

LEVELS = ("village", "township", "county")
PARENT_LEVEL = {"village": "township", "township": "county"}
DIVISION_CODE = re.compile(r"^\d{12}$")
# Crockford-style alphabet without look-alikes (0/O, 1/I/L): codes are read aloud and typed by hand.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 4
CODE_GROUP_LENGTH = 4


@dataclass(frozen=True)
class IssuedCode:
    station_code: str
    code: str
    expires_at: datetime


def normalise_enrollment_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


CODE_CONTEXT = "enrollment_code"


def hash_enrollment_code(cipher: FieldCipher, code: str) -> str:
    return cipher.lookup_hash(normalise_enrollment_code(code), CODE_CONTEXT)


def _new_code() -> str:
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH)) for _ in range(CODE_GROUPS)
    )
    return "-".join(groups)


def validate_registration(code: str, name: str, level: str, parent_code: str | None) -> list[str]:
    """Form-level problems as stable message keys (the view translates them)."""
    problems: list[str] = []
    if not DIVISION_CODE.match(code):
        problems.append("code_format")
    if not name.strip() or len(name.strip()) > 100:
        problems.append("name_required")
    if level not in LEVELS:
        problems.append("level_unknown")
    if parent_code:
        if not DIVISION_CODE.match(parent_code):
            problems.append("parent_format")
        elif parent_code == code:
            problems.append("parent_self")
    elif level in PARENT_LEVEL:
        problems.append("parent_required")
    return problems


def register_station(code: str, name: str, level: str, parent_code: str | None, actor: str) -> Station:
    code, name, parent_code = code.strip(), name.strip(), (parent_code or "").strip() or None
    problems = validate_registration(code, name, level, parent_code)
    if problems:
        raise RegistrationError(", ".join(problems), code=problems[0])
    with write_transaction():
        if Station.get_or_none(Station.code == code) is not None:
            raise RegistrationError(f"station {code} is already registered", code="duplicate")
        if parent_code:
            parent = Station.get_or_none(Station.code == parent_code)
            if parent is None:
                raise RegistrationError(
                    f"parent station {parent_code} is not registered", code="parent_unknown"
                )
            if PARENT_LEVEL.get(level) != parent.level:
                raise RegistrationError(
                    f"a {level} station's parent must be a {PARENT_LEVEL.get(level)} station",
                    code="parent_level",
                )
        station = Station.create(code=code, name=name, level=level, parent_code=parent_code)
        record_audit(actor, "station_registered", code, {"name": name, "level": level, "parent": parent_code})
    return station


def get_station(code: str) -> Station:
    database.connect(reuse_if_open=True)
    station = Station.get_or_none(Station.code == code)
    if station is None:
        raise NotFoundError(f"station {code} is not registered")
    return station


def list_stations() -> list[Station]:
    return list(Station.select().order_by(Station.code))


def issue_enrollment_code(
    station_code: str, actor: str, cipher: FieldCipher, valid_hours: int = 72
) -> IssuedCode:
    """Make a new one-time code; earlier unused codes of the station stop working."""
    with write_transaction():
        station = get_station(station_code)
        if station.status == "revoked":
            raise RegistrationError(f"station {station_code} is revoked", code="revoked")
        now = utcnow()
        EnrollmentCode.update(expires_at=now).where(
            EnrollmentCode.station_code == station_code,
            EnrollmentCode.used_at.is_null(),
            EnrollmentCode.expires_at > now,
        ).execute()
        code = _new_code()
        expires_at = now + timedelta(hours=valid_hours)
        EnrollmentCode.create(
            station_code=station_code,
            code_hash=hash_enrollment_code(cipher, code),
            code_sealed=cipher.encrypt(code, CODE_CONTEXT),
            expires_at=expires_at,
            created_by=actor,
        )
        record_audit(actor, "enrollment_code_issued", station_code, {"expires_at": expires_at.isoformat()})
    return IssuedCode(station_code, code, expires_at)


def revoke_station(
    station_code: str,
    actor: str,
    network: str,
    central_key,
    *,
    after: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """吊销: revoke every live key of a station after (epoch, seq); events up to there stay accepted.

    ``after`` defaults to the newest position central holds for the station (its highest epoch's head), so work
    already received is kept and anything later is quarantined for review. Publishes a new registry version.
    """
    from ..models import StationChain, StationKey
    from .registry import publish_registry

    with write_transaction():
        station = get_station(station_code)
        if after is None:
            head = (
                StationChain.select()
                .where(StationChain.station_code == station_code)
                .order_by(StationChain.epoch.desc())
                .first()
            )
            after = (head.epoch, head.head_seq) if head is not None else (1, 0)
        now = utcnow()
        live = StationKey.update(
            revoked_after_epoch=after[0], revoked_after_seq=after[1], revoked_at=now
        ).where(StationKey.station_code == station_code, StationKey.revoked_after_epoch.is_null())
        revoked = live.execute()
        if not revoked and station.status == "revoked":
            raise RegistrationError(f"station {station_code} is already revoked", code="revoked")
        Station.update(status="revoked", revoked_at=now).where(Station.code == station_code).execute()
        EnrollmentCode.update(expires_at=now).where(
            EnrollmentCode.station_code == station_code, EnrollmentCode.used_at.is_null()
        ).execute()
        publish_registry(network, central_key)
        record_audit(actor, "station_revoked", station_code, {"after_epoch": after[0], "after_seq": after[1]})
    return after
