"""The window pages read a ten-year store through indexes (issue 4): every statement the home page and a case page
run is planned by SQLite without walking the event log, and the home lists seek open cases by light rather than
skip every closed case. Checked on the real statements the pages execute (traced), with EXPLAIN QUERY PLAN."""

from __future__ import annotations

import re

from station.db import database
from station.models import CaseRecord
from station.services.custody.manifests import folder_here

from .conftest import csrf_token, login
from .helpers import LOW_INCOME, citizen_id, intake_data

INTAKE = f"/cases/new/{LOW_INCOME}"


def recording(app, monkeypatch) -> list[tuple[str, tuple]]:
    """Every statement the node's database executes from now on (with its parameters), SELECTs kept."""
    node_db = app.extensions["station"].database
    statements: list[tuple[str, tuple]] = []
    real = node_db.execute_sql

    def record(sql, params=None, *args, **kwargs):
        if sql.lstrip().upper().startswith("SELECT"):
            statements.append((sql, tuple(params or ())))
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(node_db, "execute_sql", record)
    return statements


def plan(statement: tuple[str, tuple]) -> list[str]:
    sql, params = statement
    return [row[3] for row in database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()]


def assert_no_walk_of_the_log(statements: list[tuple[str, tuple]]) -> None:
    for statement in statements:
        sql = statement[0]
        if '"event_log"' not in sql or ("EXISTS" in sql and "WHERE" not in sql):
            continue  # an EXISTS over the whole log stops at its first row
        steps = plan(statement)
        assert not any(re.match(r"SCAN (t\d|event_log)\b", s) for s in steps), (statement, steps)
        assert not any("sqlite_autoindex_event_log" in s for s in steps), (statement, steps)


def test_home_and_case_page_never_walk_the_log_and_seek_open_cases_by_light(township_app, monkeypatch):
    client = township_app.test_client()
    login(client, "township")
    for n in range(3):
        data = {**intake_data(f"tok-{n}", decision="accept", id_number=citizen_id(f"9901011980010112{n}")),
                "csrf_token": csrf_token(client, INTAKE)}  # fmt: skip
        assert client.post(INTAKE, data=data).status_code == 302
    case = CaseRecord.select().first()

    statements = recording(township_app, monkeypatch)
    assert client.get("/").status_code == 200
    home = list(statements)
    assert_no_walk_of_the_log(home)
    light_lists = [s for s in home if '"light" = ' in s[0] and '"case_record"' in s[0]]
    assert len(light_lists) >= 2, "the home page lists red and yellow cases"
    for statement in light_lists:
        assert any("case_record_open_light (light=? AND state=?)" in s for s in plan(statement)), statement

    statements.clear()
    assert client.get(f"/cases/{case.id}").status_code == 200
    assert statements
    assert_no_walk_of_the_log(statements)

    statements.clear()
    folder_here(case.id)  # the home page's custody panel asks it of every folder held here
    (last_hand_over,) = [s for s in statements if '"event_log"' in s[0]]
    assert any("event_log_aggregate (aggregate_kind=? AND aggregate_id=? AND station=?)" in s
               for s in plan(last_hand_over)), plan(last_hand_over)  # fmt: skip


def test_a_whole_case_number_finds_that_case_by_its_key(township_app, monkeypatch):
    client = township_app.test_client()
    login(client, "township")
    for n in range(3):
        data = {**intake_data(f"tok-{n}", decision="accept", id_number=citizen_id(f"9901011980010112{n}")),
                "csrf_token": csrf_token(client, INTAKE)}  # fmt: skip
        assert client.post(INTAKE, data=data).status_code == 302
    numbers = sorted(r.number for r in CaseRecord.select())

    def found(query: str) -> list[str]:
        page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
        rows = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "<td" in r]
        return [n for n in numbers if any(n in r for r in rows)]

    statements = recording(township_app, monkeypatch)
    for number in numbers:
        statements.clear()
        assert found(f" {number} ") == [number]
        assert not [s for s in statements if "case_search" in s[0]], "no full-text query for a whole number"
    assert found(numbers[1].rsplit("-", 1)[1]) == [numbers[1]], (
        "a part of a number is still found by full text"
    )
