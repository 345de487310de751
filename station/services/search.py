"""Case search over number, applicant name, pinyin and item (SQLite FTS5), and ID number by keyed hash."""

from __future__ import annotations

import itertools
import math
import os
import re

from sync_protocol.fieldcrypt import FieldCipher

from ..db import database
from ..models import CaseRecord
from .reference import today

# Names are indexed character by character: pypinyin's phrase dictionary (44 MB resident) adds nothing for them,
# and the station must idle under 80 MB on an old PC. Set before pypinyin is first imported; pypinyin itself (its
# single-character dictionary, ~12 MB) loads with the first name indexed, not with the app.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")

_CJK = re.compile(r"[\u3400-\u9fff]")
MAX_RESULTS = 100
MAX_SPELLINGS = 16
"""Most whole-name spellings indexed (full pinyin, and initials) when the name's characters have several readings;
past it the readings of the last characters are cut to their common one, so a surname keeps all of its own."""


def spaced(text: str) -> str:
    """One token per CJK character, other runs kept: '张三 abc' → '张 三 abc'."""
    return " ".join(_CJK.sub(lambda m: f" {m.group(0)} ", text).split())


def name_readings(name: str) -> list[list[str]]:
    """Every toneless reading of each character of ``name`` (pypinyin's heteronym mode), the common one first:
    without the phrase dictionary a polyphonic surname (长 Zhǎng, 单 Shàn, 曾 Zēng, 尉迟 Yùchí) has no context to
    pick its reading from, so the index holds them all. Other runs of text come back as they are."""
    from pypinyin import Style, pinyin

    found: list[list[str]] = []
    for readings in pinyin(name, style=Style.NORMAL, heteronym=True):
        if len(readings) == 1:  # one reading, or a run of other text: a word per entry
            found.extend([word.lower()] for word in readings[0].split())
        else:
            found.append(list(dict.fromkeys(r.strip().lower() for r in readings if r.strip())))
    return found


def _spellings(readings: list[list[str]]) -> list[tuple[str, ...]]:
    kept = list(readings)
    for index in reversed(range(len(kept))):
        if math.prod(len(r) for r in kept) <= MAX_SPELLINGS:
            break
        kept[index] = kept[index][:1]
    return list(itertools.product(*kept))


def pinyin_tokens(name: str) -> str:
    """The name's pinyin search terms: each syllable in every reading, and the whole name spelled out and by
    initials in each combination of readings (common readings first): 长三 → 'zhang chang san zhangsan
    changsan zs cs'."""
    readings = name_readings(name)
    spellings = _spellings(readings)
    syllables = [s for r in readings for s in r]
    whole = ["".join(s) for s in spellings]
    initials = ["".join(part[0] for part in s) for s in spellings]
    return " ".join(dict.fromkeys([*syllables, *whole, *initials]))


def index_case(record: CaseRecord) -> None:
    """Replace the case's search row (inside the caller's transaction).

    The row's rowid is the case_record row's: case_id is an UNINDEXED FTS column, so deleting by it scanned every
    search row on each projection, while a rowid is the FTS table's own key."""
    rowid = database.execute_sql("SELECT rowid FROM case_record WHERE id = ?", (record.id,)).fetchone()[0]
    database.execute_sql("DELETE FROM case_search WHERE rowid = ?", (rowid,))
    database.execute_sql(
        "INSERT INTO case_search (rowid, case_id, number, applicant, pinyin, item) VALUES (?, ?, ?, ?, ?, ?)",
        (
            rowid,
            record.id,
            record.number.replace("-", " "),
            spaced(record.applicant_name),
            pinyin_tokens(record.applicant_name),
            spaced(record.item_name),
        ),
    )


def _match_expression(query: str) -> str:
    terms = spaced(query.replace("-", " ")).split()
    return " ".join('"' + term.replace('"', '""') + '"*' for term in terms[:12])


def search_cases(cipher: FieldCipher, query: str) -> list[CaseRecord]:
    """Cases matching ``query``: an ID number finds the applicant's cases by keyed hash, anything else by FTS."""
    from .cases import find_applicant

    applicant = find_applicant(cipher, query, today())
    if applicant is not None:
        return list(
            CaseRecord.select()
            .where(CaseRecord.applicant_id == applicant.id)
            .order_by(CaseRecord.received_on.desc())
        )
    exact = CaseRecord.get_or_none(CaseRecord.number == query.strip())
    if (
        exact is not None
    ):  # a whole case number (scanned or typed): its unique key, not five prefix terms of which
        return [exact]  # the station code and organ code match every case in the store
    expression = _match_expression(query)
    if not expression:
        return []
    ids = [
        row[0]
        for row in database.execute_sql(
            "SELECT case_id FROM case_search WHERE case_search MATCH ? ORDER BY rank LIMIT ?",
            (expression, MAX_RESULTS),
        )
    ]
    if not ids:
        return []
    found = {r.id: r for r in CaseRecord.select().where(CaseRecord.id.in_(ids))}
    return [found[i] for i in ids if i in found]
