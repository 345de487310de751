"""Intake at the window (一窗受理): the typed form, its validation in Chinese and English, the applicant (ID number
encrypted, found by keyed hash), the case number, and receiving an application — at the item's acceptance level
with 受理, 容缺受理 or the one-time correction notice in the same transaction; below it (a village, or a township
for an item the county accepts) only 代收, to be sent on by 代办 (:func:`decisions_for`).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from peewee import fn

from casework.catalog import Item, Level
from casework.errors import Message, message
from casework.identifiers import case_number, check_citizen_id, implementation_code
from casework.lifecycle import CaseState
from sync_protocol.events import new_uuid7
from sync_protocol.fieldcrypt import FieldCipher
from sync_protocol.seal import decode_recipient, seal

from ..db import write_transaction
from ..errors import ActionRefusedError
from ..models import Applicant, CaseRecord, StationIdentity
from .cases import (
    APPLICANT,
    CASE,
    ID_CONTEXT,
    ID_LOOKUP_CONTEXT,
    Actor,
    _check,
    _now_iso,
    append_case_event,
    project_case,
    station,
)
from .log import find_by_idempotency_key, read_head
from .reference import current_catalog, today, working_days_after

_LEVEL_LETTER = {"village": "V", "township": "T", "county": "C"}


@dataclass
class IntakeForm:
    """What the clerk typed on the intake form (一窗受理)."""

    token: str
    item_code: str
    applicant_name: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    materials: dict[str, str] = field(default_factory=dict)
    decision: str = "receive"
    agent_name: str = ""  # 委托代理人, when someone applies for another person
    agent_id_number: str = ""
    agent_phone: str = ""

    @property
    def has_agent(self) -> bool:
        return bool(self.agent_name.strip() or self.agent_id_number.strip())


INTAKE_DECISIONS = ("receive", "accept", "accept_with_gaps", "request_correction")
MATERIAL_CHOICES = ("received", "original_returned", "missing", "deferred", "promised")


def form_problem(code: str, zh: str, en: str, **params: Any) -> Message:
    return message(code, zh, en, **params)


def validate_intake(form: IntakeForm, item: Item, level: str, on: dt.date) -> dict[str, Message]:
    """Every problem with the typed intake, by field name; empty when it can be saved."""
    from casework.identifiers import citizen_id_problem, phone_problem

    problems: dict[str, Message] = {}
    name = form.applicant_name.strip()
    if not name:
        problems["applicant_name"] = form_problem(
            "name_required", "请填写申请人姓名", "Enter the applicant's name"
        )
    elif len(name) > 50:
        problems["applicant_name"] = form_problem(
            "name_too_long", "姓名不能超过 50 个字", "A name has at most 50 characters"
        )
    id_problem = citizen_id_problem(form.id_number, today=on, allow_demo_prefix=True)
    if not form.id_number.strip():
        problems["id_number"] = form_problem("id_required", "请填写身份证号码", "Enter the ID number")
    elif id_problem is not None:
        problems["id_number"] = id_problem
    if not form.phone.strip():
        problems["phone"] = form_problem("phone_required", "请填写联系电话", "Enter a phone number")
    else:
        phone = phone_problem(form.phone)
        if phone is not None:
            problems["phone"] = phone
    if form.has_agent:
        if not form.agent_name.strip():
            problems["agent_name"] = form_problem(
                "agent_name_required", "请填写代理人姓名", "Enter the agent's name"
            )
        agent_id = citizen_id_problem(form.agent_id_number, today=on, allow_demo_prefix=True)
        if agent_id is not None:
            problems["agent_id_number"] = agent_id
        elif form.agent_id_number.strip() and _same_person(form.agent_id_number, form.id_number, on):
            problems["agent_id_number"] = form_problem(
                "agent_is_applicant", "代理人不能是申请人本人", "The agent cannot be the applicant"
            )
        if item.requires_personal_appearance:
            problems["agent_name"] = form_problem(
                "personal_appearance",
                "该事项依法须申请人本人到场，不能委托代理",
                "This item requires the applicant in person: no agent",
            )
    if Level(level) not in item.receiving_levels:
        problems["item_code"] = form_problem(
            "item_not_received_here", "本站不能受理或收件该事项", "This station cannot receive this item"
        )
    if form.decision not in INTAKE_DECISIONS:
        problems["decision"] = form_problem(
            "bad_decision", "请选择办理方式", "Choose what to do with the application"
        )
    deferred = 0
    for material in item.materials:
        status = form.materials.get(material.key, "")
        field_name = f"material_{material.key}"
        if status not in MATERIAL_CHOICES:
            problems[field_name] = form_problem(
                "material_status",
                "请为“{name}”选择收取情况",
                "Choose the status of '{name}'",
                name=material.name_zh,
            )
            continue
        if status == "deferred":
            deferred += 1
            if not material.deferrable:
                problems[field_name] = form_problem(
                    "not_deferrable", "“{name}”不可容缺", "'{name}' cannot be deferred", name=material.name_zh
                )
        if status == "promised" and not material.promise_replaceable:
            problems[field_name] = form_problem(
                "not_promisable",
                "“{name}”不可用告知承诺替代",
                "'{name}' cannot be replaced by a promise",
                name=material.name_zh,
            )
        if status == "missing" and material.required and form.decision in ("accept", "accept_with_gaps"):
            problems[field_name] = form_problem(
                "missing_blocks_acceptance",
                "必要材料“{name}”缺失，不能受理：请出具一次性告知书",
                "Required material '{name}' is missing: issue a one-time correction notice instead",
                name=material.name_zh,
            )
    if form.decision == "accept" and deferred:
        problems["decision"] = form_problem(
            "deferred_needs_gaps",
            "有容缺材料时请选择“容缺受理”",
            "With deferred materials choose 'accept with gaps'",
        )
    if form.decision == "accept_with_gaps" and not deferred:
        problems["decision"] = form_problem(
            "gaps_need_deferred",
            "容缺受理至少要有一项容缺材料",
            "Accepting with gaps needs at least one deferred material",
        )
    if form.decision == "request_correction" and "missing" not in form.materials.values():
        problems["decision"] = form_problem(
            "correction_needs_missing",
            "一次性告知要列出缺少的材料：请把缺少的材料标为“缺少”",
            "A correction notice lists what is missing: mark the missing materials",
        )
    if form.decision in INTAKE_DECISIONS and form.decision not in decisions_for(level, item):
        problems["decision"] = _not_accepted_here(item, level)  # what matters first, whatever else is wrong
    return problems


def _same_person(a: str, b: str, on: dt.date) -> bool:
    try:
        return (
            check_citizen_id(a, today=on, allow_demo_prefix=True).number
            == check_citizen_id(b, today=on, allow_demo_prefix=True).number
        )
    except Exception:
        return False


def decisions_for(level: str, item: Item | None = None) -> tuple[str, ...]:
    """What intake may do at this level: 受理 and its alternatives (容缺受理, 一次性告知) only at the item's
    acceptance level; elsewhere (a village; a township for an item the county accepts) only 代收 — receive it on the
    organ's behalf and send it on by 代办 (DOMAIN.md §2.2). Without an item: what the level may do for some item."""
    if level == "village" or (item is not None and item.acceptance_level is not Level(level)):
        return ("receive",)
    return INTAKE_DECISIONS


