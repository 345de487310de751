"""Case search over number, applicant name, pinyin and item (SQLite FTS5), and ID number by keyed hash."""

from __future__ import annotations

import os
import re

# Names are indexed character by character: pypinyin's phrase dictionary (44 MB resident) adds nothing for them,
# and the station must idle under 80 MB on an old PC. Set before pypinyin is first imported.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")

from pypinyin import Style, lazy_pinyin  # noqa: E402

from sync_protocol.fieldcrypt import FieldCipher

from ..db import database
from ..models import CaseRecord
from .reference import today

_CJK = re.compile(r"[\u3400-\u9fff]")
MAX_RESULTS = 100


def spaced(text: str) -> str:
    """One token per CJK character, other runs kept: '张三 abc' → '张 三 abc'."""
    return " ".join(_CJK.sub(lambda m: f" {m.group(0)} ", text).split())


def pinyin_tokens(name: str) -> str:
    syllables = lazy_pinyin(name)
    initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER))
    return " ".join([*syllables, "".join(syllables), initials])


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
