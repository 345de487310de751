"""The window pages stay fast on a large store (issue 4): the home lists read the stored calendar_missing flag
instead of folding events, search rows are keyed by case_record's rowid, and the day's case numbers are read
through the received_on index — with the same results as before."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from peewee import SqliteDatabase

import station.services.cases as cases_service
from station.db import database, write_transaction
from station.migrations import MIGRATIONS
from station.models import CaseRecord
from station.services.cases import project_case

from .conftest import csrf_token, login
from .helpers import LOW_INCOME, citizen_id, intake_data
from .test_calendar_missing_labels import LABEL, accept, publish_a_year_long_item

INTAKE = f"/cases/new/{LOW_INCOME}"


def count_folds(monkeypatch) -> list[str]:
    """Record every case whose events are folded through the service function (case_view)."""
    folded: list[str] = []
    real = cases_service.case_view

    def counting(case_id: str):
        folded.append(case_id)
        return real(case_id)

    monkeypatch.setattr(cases_service, "case_view", counting)
    return folded


def row_of(page: str, number: str) -> str:
    return next(r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if number in r)


def test_home_lists_a_calendar_missing_case_by_its_stored_flag_without_folding(township_app, monkeypatch):
    publish_a_year_long_item()
    client = township_app.test_client()
    login(client, "township")
    case = accept(client)
    assert case.calendar_missing is True

    folded = count_folds(monkeypatch)
    home = client.get("/").get_data(as_text=True)
    assert "期限待定：所在年度的工作日历尚未导入" in home
    assert LABEL in row_of(home, case.number) and "即将到期" not in row_of(home, case.number)
    assert folded == [], "the home page folds no events"


def test_a_row_not_reprojected_since_the_migration_is_folded_once_and_still_labelled(
    township_app, monkeypatch
):
    publish_a_year_long_item()
    client = township_app.test_client()
    login(client, "township")
    case = accept(client)
    CaseRecord.update(calendar_missing=None).where(CaseRecord.id == case.id).execute()

    folded = count_folds(monkeypatch)
    home = client.get("/").get_data(as_text=True)
    assert LABEL in row_of(home, case.number)
    assert folded == [case.id]


def test_search_results_say_calendar_missing_not_due_soon(township_app):
    publish_a_year_long_item()
    client = township_app.test_client()
    login(client, "township")
    case = accept(client)
    page = client.get("/search?q=张三").get_data(as_text=True)
    assert LABEL in row_of(page, case.number) and "即将到期" not in row_of(page, case.number)


def post_intake(client, token: str, **overrides) -> None:
    data = {**intake_data(token, **overrides), "csrf_token": csrf_token(client, INTAKE)}
    assert client.post(INTAKE, data=data).status_code == 302


def search_rows() -> list[tuple[int, str]]:
    return list(database.execute_sql("SELECT rowid, case_id FROM case_search ORDER BY rowid"))


def test_search_rows_survive_reindexing_without_duplicates(client):
    login(client, "village")
    post_intake(client, "tok-a")
    post_intake(client, "tok-b", applicant_name="李四", id_number=citizen_id("99010119900101123"))
    records = {r.id: r.number for r in CaseRecord.select()}
    for _ in range(3):
        for case_id in records:
            with write_transaction():
                project_case(case_id)
    keyed = dict(database.execute_sql("SELECT rowid, id FROM case_record"))
    assert search_rows() == sorted(keyed.items()), "one row per case, at the case_record rowid"
    for query, name in (("zhangsan", "张三"), ("lisi", "李四")):
        page = client.get(f"/search?q={query}").get_data(as_text=True)
        rows = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "<td>" in r]
        assert len(rows) == 1 and f"<td>{name}</td>" in rows[0], query


def test_case_numbers_count_up_within_the_day(client):
    login(client, "village")
    for n in range(3):
        post_intake(client, f"tok-{n}", id_number=citizen_id(f"9901011980010112{n}"))
    numbers = sorted(r.number for r in CaseRecord.select())
    assert [n.rsplit("-", 1)[1] for n in numbers] == ["0001", "0002", "0003"]
    assert len({n.rsplit("-", 1)[0] for n in numbers}) == 1


def test_migration_rekeys_existing_search_rows_and_marks_known_flags(tmp_path: Path):
    db_path = tmp_path / "old.db"
    raw = sqlite3.connect(db_path)
    old = SqliteDatabase(str(db_path))
    names = [name for name, _ in MIGRATIONS]
    speed = names.index("0010_window_speed")
    for _, function in MIGRATIONS[:speed]:
        function(old)
    raw.execute("INSERT INTO applicant VALUES ('a1', '张三', 'cn', x'00', 'h', 'm', '', '', 't')")
    rows = [("c1", "N-1", "red", "2026-01-05"), ("c2", "N-2", "yellow", None), ("c3", "N-3", "none", None)]
    for case_id, number, light, deadline in rows:
        raw.execute(
            "INSERT INTO case_record (id, number, station_code, item_code, item_version, item_name, applicant_id,"
            " applicant_name, applicant_id_masked, state, received_on, deadline, light, created_by, created_at,"
            " updated_at) VALUES (?, ?, 's', 'i', 1, '低保', 'a1', '张三', 'm', 'accepted', '2026-01-01', ?, ?,"
            " 'u', 't', 't')",
            (case_id, number, deadline, light),
        )
    # Old-style search rows: FTS rowids unrelated to case_record's, one case indexed twice.
    for case_id in ("c3", "c1", "c2", "c3"):
        raw.execute(
            "INSERT INTO case_search (case_id, number, applicant, pinyin, item) VALUES (?, ?, '张 三', 'zhang', '低 保')",
            (case_id, f"N {case_id[1]}"),
        )
    raw.commit()
    MIGRATIONS[speed][1](old)
    old.close()

    keyed = dict(raw.execute("SELECT rowid, id FROM case_record"))
    assert sorted(raw.execute("SELECT rowid, case_id FROM case_search")) == sorted(keyed.items())
    assert raw.execute("SELECT count(*) FROM case_search WHERE case_search MATCH 'zhang'").fetchone()[0] == 3
    flags = dict(raw.execute("SELECT id, calendar_missing FROM case_record"))
    assert flags == {"c1": 0, "c2": None, "c3": 0}, "only a yellow row without a deadline is left unknown"