def receives_for_the_organ(item: Item, level: str) -> bool:
    """Does this station only receive the item on behalf of the accepting organ (代收), to send it on (代办)?"""
    return item.acceptance_level is not Level(level)


_LEVEL_ZH = {"village": "村", "township": "乡镇", "county": "县"}


def _not_accepted_here(item: Item, level: str) -> Message:
    accept = item.acceptance_level.value
    return form_problem(
        "not_acceptance_level",
        "本事项由{accept_zh}级受理，本站（{level_zh}级）只能代收后由代办员报送，不能受理、容缺受理或一次性告知",
        "This item is accepted at {accept} level: this {level} station can only receive it on the organ's behalf "
        "and send it on by an agent (代办), not accept it, accept it with gaps or issue the correction notice",
        accept=accept,
        accept_zh=_LEVEL_ZH.get(accept, accept),
        level=level,
        level_zh=_LEVEL_ZH.get(level, level),
    )


_EPOCH_MARKS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _next_case_number(identity: StationIdentity, item: Item, on: dt.date) -> str:
    organ = (
        identity.parent_code
        if identity.level == "village" and identity.parent_code
        else identity.station_code
    )
    short = _LEVEL_LETTER[identity.level] + identity.station_code[-6:]
    head = read_head()
    if head is not None and head.epoch > 1:
        # After a restore the backup's day sequence restarts, while central sends back the lost cases with their
        # numbers: a one-character epoch mark keeps new numbers from colliding with them.
        short += _EPOCH_MARKS[head.epoch % len(_EPOCH_MARKS)]
    marker = f"-{on:%Y%m%d}-{short}-"
    # Read the day's highest sequence from the table inside the write transaction (never a cached counter).
    # received_on (indexed) narrows the read to the day's cases; a case numbered here was received here that day.
    # The sequence is the number's last four digits (zero-padded), so SQLite takes their maximum without a row
    # object per case of the day.
    last = (
        CaseRecord.select(fn.MAX(fn.substr(CaseRecord.number, -4)))
        .where((CaseRecord.received_on == on.isoformat()) & CaseRecord.number.contains(marker))
        .scalar()
    )
    highest = int(last) if last else 0
    return case_number(implementation_code(organ, item.code), on, short, highest + 1)


