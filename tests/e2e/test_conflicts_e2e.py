"""Conflicts from real stations, every class end to end (SYNC-DESIGN §9; issue 5, item 4): central and a village with
its township, each served by waitress on 127.0.0.1 and driven over HTTP by their clerks (forms with CSRF), syncing
when the clerk presses the button. Between two syncs a station is offline: what its clerk does there is concurrent
with what the other station does meanwhile.

Every event a station appends declares its base (the central version it learned from its bundles), so central sees
which acts are concurrent: A (a withdrawal and a grant), B (two corrections of one phone number), C (one person, one
item, two windows — matched by the network duplicate token, never by the ID number), E (an application under the
catalog central has just replaced), F (a note on a merged case; a grant on a withdrawn one) and G (a station restored
from an old copy of its store, writing different events at the same positions). Each resolution — automatic, or by
the central admin through the review page's form — reaches both stations in their next downstream bundle and is
shown on both case pages.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from importlib import resources

import pytest

from casework.identifiers import citizen_id_check_char
from central.models import CaseRecord as CentralCase
from central.models import Conflict
from central.services.publications import publish_catalog
from station.models import CaseRecord as StationCase
from tests.central.conftest import PASSWORD as CENTRAL_PASSWORD
from tests.e2e.nodes import COUNTY, TOWNSHIP, USERS, VILLAGE, Clerk, ServedStation, prepared_central, served
from tests.support.http import WebClient
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]
RELIEF = "GF00203000"  # 临时救助申请: received at the village, accepted and decided by the township
_serial = iter(range(1, 1000))


def id_number() -> str:
    n = next(_serial)
    body = f"990101{dt.date(1950, 1, 1) + dt.timedelta(days=41 * n):%Y%m%d}{n % 1000:03d}"
    return body + citizen_id_check_char(body)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conflicts")
    central, codes = prepared_central(tmp / "central", (COUNTY, TOWNSHIP, VILLAGE), (VILLAGE[0], TOWNSHIP[0]))
    with serve_app(central) as url:
        village = ServedStation(tmp, VILLAGE, url, codes[VILLAGE[0]], USERS["village"], online=True)
        township = ServedStation(tmp, TOWNSHIP, url, codes[TOWNSHIP[0]], USERS["township"], online=True)
        with served(village, township):
            # First bundles: the registry (each other's keys) and the network duplicate key.
            sync(village, township)
            admin = WebClient(url)
            admin.login("admin", CENTRAL_PASSWORD)
            yield central, admin, village, township


def clerk(station: ServedStation) -> Clerk:
    return station.web("village" if station.code == VILLAGE[0] else "township")


def sync(*stations: ServedStation) -> None:
    for station in stations:
        clerk(station).sync_now()


def shared_cases(network, count: int) -> list[str]:
    """Cases the village receives and sends up, that the township signs for and accepts; afterwards both stations
    have synced, so each knows the other's events (the central version every later act declares as its base)."""
    _central, _admin, village, township = network
    v, t = clerk(village), clerk(township)
    ids = [v.receive_application(RELIEF, f"申请人{n}", id_number()) for n in range(count)]
    labels = v.dispatch(v.draft_manifest(TOWNSHIP[0], ids))
    sync(village, township)
    for label in labels.values():
        t.sign_for(label)
    for case_id in ids:
        t.act(case_id, "accept")
    sync(township, village)
    return ids


def conflicts_of(central, case_id: str) -> list[Conflict]:
    with central.app_context():
        return list(
            Conflict.select()
            .where(Conflict.aggregate_id == case_id, Conflict.conflict_class != "D")
            .order_by(Conflict.id)
        )


def resolve_in_ui(admin: WebClient, conflict: Conflict, choice: str, *, shows: tuple[str, ...] = ()) -> None:
    """The central admin reads the conflict (both sides, class, owner, age, in Chinese) and chooses."""
    queue = admin.get(f"/conflicts/?status=open&class={conflict.conflict_class}")
    row = re.search(rf'<tr[^>]*><td><a href="/conflicts/{conflict.id}">.*?</tr>', queue.text, flags=re.S)
    assert row, queue.text[:3000]
    assert conflict.station_code in row.group(0) and re.search(r"\d+ 天 \d+ 小时", row.group(0))
    assert "等待人工处理" in row.group(0)
    page = admin.get(f"/conflicts/{conflict.id}")
    assert page.status == 200
    for text in ("中心现有记录", "新到达的记录", "责任站点", "已等待", "天", conflict.station_code, *shows):
        assert text in page.text, (text, page.text[:3000])
    assert f'value="{choice}"' in page.text
    reply = admin.submit(
        f"/conflicts/{conflict.id}", {"choice": choice}, form_action=f"/conflicts/{conflict.id}/resolve"
    )
    assert reply.status == 200 and "已处理" in reply.text, reply.text[:2000]


