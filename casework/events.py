"""Case event payload schemas and their validation (the ``payload`` of a sync_protocol event).

Payloads use strings, integers, booleans, lists and objects only (no floats); dates are ``YYYY-MM-DD`` and
timestamps ISO-8601 strings or integer milliseconds. Transition events carry their intent (``from`` → ``to``,
states of :class:`CaseState`); a field edit carries ``old`` → ``new``. ``validate_payload`` returns the payload
unchanged or raises :class:`EventPayloadError` naming the field. Folding events into a case view lives in
:mod:`casework.caseview` (re-exported here as :func:`fold`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from casework.catalog import Item
from casework.errors import EventPayloadError, message
from casework.lifecycle import CaseState
from casework.ratings import RATING_INDICATORS

SCHEMA_VERSION = 1
_STATES = "|".join(s.value for s in CaseState)
_T = {"from": f"enum?:{_STATES}", "to": f"enum:{_STATES}"}  # intent of every transition event

# field → spec: kind[?] or "enum[?]:a|b"; "?" = optional (may be absent or null)
SCHEMAS: dict[str, dict[str, str]] = {
    "received": {**_T, "case_no": "str", "item_code": "str", "item_version": "int", "catalog_version": "int?",
                 "applicant_id": "str", "agent_id": "str?", "station": "str", "received_on": "date",
                 "channel": "enum:window|village|post|online", "materials": "materials", "idempotency_key": "str?",
                 "duplicate_token": "str?"},
    "correction_requested": {**_T, "notice_on": "date", "corrections": "corrections", "notice_no": "str?",
                             "issuer": "str?"},
    "accepted": {**_T, "accepted_on": "date", "receipt_no": "str?"},
    "accepted_with_gaps": {**_T, "accepted_on": "date", "gaps": "gaps", "promise_ref": "str?"},
    "gap_supplied": {**_T, "material": "str", "supplied_on": "date"},
    "not_accepted": {**_T, "decided_on": "date", "reason_code": "enum:not_required|not_competent|other",
                     "reason": "str", "competent_organ": "str?", "notice_no": "str?", "issuer": "str?"},
    "forwarded": {**_T, "forwarded_on": "date", "to_level": "enum:township|county", "opinion": "str"},
    "custody_dispatched": {**_T, "manifest_id": "str", "carrier": "str", "to_station": "str", "at": "ts",
                           "direction": "enum:up|down"},
    "custody_received": {**_T, "manifest_id": "str", "received_by": "str", "at": "ts", "direction": "enum:up|down"},
    "paused": {**_T, "procedure": "str", "started_on": "date", "expected_days": "int",
               "counts_toward_limit": "bool", "reason": "str?"},
    "resumed": {**_T, "resumed_on": "date"},
    "extended": {**_T, "extended_on": "date", "days": "int", "approver": "str", "reason": "str"},
    "review_note": {**_T, "step": "str", "opinion": "str"},
    "decided": {**_T, "decided_on": "date", "outcome": "enum:granted|refused", "reasons": "list[str]",
                "document_no": "str?"},
    "result_ready": {**_T, "ready_on": "date", "notice_sent": "bool", "pickup": "enum:window|agent|post"},
    "delivered": {**_T, "delivered_on": "date", "method": "enum:window|agent|post", "signed_by": "str",
                  "relationship": "str?"},
    "withdrawn": {**_T, "withdrawn_on": "date", "reason": "str"},
    "terminated": {**_T, "terminated_on": "date",
                   "reason_code": "enum:gap_lapsed|abandoned|central_resolution|other", "reason": "str"},
    "rated": {"rating_id": "str", "level": "int", "stage": "enum:acceptance|completion",
              "channel": "enum:window_device|paper_card|qr_code|sms|phone_followup|village_tablet",
              "rated_on": "date", "rater": "enum:applicant|anonymous", "comment": "str?", "indicators": "scores?",
              "staff_id": "str?"},
    "followup_opened": {"followup_id": "str", "rating_id": "str", "opened_on": "date", "due_on": "date"},
    "followup_visited": {"followup_id": "str", "visited_on": "date", "note": "str"},
    "followup_verdict": {"followup_id": "str",
                         "verdict": "enum:reasonable|partly_reasonable|unreasonable|malicious", "note": "str"},
    "followup_rectified": {"followup_id": "str", "rectified_on": "date", "measures": "str"},
    "followup_closed": {"followup_id": "str", "closed_on": "date",
                        "rater_satisfaction": "enum?:satisfied|basically_satisfied|dissatisfied"},
    "field_edited": {"field": "str", "old": "scalar", "new": "scalar"},
    "note_added": {"note_id": "str", "text": "str"},
    "attachment_added": {"sha256": "sha256", "size": "int", "media_type": "str", "material": "str?"},
    "duplicate_merged": {"into_case": "str", "reason": "str"},
    "authorization_recorded": {"agent_id": "str", "powers": "list[str]", "signed_on": "date",
                               "valid_until": "date?", "document_ref": "str?"},
    "applicant_created": {"applicant_id": "str", "name": "str", "id_type": "enum:111|113|414|990",
                          "id_number_masked": "str", "id_lookup": "str", "id_ciphertext": "str?", "phone": "str?",
                          "address": "str?", "division_code": "str?", "kind": "enum:natural_person|legal_person"},
    "applicant_edited": {"applicant_id": "str", "field": "str", "old": "scalar", "new": "scalar"},
}  # fmt: skip

# Event type → lifecycle action (for transition events).
EVENT_ACTIONS: dict[str, str] = {
    "correction_requested": "request_correction",
    "accepted": "accept",
    "accepted_with_gaps": "accept_with_gaps",
    "gap_supplied": "supply_gap",
    "not_accepted": "refuse_acceptance",
    "forwarded": "forward",
    "custody_dispatched": "dispatch",
    "custody_received": "receive_custody",
    "paused": "pause",
    "resumed": "resume",
    "extended": "extend",
    "review_note": "review_note",
    "result_ready": "mark_result_ready",
    "delivered": "deliver",
    "withdrawn": "withdraw",
    "terminated": "terminate",
}
TRANSITION_EVENTS = frozenset({*EVENT_ACTIONS, "received", "decided"})
MATERIAL_STATUSES = frozenset({"received", "original_returned", "missing", "deferred", "promised", "shared"})
# 代办委托书 lists its powers item by item; a blanket "全权" is refused on purpose.
AUTHORIZATION_POWERS = frozenset(
    {"submit_materials", "receive_notices", "sign_for_result", "supply_corrections", "withdraw"}
)


def action_of(event_type: str, payload: Mapping[str, Any]) -> str | None:
    """The lifecycle action a transition event records (None for non-transition events)."""
    if event_type == "received":
        return "receive_at_village" if payload.get("to") == CaseState.VILLAGE_RECEIVED.value else "receive"
    if event_type == "decided":
        return "decide_grant" if payload.get("outcome") == "granted" else "decide_refuse"
    return EVENT_ACTIONS.get(event_type)


@dataclass(frozen=True)
class CaseEvent:
    """An event as casework sees it: type, payload, when (ISO string or ms) and who/where."""

    type: str
    payload: Mapping[str, Any]
    at: str | int = ""
    actor: str = ""
    station: str = ""
    level: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def _fail(event_type: str, path: str, code: str, zh: str, en: str, **params: Any) -> EventPayloadError:
    return EventPayloadError(event_type, path, message(code, zh, en, **params))


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")


def parse_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _check_value(event_type: str, path: str, spec: str, value: Any) -> None:  # noqa: C901 - one branch per kind
    kind = spec.rstrip("?")
    if kind.startswith("enum"):
        choices = spec.split(":", 1)[1].split("|")
        if value not in choices:
            raise _fail(
                event_type,
                path,
                "not_a_choice",
                "取值应为 {choices} 之一",
                "Must be one of {choices}",
                choices=", ".join(choices),
            )
    elif kind == "str":
        if not isinstance(value, str) or not value.strip():
            raise _fail(event_type, path, "expected_text", "应为非空文本", "Expected non-empty text")
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**53 - 1:
            raise _fail(
                event_type,
                path,
                "expected_integer",
                "应为整数（不允许小数）",
                "Expected an integer (no decimals)",
            )
    elif kind == "bool":
        if not isinstance(value, bool):
            raise _fail(event_type, path, "expected_bool", "应为 true/false", "Expected true/false")
    elif kind == "date":
        ok = isinstance(value, str) and _DATE_RE.fullmatch(value) is not None
        try:
            ok = ok and bool(parse_date(value))
        except ValueError:
            ok = False
        if not ok:
            raise _fail(
                event_type, path, "expected_date", "日期应为 YYYY-MM-DD", "A date is written YYYY-MM-DD"
            )
    elif kind == "ts":
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0) and not (
            isinstance(value, str) and _TS_RE.fullmatch(value)
        ):
            raise _fail(
                event_type,
                path,
                "expected_timestamp",
                "时间应为 ISO 8601 文本或毫秒整数",
                "A time is ISO 8601 text or integer milliseconds",
            )
    elif kind == "sha256":
        if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
            raise _fail(
                event_type,
                path,
                "expected_sha256",
                "应为 64 位小写十六进制",
                "Expected 64 lower-case hex digits",
            )
    elif kind == "scalar":
        if isinstance(value, float) or not (value is None or isinstance(value, str | int | bool)):
            raise _fail(
                event_type,
                path,
                "expected_scalar",
                "应为文本、整数、布尔或空值",
                "Expected text, integer, boolean or null",
            )
    elif kind == "list[str]":
        if not isinstance(value, list):
            raise _fail(event_type, path, "expected_list", "应为列表", "Expected a list")
        for index, item in enumerate(value):
            _check_value(event_type, f"{path}[{index}]", "str", item)
    elif kind == "scores":
        if not isinstance(value, dict):
            raise _fail(event_type, path, "expected_object", "应为对象", "Expected an object")
        for key, score in value.items():
            if key not in RATING_INDICATORS:
                raise _fail(
                    event_type,
                    _join(path, key),
                    "unknown_indicator",
                    "未知评价指标",
                    "Unknown rating indicator",
                )
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
                raise _fail(
                    event_type,
                    _join(path, key),
                    "rating_level_range",
                    "评价等级为 1–5",
                    "A rating level is 1–5",
                )
    elif kind in _NESTED:
        _check_records(event_type, path, kind, value)
    else:  # pragma: no cover - a schema typo, caught by the schema test
        raise AssertionError(f"unknown spec {spec}")


_NESTED: dict[str, dict[str, str]] = {
    "materials": {"key": "str", "status": "enum:" + "|".join(sorted(MATERIAL_STATUSES)), "copies": "int?",
                  "pages": "int?", "original_checked": "bool?"},
    "corrections": {"material": "str", "problem": "str", "how_to_fix": "str?"},
    "gaps": {"material": "str", "supply_by": "date"},
}  # fmt: skip


def _check_records(event_type: str, path: str, kind: str, value: Any) -> None:
    if not isinstance(value, list):
        raise _fail(event_type, path, "expected_list", "应为列表", "Expected a list")
    if kind in {"corrections", "gaps"} and not value:
        raise _fail(event_type, path, "empty_list", "至少列出一项", "List at least one entry")
    for index, record in enumerate(value):
        _check_object(event_type, f"{path}[{index}]", _NESTED[kind], record)


def _check_object(event_type: str, path: str, schema: Mapping[str, str], obj: Any) -> None:
    if not isinstance(obj, dict):
        raise _fail(event_type, path or "$", "expected_object", "应为对象", "Expected an object")
    for key in obj:
        if key not in schema:
            raise _fail(event_type, _join(path, key), "unknown_field", "未知字段", "Unknown field")
    for key, spec in schema.items():
        value = obj.get(key)
        if key not in obj or value is None:
            if spec.split(":", 1)[0].endswith("?") or (spec == "scalar" and key in obj):
                continue
            raise _fail(
                event_type, _join(path, key), "missing_field", "缺少必填字段", "Required field is missing"
            )
        _check_value(event_type, _join(path, key), spec, value)


def _join(path: str, key: str) -> str:
    shown = key if key else '""'
    return f"{path}.{shown}" if path else shown


def validate_payload(event_type: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """Check a payload against its schema and the rules between its fields; returns it unchanged.

    Raises:
        EventPayloadError: naming the event type and the field at fault.
    """
    schema = SCHEMAS.get(event_type)
    if schema is None:
        raise _fail(event_type, "$", "unknown_event_type", "未知事件类型", "Unknown event type")
    _check_object(event_type, "", schema, dict(payload) if isinstance(payload, Mapping) else payload)
    _check_rules(event_type, payload)
    return payload


def _check_rules(event_type: str, p: Mapping[str, Any]) -> None:
    if event_type == "decided" and p["outcome"] == "refused" and not p["reasons"]:
        raise _fail(
            event_type,
            "reasons",
            "refusal_needs_reasons",
            "不予决定必须写明理由",
            "A refusal must state its reasons",
        )
    if event_type == "rated" and not 1 <= p["level"] <= 5:
        raise _fail(event_type, "level", "rating_level_range", "评价等级为 1–5", "A rating level is 1–5")
    if event_type in {"extended", "paused"} and p.get("days", p.get("expected_days", 0)) < 0:
        raise _fail(event_type, "days", "negative_days", "天数不能为负", "Days cannot be negative")
    if event_type == "extended" and p["days"] < 1:
        raise _fail(
            event_type, "days", "extension_days", "延期天数至少为 1", "An extension adds at least 1 day"
        )
    if event_type == "authorization_recorded":
        if not p["powers"]:
            raise _fail(
                event_type,
                "powers",
                "empty_list",
                "委托权限必须逐项列出",
                "List the entrusted powers one by one",
            )
        for index, power in enumerate(p["powers"]):
            if power not in AUTHORIZATION_POWERS:
                raise _fail(
                    event_type,
                    f"powers[{index}]",
                    "authorization_power",
                    "委托权限“{power}”无效（不得使用“全权”）",
                    "Power '{power}' is not allowed (no blanket authority)",
                    power=power,
                )
    if event_type == "field_edited" and p["old"] == p["new"]:
        raise _fail(
            event_type, "new", "edit_without_change", "新旧值相同", "The new value equals the old one"
        )
    if event_type in TRANSITION_EVENTS and event_type not in {"received"} and p.get("from") is None:
        raise _fail(event_type, "from", "missing_field", "缺少必填字段", "Required field is missing")


def validate_against_item(event_type: str, payload: Mapping[str, Any], item: Item) -> None:
    """Rules that need the pinned item version (central evaluates an event under the version it declares).

    Checks: the received item and version are this one; material keys belong to the item; only deferrable
    materials are 容缺 gaps; a pause names one of the item's special procedures with the catalog's counting
    rule; an extension does not exceed the item's extension days.

    Raises:
        EventPayloadError: naming the field at fault.
    """
    keys = {m.key for m in item.materials}
    if event_type == "received":
        if (payload["item_code"], payload["item_version"]) != item.ref:
            raise _fail(
                event_type,
                "item_code",
                "item_mismatch",
                "事项或版本与目录不符",
                "Item or version does not match the catalog",
            )
        for index, entry in enumerate(payload["materials"]):
            if entry["key"] not in keys:
                raise _fail(
                    event_type,
                    f"materials[{index}].key",
                    "unknown_material",
                    "不是本事项的材料",
                    "Not a material of this item",
                )
    elif event_type == "accepted_with_gaps":
        for index, gap in enumerate(payload["gaps"]):
            material = item.material(gap["material"])
            if material is None or not material.deferrable:
                raise _fail(
                    event_type,
                    f"gaps[{index}].material",
                    "not_deferrable",
                    "该材料不可容缺",
                    "This material cannot be deferred",
                )
    elif event_type == "paused":
        procedure = next((p for p in item.special_procedures if p.key == payload["procedure"]), None)
        if procedure is None:
            raise _fail(
                event_type,
                "procedure",
                "unknown_procedure",
                "本事项没有该特别程序",
                "The item has no such special procedure",
            )
        if procedure.counts_toward_limit != payload["counts_toward_limit"]:
            raise _fail(
                event_type,
                "counts_toward_limit",
                "counting_rule",
                "是否计入时限与目录不符",
                "Differs from the catalog's counting rule",
            )
    elif event_type == "extended" and payload["days"] > item.extension_days:
        raise _fail(
            event_type,
            "days",
            "extension_too_long",
            "延期不得超过 {days} 个工作日",
            "An extension may add at most {days} working days",
            days=item.extension_days,
        )


from casework.caseview import CaseView, fold  # noqa: E402  (re-export; caseview imports CaseEvent from here)

__all__ = [
    "SCHEMAS",
    "CaseEvent",
    "CaseView",
    "action_of",
    "fold",
    "validate_against_item",
    "validate_payload",
]
