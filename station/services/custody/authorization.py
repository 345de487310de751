"""代办委托书: recorded on a case as an event, power by power, and printed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from casework.custody import (
    authorization_payload,
    check_authorization,
)
from casework.errors import CaseworkError, Message

from ...db import write_transaction
from ...models import CaseRecord, User
from ..cases import Actor, station
from ..reference import current_catalog
from .common import (
    CustodyAuthorization,
    CustodyRefusedError,
    _append,
    _iso,
    _issuer,
    _key,
    _now,
    _proxy_agent,
    _refuse,
)

# --- 代办委托书 ------------------------------------------------------------------------------------------------


def record_authorization(
    actor: Actor, case_id: str, agent_username: str, powers: list[str], signed_on: dt.date,
    valid_until: dt.date | None, full_proxy: bool, token: str,
) -> CustodyAuthorization:  # fmt: skip
    """Record a signed 代办委托书 on a case: powers item by item, never 全权; personal appearance respected."""
    record = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if record is None:
        raise _refuse("custody_no_case", "本站没有这件办件", "This station has no such case")
    agent = User.get_or_none((User.username == agent_username) & (User.active == True))  # noqa: E712
    if agent is None or "proxy_agent" not in agent.role_set:
        raise _refuse("custody_agent_unknown", "请选择本站的代办员", "Choose an agent of this station")
    item = current_catalog().item(record.item_code, record.item_version)
    try:
        check = check_authorization(
            [item], powers, signed_on=signed_on, valid_until=valid_until, full_proxy=full_proxy
        )
    except CaseworkError as e:
        raise CustodyRefusedError(e.message) from e
    with write_transaction():
        payload = authorization_payload(
            check, agent_id=agent.username, signed_on=signed_on, valid_until=valid_until
        )
        event_id = _append(
            actor, case_id, "authorization_recorded", payload, _key("authorization", case_id, token)
        )
        existing = CustodyAuthorization.get_or_none(CustodyAuthorization.event_id == event_id)
        if existing is not None:
            return existing
        CustodyAuthorization.insert(
            event_id=event_id, case_id=case_id, agent=agent.username, agent_name=agent.display_name,
            powers=json.dumps(list(check.powers)), full_proxy=full_proxy, signed_on=signed_on.isoformat(),
            valid_until=valid_until.isoformat() if valid_until else None, recorded_by=actor.username,
            recorded_at=_iso(_now()),
        ).execute()  # fmt: skip
        return CustodyAuthorization.get_by_id(event_id)


def authorizations_of(case_id: str) -> list[CustodyAuthorization]:
    return list(
        CustodyAuthorization.select()
        .where(CustodyAuthorization.case_id == case_id)
        .order_by(CustodyAuthorization.recorded_at)
    )


def item_warnings(case_id: str) -> list[Message]:
    """What the clerk must tell the applicant before entrusting the case (an item needing them in person)."""
    record = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if record is None:
        return []
    item = current_catalog().item(record.item_code, record.item_version)
    return list(check_authorization([item], ["submit_materials"], signed_on=dt.date.today()).warnings)


# --- printed documents (printing renders them) ---------------------------------------------------------------


def authorization_document(event_id: str) -> Any:
    """The 代办委托书 as printing's ProxyAuthorization (items needing the applicant in person say so)."""
    from casework.custody import POWER_LABELS, personal_appearance_warning
    from printing import ItemRef, Person
    from printing.documents.proxy import ProxyAuthorization

    from ...models import Applicant

    identity = station()
    row = CustodyAuthorization.get_or_none(CustodyAuthorization.event_id == event_id)
    if row is None:
        raise _refuse("custody_no_authorization", "没有这份委托书", "No such authorization")
    record = CaseRecord.get_by_id(row.case_id)
    applicant = Applicant.get_or_none(Applicant.id == record.applicant_id)
    item = current_catalog().item(record.item_code, record.item_version)
    item_line = item.name_zh
    if item.requires_personal_appearance:
        item_line += "（" + personal_appearance_warning(item).text("zh") + "）"
    return ProxyAuthorization(
        doc_number=f"{record.number}-WT",
        case_number=record.number,
        item=ItemRef(name=item.name_zh, code=item.code, version=item.version),
        applicant=Person(
            name=record.applicant_name,
            id_number=record.applicant_id_masked,
            phone=applicant.phone if applicant else "",
            address=applicant.address if applicant else "",
        ),
        issuer=_issuer(identity),
        issued_on=dt.date.fromisoformat(row.signed_on),
        handler=row.recorded_by,
        proxy=_proxy_agent(row.agent, row.agent_name, identity),
        powers=tuple(POWER_LABELS[p][0] for p in json.loads(row.powers)),
        items=(item_line,),
        valid_until=dt.date.fromisoformat(row.valid_until) if row.valid_until else None,
    )