def states(network, case_id: str) -> list[str]:
    """The case's state in each station's own projection (village, township)."""
    _central, _admin, village, township = network
    found = []
    for station in (village, township):
        with station.bound():
            found.append(StationCase.get_by_id(case_id).state)
    return found


def case_page(station: ServedStation, case_id: str) -> str:
    page = clerk(station).get(f"/cases/{case_id}")
    assert page.status == 200, (station.code, case_id, page.status)
    return page.text


def assert_both_pages_show(network, case_ids: tuple[str, str] | str, *texts: str) -> None:
    """After both stations sync, each case page shows the resolution in words."""
    assert_both_pages(network, case_ids, "冲突已处理", *texts)


def assert_both_pages_flag(network, case_ids: tuple[str, str] | str, *texts: str) -> None:
    """After both stations sync, each case page says a conflict on it waits for central."""
    assert_both_pages(network, case_ids, "冲突待中心处理", *texts)


def assert_both_pages(network, case_ids: tuple[str, str] | str, *texts: str) -> None:
    _central, _admin, village, township = network
    sync(village, township)
    village_case, township_case = (case_ids, case_ids) if isinstance(case_ids, str) else case_ids
    for station, case_id in ((village, village_case), (township, township_case)):
        page = case_page(station, case_id)
        for text in texts:
            assert text in page, (station.code, text, page[page.find("中心") - 200 :][:1500])


def test_a_concurrent_withdrawal_and_grant_wait_for_the_admin_who_keeps_the_grant(network):
    central, admin, village, township = network
    [case_id] = shared_cases(network, 1)
    # Offline at both ends: the village withdraws, the township grants.
    clerk(village).act(case_id, "withdraw", reason="申请人撤回申请")
    clerk(township).act(case_id, "decide_grant", reasons="符合条件")
    sync(township, village)
    [conflict] = conflicts_of(central, case_id)
    assert (conflict.conflict_class, conflict.status, conflict.station_code) == ("A", "open", VILLAGE[0])
    with central.app_context():
        assert CentralCase.get_by_id(case_id).state == "decided_granted", (
            "the held-out withdrawal does not count"
        )
    queue = admin.get("/conflicts/?status=open").text
    assert "并发状态变更" in queue and VILLAGE[0] in queue and "等待人工处理" in queue
    assert_both_pages_flag(network, case_id, "并发状态变更", "涉及法律行为")
    resolve_in_ui(admin, conflict, "keep_applied", shows=("并发状态变更", "准予", "撤回"))
    assert_both_pages_show(network, case_id, "并发状态变更", "先前的操作有效")
    assert states(network, case_id) == ["decided_granted", "decided_granted"], (
        "the village rebased on central"
    )


def test_two_corrections_of_one_phone_resolve_automatically_the_later_wins(network):
    central, _admin, village, township = network
    [case_id] = shared_cases(network, 1)
    clerk(village).submit(f"/cases/{case_id}", {"field": "phone", "new": "13900000001"},
                          form_action=f"/cases/{case_id}/fields")  # fmt: skip
    clerk(township).submit(f"/cases/{case_id}", {"field": "phone", "new": "13700000002"},
                           form_action=f"/cases/{case_id}/fields")  # fmt: skip
    sync(village, township)
    [conflict] = conflicts_of(central, case_id)
    assert (conflict.conflict_class, conflict.status, conflict.outcome) == (
        "B",
        "auto_resolved",
        "last_writer_wins",
    )
    assert_both_pages_show(network, case_id, "同一信息在两处被修改", "以最后的修改为准", "自动处理")


