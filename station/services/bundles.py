"""一件事 intake: one application for a bundle of items — one form, one merged materials list (a material two
items need is asked for once) — saved as one case per member item in ONE transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt

from casework.catalog import Bundle, Catalog, Level
from casework.errors import Message
from sync_protocol.fieldcrypt import FieldCipher

from ..db import write_transaction
from ..errors import ActionRefusedError
from ..models import CaseRecord
from .cases import (
    Actor,
    IntakeForm,
    case_for_token,
    decisions_for,
    receive_application,
    station,
    validate_intake,
)
from .reference import current_catalog, today


def member_token(token: str, index: int) -> str:
    return f"{token}-{index}"


def receivable_items(catalog: Catalog, bundle: Bundle, level: str) -> list[str]:
    return [code for code in bundle.item_codes if Level(level) in catalog.item(code).receiving_levels]


def member_forms(form: IntakeForm, catalog: Catalog, bundle: Bundle, level: str) -> list[IntakeForm]:
    """The bundle form split per item: shared applicant and agent, each item's own materials and decision."""
    forms = []
    for index, code in enumerate(receivable_items(catalog, bundle, level)):
        item = catalog.item(code)
        materials = {m.key: form.materials.get(m.key, "") for m in item.materials}
        decision = form.decision
        if decision == "accept_with_gaps" and "deferred" not in materials.values():
            decision = "accept"  # 容缺 applies per item: members with nothing deferred are simply accepted
        if decision == "request_correction" and "missing" not in materials.values():
            decision = "receive"  # the notice goes only to members that lack something
        if decision not in decisions_for(level, item):
            decision = "receive"  # a member another level accepts is received for it and sent on (代办)
        forms.append(dataclasses.replace(form, token=member_token(form.token, index), item_code=code,
                                         materials=materials, decision=decision))  # fmt: skip
    return forms


def validate_bundle(form: IntakeForm, bundle: Bundle, on: dt.date) -> dict[str, Message]:
    catalog = current_catalog()
    level = station().level
    problems: dict[str, Message] = {}
    members = member_forms(form, catalog, bundle, level)
    if not members:
        from casework.errors import message

        problems["item_code"] = message(
            "bundle_not_here", "本站不能收件该“一件事”", "This station cannot receive this bundle"
        )
    for member in members:
        for name, problem in validate_intake(member, catalog.item(member.item_code), level, on).items():
            problems.setdefault(name, problem)
    return problems


def cases_of_bundle(token: str) -> list[CaseRecord]:
    found = []
    for index in range(32):
        record = case_for_token(member_token(token, index))
        if record is None:
            break
        found.append(record)
    return found


def receive_bundle(cipher: FieldCipher, actor: Actor, form: IntakeForm, bundle: Bundle,
                   on: dt.date | None = None) -> list[CaseRecord]:  # fmt: skip
    """Receive a 一件事 application: every member case or none (a resubmitted form returns the same cases)."""
    on = on or today()
    with write_transaction():
        already = cases_of_bundle(form.token)
        if already:
            return already
        problems = validate_bundle(form, bundle, on)
        if problems:
            raise ActionRefusedError("; ".join(p.text("en") for p in problems.values()))
        members = member_forms(form, current_catalog(), bundle, station().level)
        return [receive_application(cipher, actor, member, on) for member in members]
