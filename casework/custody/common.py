"""Shared by the custody modules: the bilingual texts, errors, directions and time handling."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

from casework.errors import CaseworkError, Message, message

CONFLICT_CLASS = "D"
DEFAULT_TRANSIT_DAYS = 3  # 村 → 乡镇 报送 within 3 working days
RESULT_HOLD_DAYS = 5  # a result waiting at a station without 送达
CHINA_TIME = dt.timezone(dt.timedelta(hours=8))
_LABEL_ID = re.compile(r"[\x21-\x7e]{1,64}")

# code → (Chinese, English): every text this module shows a clerk, parameters in braces.
TEXTS: Mapping[str, tuple[str, str]] = {
    "bad_time": ("时间格式无效", "Invalid time value"),
    "bad_sequence": ("交接单序号从 1 开始", "Manifest numbers start at 1"),
    "bad_manifest_id": (
        "交接单编号须为 1–64 个可打印 ASCII 字符",
        "A manifest id is 1–64 printable ASCII characters",
    ),
    "empty_manifest": ("交接单至少要有一份卷宗", "A manifest lists at least one folder"),
    "same_station": ("移交站点与接收站点不能相同", "The sending and receiving stations must differ"),
    "no_agent": ("请指定代办员", "Name the agent who carries the folders"),
    "folder_twice": ("办件 {case} 在交接单上出现了两次", "Case {case} is listed twice on the manifest"),
    "negative_count": ("材料份数和页数不能为负", "Counts cannot be negative"),
    "custody_receipt_without_dispatch": (
        "卷宗 {case} 已由 {station} 签收（交接单 {manifest}），但没有移交记录",
        "Folder {case} was received by {station} (manifest {manifest}) but no dispatch was recorded",
    ),
    "custody_double_receipt": (
        "卷宗 {case}（交接单 {manifest}）被多个站点签收：{stations}",
        "Folder {case} (manifest {manifest}) was received at more than one station: {stations}",
    ),
    "custody_wrong_station": (
        "卷宗 {case} 应送往 {expected}，却由 {actual} 签收（交接单 {manifest}）",
        "Folder {case} was sent to {expected} but received by {actual} (manifest {manifest})",
    ),
    "custody_transit_overdue": (
        "卷宗 {case} 由代办员 {agent} 于 {since} 送往 {to}，超过 {limit} 个工作日仍未签收",
        "Folder {case} left with agent {agent} on {since} for {to} and is still not received after {limit} "
        "working days",
    ),
    "custody_village_holding": (
        "办件 {case} 自 {since} 在村站收件后，超过 {limit} 个工作日仍未报送乡镇",
        "Case {case} was received at the village on {since} and has not been sent up within {limit} working days",
    ),
    "custody_result_not_delivered": (
        "办件 {case} 的结果自 {since} 存放在 {station}，超过 {limit} 个工作日仍未送达申请人",
        "The result of case {case} has been at {station} since {since} and has not been delivered within "
        "{limit} working days",
    ),
    "bad_custody_setting": (
        "设置 {setting} 的值“{value}”无法识别（工作日数应为整数，如 village>township=3）",
        "Setting {setting} has a value '{value}' that cannot be read (working days are integers, e.g. "
        "village>township=3)",
    ),
    "authorization_no_items": ("委托书须列明委托事项", "The authorization must name the entrusted items"),
    "authorization_no_powers": ("委托权限须逐项列明", "List the entrusted powers one by one"),
    "authorization_blanket_power": (
        "委托书不得使用“全权”等概括授权，请逐项勾选权限（如提交材料、领取告知书、签收结果）",
        "A blanket power ('{power}') is not allowed: tick the powers one by one (submit materials, collect "
        "notices, sign for the result…)",
    ),
    "authorization_unknown_power": ("未知的委托权限：{power}", "Unknown power: {power}"),
    "authorization_power_twice": ("同一权限列了两次", "A power is listed twice"),
    "authorization_dates": ("委托期限不能早于签署日期", "The authorization cannot end before it is signed"),
    "personal_appearance_required": (
        "事项“{item}”依法须申请人本人到场，代办员只能代为递交材料和领取结果，不能全程代办",
        "Item '{item_en}' requires the applicant to appear in person: the agent can carry the file and bring "
        "the result back, but cannot handle it from start to end",
    ),
}


def text(code: str, /, **params: Any) -> Message:
    """The bilingual message ``code`` of :data:`TEXTS` with its parameters."""
    zh, en = TEXTS[code]
    return message(code, zh, en, **params)


class CustodyError(CaseworkError):
    """A manifest or custody record that cannot describe a real hand-over."""

    code = "custody_invalid"


class AuthorizationError(CustodyError):
    """A 代办委托书 that may not be recorded (blanket powers, an item that needs the applicant in person…)."""

    code = "authorization_invalid"


class Direction(Enum):
    """up: village → township → county (the file); down: results coming back."""

    UP = "up"
    DOWN = "down"


def to_moment(at: dt.datetime | str | int) -> dt.datetime:
    """An aware datetime from an event time (ISO text, integer ms, or a datetime); naive means China time."""
    if isinstance(at, dt.datetime):
        moment = at
    elif isinstance(at, int) and not isinstance(at, bool):
        moment = dt.datetime.fromtimestamp(at / 1000, tz=dt.UTC)
    elif isinstance(at, str):
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    else:
        raise CustodyError(text("bad_time"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=CHINA_TIME)


def local_day(at: dt.datetime | str | int) -> dt.date:
    """The date in China (UTC+8) on which something happened: working days are counted on local dates."""
    return to_moment(at).astimezone(CHINA_TIME).date()