def _central_recipient(identity: StationIdentity) -> bytes | None:
    if not identity.central_info:
        return None
    recipient = json.loads(identity.central_info).get("ingest_recipient")
    return decode_recipient(recipient) if recipient else None


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str
    address: str = ""


def _find_or_create_applicant(
    cipher: FieldCipher, actor: Actor, person: Person, on: dt.date, key: str
) -> Applicant:
    """The person with this ID number (keyed hash), or a new ``applicant_created`` record of them."""
    number = check_citizen_id(person.id_number, today=on, allow_demo_prefix=True).number
    lookup = cipher.lookup_hash(number, ID_LOOKUP_CONTEXT)
    existing = Applicant.find(Applicant.id_lookup, lookup)
    if existing is not None:
        return existing
    applicant_id = new_uuid7()
    identity = station()
    payload: dict[str, Any] = {
        "applicant_id": applicant_id,
        "name": person.name.strip(),
        "id_type": "111",
        "id_number_masked": _mask(number),
        "id_lookup": lookup,
        "phone": person.phone.strip(),
        "kind": "natural_person",
    }
    if person.address.strip():
        payload["address"] = person.address.strip()
    recipient = _central_recipient(identity)
    if recipient is not None:
        # Central gets the number sealed to its own key: plaintext never sits in the log or on a stick.
        payload["id_ciphertext"] = base64.b64encode(seal(number.encode("ascii"), [recipient])).decode("ascii")
    append_case_event(actor, APPLICANT, applicant_id, "applicant_created", payload, key)
    return Applicant.create(
        id=applicant_id,
        name=payload["name"],
        id_type="111",
        id_cipher=cipher.encrypt(number, ID_CONTEXT),
        id_lookup=lookup,
        id_masked=payload["id_number_masked"],
        phone=payload["phone"],
        address=person.address.strip(),
        created_at=_now_iso(),
    )


def _mask(number: str) -> str:
    from casework.identifiers import mask_id_number

    return mask_id_number(number)


def _duplicate_token(cipher: FieldCipher, id_number: str, item_code: str, on: dt.date) -> str | None:
    """Class C: the network-wide duplicate token of (person, item) under the key central sent (ADR 0006), so central
    can see the same person applying for the same item at another station without the ID number. None until the
    station has the key (its first downstream bundle)."""
    from casework.merge import duplicate_token

    from .downstream import network_duplicate_key

    key = network_duplicate_key(cipher)
    if key is None:
        return None
    number = check_citizen_id(id_number, today=on, allow_demo_prefix=True).number
    return duplicate_token(key, number, item_code)


def find_applicant(cipher: FieldCipher, id_number: str, on: dt.date) -> Applicant | None:
    """Search-before-create: the applicant with this ID number (by keyed hash), if any."""
    try:
        number = check_citizen_id(id_number, today=on, allow_demo_prefix=True).number
    except Exception:
        return None
    return Applicant.find(Applicant.id_lookup, cipher.lookup_hash(number, ID_LOOKUP_CONTEXT))


def open_cases_of(applicant_id: str) -> list[CaseRecord]:
    closed = [s.value for s in CaseState if s.terminal]
    return list(
        CaseRecord.select()
        .where((CaseRecord.applicant_id == applicant_id) & (CaseRecord.state.not_in(closed)))
        .order_by(CaseRecord.received_on.desc())
    )


def case_for_token(token: str) -> CaseRecord | None:
    """The case a form token already created (a resubmitted form), if any."""
    event = find_by_idempotency_key(token)
    return None if event is None else CaseRecord.get_or_none(CaseRecord.id == event.aggregate_id)


