"""Shared test data for station tests: valid demo ID numbers and a filled intake form."""

from __future__ import annotations

from casework.catalog import demo_catalog
from casework.identifiers import citizen_id_check_char

LOW_INCOME = (
    "GF00201000"  # 最低生活保障申请: village receives, township accepts, county decides; two may be deferred
)
TEMPORARY_RELIEF = (
    "GF00203000"  # 临时救助申请: village receives, township accepts and decides; one may be deferred
)


def citizen_id(body17: str = "99010119800101123") -> str:
    return body17 + citizen_id_check_char(body17)


def intake_data(
    token: str, item_code: str = LOW_INCOME, decision: str = "receive", defer: bool = False, **overrides
):
    item = demo_catalog().item(item_code)
    data = {
        "token": token,
        "applicant_name": "张三",
        "id_number": citizen_id(),
        "phone": "13800138000",
        "address": "示范村一组",
        "decision": decision,
    }
    for material in item.materials:
        data[f"material_{material.key}"] = "deferred" if defer and material.deferrable else "received"
    data.update(overrides)
    return data