def test_one_person_one_item_at_two_windows_is_flagged_and_the_admin_merges(network):
    central, admin, village, township = network
    person = id_number()
    at_village = clerk(village).receive_application(RELIEF, "孙丽", person)
    at_township = clerk(township).receive_application(RELIEF, "孙丽", person)
    sync(village, township)
    [conflict] = [c for c in conflicts_of(central, at_township) if c.conflict_class == "C"]
    assert (conflict.status, conflict.outcome, conflict.incoming_applied) == ("open", "flag_both", True)
    with central.app_context():
        assert CentralCase.select().where(CentralCase.case_id.in_([at_village, at_township])).count() == 2
        assert person not in json.dumps([c.data for c in CentralCase.select()])
    assert_both_pages_flag(network, (at_village, at_township), "疑似重复申请")
    # Before the admin decides, each window sees the other application by its number and station, in words.
    numbers = {}
    for station, case_id in ((village, at_village), (township, at_township)):
        with station.bound():
            numbers[station.code] = StationCase.get_by_id(case_id).number
    for station, case_id, other in ((village, at_village, TOWNSHIP), (township, at_township, VILLAGE)):
        page = case_page(station, case_id)
        banner = page[page.find("可能重复申请") :][:600]
        assert f"同一申请人在{other[1]}也申请了该事项" in banner and numbers[other[0]] in banner, (
            station.code,
            banner,
        )
    resolve_in_ui(admin, conflict, "merge", shows=("重复申请", at_village, at_township))
    assert_both_pages_show(network, (at_village, at_township), "疑似重复申请", "已并入先收的办件")
    assert "可能重复申请" not in case_page(village, at_village), "resolved: the flag is gone"

    # F, automatic: the township, offline, adds a note on its merged case; central redirects it, nothing lost.
    reply = clerk(township).submit(f"/cases/{at_township}", {"note": "申请人来电补充"},
                                   form_action=f"/cases/{at_township}/notes")  # fmt: skip
    assert reply.status == 200
    sync(township)
    late = [c for c in conflicts_of(central, at_township) if c.conflict_class == "F"]
    assert [(c.status, c.outcome) for c in late] == [("auto_resolved", "redirect")]
    assert_both_pages_show(network, (at_village, at_township), "已办结/已合并办件的迟到变更")


def test_an_application_under_the_replaced_catalog_is_evaluated_under_it(network):
    central, _admin, village, _township = network
    document = json.loads(resources.files("casework").joinpath("data/demo_catalog.json").read_bytes())
    with central.app_context():
        publish_catalog(json.dumps(document, ensure_ascii=False).encode(), "admin")
        document["catalog_version"] = 2
        publish_catalog(json.dumps(document, ensure_ascii=False).encode(), "admin")
    # The village has not synced since: it receives under catalog v1.
    case_id = clerk(village).receive_application(RELIEF, "钱芳", id_number())
    sync(village)
    [conflict] = conflicts_of(central, case_id)
    assert (conflict.conflict_class, conflict.status) == ("E", "auto_resolved")
    assert_both_pages_show(network, case_id, "目录版本过期", "按收件时有效的目录版本处理")


def test_a_grant_on_a_case_the_village_withdrew_waits_for_the_admin(network):
    central, admin, village, township = network
    [case_id] = shared_cases(network, 1)
    clerk(village).act(case_id, "withdraw", reason="申请人已外出务工")
    sync(village)
    clerk(township).act(case_id, "decide_grant", reasons="符合条件")  # the township has not synced: offline
    sync(township)
    [conflict] = conflicts_of(central, case_id)
    assert (conflict.conflict_class, conflict.status, conflict.incoming_applied) == ("F", "open", False)
    assert_both_pages_flag(network, case_id, "已办结/已合并办件的迟到变更")
    resolve_in_ui(admin, conflict, "keep_applied", shows=("已办结",))
    with central.app_context():
        assert CentralCase.get_by_id(case_id).state == "withdrawn"
    assert_both_pages_show(network, case_id, "已办结/已合并办件的迟到变更", "先前的操作有效")
    assert states(network, case_id) == ["withdrawn", "withdrawn"], "the township rebased on central"


def test_a_store_put_back_from_an_old_copy_forks_and_the_admin_closes_it(network):
    central, admin, village, township = network
    [case_id] = shared_cases(network, 1)
    store = village.instance / "station.db"
    copy = village.instance.parent / "village-copy.db"
    with sqlite3.connect(store) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    v = clerk(village)
    v.submit(f"/cases/{case_id}", {"note": "原记录"}, form_action=f"/cases/{case_id}/notes")
    sync(village)
    # The store is put back from the old copy (SQLite's online backup, page by page, as a careless restore of
    # the PC's disk would); the clerk works on before the next sync.
    with sqlite3.connect(copy) as source, sqlite3.connect(store) as target:
        source.backup(target)
    v = clerk(village)
    for text in (
        "另一条记录",
        "再一条记录",
    ):  # the second one continues the put-back chain past central's head
        v.submit(f"/cases/{case_id}", {"note": text}, form_action=f"/cases/{case_id}/notes")
    v.ok(v.submit("/sync/", {}, form_action="/sync/now"), warnings=True)
    [conflict] = [c for c in conflicts_of(central, case_id) if c.conflict_class == "G"]
    assert (conflict.status, conflict.station_code) == ("open", VILLAGE[0])
    # Both sides: the note central holds, and the put-back store's note that claims to follow another event.
    resolve_in_ui(admin, conflict, "dismiss", shows=("完整性问题", "旧备份", "原记录", "再一条记录"))
    sync(township)
    v.ok(v.submit("/sync/", {}, form_action="/sync/now"), warnings=True)
    for station in (village, township):
        page = case_page(station, case_id)
        assert "冲突已处理" in page and "完整性问题" in page, station.code