def receive_application(
    cipher: FieldCipher, actor: Actor, form: IntakeForm, on: dt.date | None = None
) -> CaseRecord:
    """收件 (and at the item's acceptance level, 受理 / 容缺受理 / 一次性告知 in the same act; below it, 代收): one
    transaction, one case per form token."""
    on = on or today()
    with write_transaction():
        already = find_by_idempotency_key(form.token)
        if already is not None:
            return CaseRecord.get_by_id(already.aggregate_id)
        identity = station()
        catalog = current_catalog()
        item = catalog.item(form.item_code)
        problems = validate_intake(form, item, identity.level, on)
        if problems:
            raise ActionRefusedError("; ".join(p.text("en") for p in problems.values()))
        level = Level(identity.level)
        action = "receive_at_village" if receives_for_the_organ(item, identity.level) else "receive"
        intent = _check(None, action, level, actor, acceptance_level=item.acceptance_level)
        applicant = _find_or_create_applicant(
            cipher, actor, Person(form.applicant_name, form.id_number, form.phone, form.address), on,
            f"{form.token}.applicant",
        )  # fmt: skip
        agent = None
        if form.has_agent:
            agent = _find_or_create_applicant(
                cipher,
                actor,
                Person(form.agent_name, form.agent_id_number, form.agent_phone),
                on,
                f"{form.token}.agent",
            )
        case_id = new_uuid7()
        received = {
            "from": None,
            "to": intent.to_state.value,
            "case_no": _next_case_number(identity, item, on),
            "item_code": item.code,
            "item_version": item.version,
            "catalog_version": catalog.catalog_version,
            "applicant_id": applicant.id,
            "agent_id": agent.id if agent else None,
            "station": identity.station_code,
            "received_on": on.isoformat(),
            "channel": "village" if identity.level == "village" else "window",
            "materials": [{"key": m.key, "status": form.materials[m.key]} for m in item.materials],
            "idempotency_key": form.token,
        }
        token = _duplicate_token(cipher, form.id_number, item.code, on)
        if token is not None:
            received["duplicate_token"] = token
        append_case_event(actor, CASE, case_id, "received", received, form.token, catalog.catalog_version)
        if form.decision in ("accept", "accept_with_gaps"):
            _decide_acceptance(actor, case_id, item, form, on, intent.to_state, catalog.default_supply_days)
        elif form.decision == "request_correction":
            _notify_corrections(actor, case_id, item, form, on, intent.to_state)
        return project_case(case_id, actor.username)


def _notify_corrections(actor: Actor, case_id: str, item: Item, form: IntakeForm, on: dt.date,
                        state: CaseState) -> None:  # fmt: skip
    """一次性告知 at the window: every material marked missing, listed at once, on the day of receipt."""
    intent = _check(
        state, "request_correction", Level(station().level), actor, acceptance_level=item.acceptance_level
    )
    corrections = [
        {"material": m.key, "problem": "未提交", "how_to_fix": f"请补交{m.name_zh}"}
        for m in item.materials
        if form.materials.get(m.key) == "missing"
    ]
    payload = {
        "from": state.value,
        "to": intent.to_state.value,
        "notice_on": on.isoformat(),
        "corrections": corrections,
    }
    append_case_event(
        actor, CASE, case_id, "correction_requested", payload, f"{form.token}.request_correction"
    )


def _decide_acceptance(actor: Actor, case_id: str, item: Item, form: IntakeForm, on: dt.date, state: CaseState,
                       default_supply_days: int) -> None:  # fmt: skip
    level = Level(station().level)
    intent = _check(state, form.decision, level, actor, acceptance_level=item.acceptance_level)
    payload: dict[str, Any] = {
        "from": state.value,
        "to": intent.to_state.value,
        "accepted_on": on.isoformat(),
    }
    if form.decision == "accept_with_gaps":
        gaps = []
        for material in item.materials:
            if form.materials.get(material.key) == "deferred":
                days = material.supply_days if material.supply_days is not None else default_supply_days
                days = min(days, max(item.promised_limit_days, 1))
                gaps.append({"material": material.key, "supply_by": working_days_after(on, days).isoformat()})
        payload["gaps"] = gaps
    event_type = {"accept": "accepted", "accept_with_gaps": "accepted_with_gaps"}[form.decision]
    append_case_event(actor, CASE, case_id, event_type, payload, f"{form.token}.{form.decision}")
