"""Pinyin search finds polyphonic surnames by any of their readings (pypinyin runs without its phrase dictionary,
so a name's reading cannot be told from context: the index holds every reading of each character)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from peewee import SqliteDatabase

from station.migrations import MIGRATIONS
from station.services.search import MAX_SPELLINGS, name_readings, pinyin_tokens

from .conftest import csrf_token, login
from .helpers import LOW_INCOME, citizen_id, intake_data

INTAKE = f"/cases/new/{LOW_INCOME}"
NAMES = {
    "长三": "99010119800101111",
    "单田芳": "99010119800101112",
    "曾国华": "99010119800101113",
    "尉迟敬德": "99010119800101114",
    "重阳": "99010119800101115",
    "王秀英": "99010119800101116",
}


def test_tokens_hold_every_reading_of_a_polyphonic_surname():
    tokens = pinyin_tokens("长三").split()
    assert tokens[:2] == ["zhang", "chang"], "the common reading first"
    assert {"zhangsan", "changsan", "zs", "cs", "san"} <= set(tokens)
    assert {"yu", "yuchijingde", "ycjd", "weichijingde", "wcjd"} <= set(pinyin_tokens("尉迟敬德").split())
    assert {"shan", "shantianfang", "stf", "dtf"} <= set(pinyin_tokens("单田芳").split())
    assert {"zeng", "zengguohua", "zgh", "cgh"} <= set(pinyin_tokens("曾国华").split())
    assert pinyin_tokens("李四") == "li si lisi ls", (
        "a name of single-reading characters is indexed as before"
    )
    assert pinyin_tokens("Li 张") == "li zhang lizhang lz"


def test_many_polyphonic_characters_keep_the_surnames_readings_within_the_cap():
    name = "重和行乐"  # 3 × 3 × 3 × 2 readings
    assert [len(r) for r in name_readings(name)] == [3, 3, 3, 2]
    tokens = pinyin_tokens(name).split()
    syllables = {s for readings in name_readings(name) for s in readings}
    initials = [t for t in tokens if len(t) == len(name) and t not in syllables]
    wholes = [t for t in tokens if len(t) > len(name) and t not in syllables]
    assert 0 < len(initials) <= MAX_SPELLINGS and 0 < len(wholes) <= MAX_SPELLINGS
    assert {t[0] for t in initials} == {"z", "c", "t"}, "every reading of the surname is spelled out"
    assert {"zhong", "chong", "tong", "hang", "yue"} <= set(tokens), "every syllable is a term"


def names_found(client, query: str) -> set[str]:
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    rows = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "<td>" in r]
    return {name for name in NAMES if any(f"<td>{name}</td>" in r for r in rows)}


def test_search_finds_polyphonic_surnames_by_any_reading(client):
    login(client, "village")
    for n, (name, body) in enumerate(NAMES.items()):
        data = {**intake_data(f"tok-{n}", applicant_name=name, id_number=citizen_id(body)),
                "csrf_token": csrf_token(client, INTAKE)}  # fmt: skip
        assert client.post(INTAKE, data=data).status_code == 302, name
    expected = {
        "zhang": {"长三"},
        "chang": {"长三"},
        "zs": {"长三"},
        "zhangsan": {"长三"},
        "shan": {"单田芳"},
        "stf": {"单田芳"},
        "dan": {"单田芳"},
        "zeng": {"曾国华"},
        "zgh": {"曾国华"},
        "yuchi": {"尉迟敬德"},
        "ycjd": {"尉迟敬德"},
        "chongyang": {"重阳"},
        "zhongyang": {"重阳"},
        "wxy": {"王秀英"},
        "长三": {"长三"},
    }
    for query, names in expected.items():
        assert names_found(client, query) == names, query


def test_migration_reindexes_existing_rows_with_every_reading(tmp_path: Path):
    db_path = tmp_path / "old.db"
    old = SqliteDatabase(str(db_path))
    names = [name for name, _ in MIGRATIONS]
    heteronyms = names.index("0012_pinyin_heteronyms")
    for _, function in MIGRATIONS[:heteronyms]:
        function(old)
    raw = sqlite3.connect(db_path)
    raw.execute("INSERT INTO applicant VALUES ('a1', '长三', 'cn', x'00', 'h', 'm', '', '', 't')")
    raw.execute(
        "INSERT INTO case_record (id, number, station_code, item_code, item_version, item_name, applicant_id,"
        " applicant_name, applicant_id_masked, state, received_on, light, created_by, created_at, updated_at)"
        " VALUES ('c1', 'N-1', 's', 'i', 1, '低保', 'a1', '长三', 'm', 'accepted', '2026-01-01', 'none', 'u',"
        " 't', 't')"
    )
    rowid = raw.execute("SELECT rowid FROM case_record WHERE id = 'c1'").fetchone()[0]
    raw.execute(
        "INSERT INTO case_search (rowid, case_id, number, applicant, pinyin, item)"
        " VALUES (?, 'c1', 'N 1', '长 三', 'chang san changsan cs', '低 保')",
        (rowid,),
    )
    raw.commit()
    assert raw.execute("SELECT count(*) FROM case_search WHERE case_search MATCH 'zs'").fetchone()[0] == 0
    with old.atomic():
        MIGRATIONS[heteronyms][1](old)
    old.close()
    for query in ("zs", "zhang", "cs", "changsan"):
        found = raw.execute("SELECT case_id FROM case_search WHERE case_search MATCH ?", (query,)).fetchall()
        assert found == [("c1",)], query
    assert raw.execute("SELECT count(*) FROM case_search").fetchone()[0] == 1
