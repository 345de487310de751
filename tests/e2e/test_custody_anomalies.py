"""Custody anomalies end to end (issue 6, item 3; SPEC §3.4; SYNC-DESIGN §9 class D), on real nodes: central and
three stations — a village, its township and a second township — each served by waitress on 127.0.0.1 and driven
over HTTP by their clerks (forms with CSRF), syncing when the clerk presses the button.

- A matched pair (the village sends, its township signs for the folder) closes by itself and raises nothing.
- Each anomaly — a receipt without a dispatch, a double receipt, a folder received by the wrong station, a folder in
  transit past its limit — becomes a class-D conflict at central (its custody queue and its conflict queue) and is
  shown on the home page of both the village and the township after their next sync.

The transit limit is central's configuration (``CUSTODY_HOP_DAYS``: village → township 2 working days here, 3 by
default); the agent's departure is recorded three working days back through the clock the custody service takes
(``dispatch_manifest(now=…)``), so no test waits for days to pass.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from casework.identifiers import citizen_id_check_char
from central.models import Conflict, CustodyIssue, CustodyPair
from station.services import custody as station_custody
from tests.central.conftest import PASSWORD as CENTRAL_PASSWORD
from tests.e2e.nodes import (
    COUNTY,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    USERS,
    VILLAGE,
    Clerk,
    ServedStation,
    prepared_central,
    served,
)
from tests.support.calendars import calendar_with_stand_ins
from tests.support.http import WebClient
from tests.support.servers import serve_app

pytestmark = [pytest.mark.slow]
LOW_INCOME = "GF00201000"  # 最低生活保障申请: received at the village, accepted by the township
CHINA = dt.timezone(dt.timedelta(hours=8))
HOP_LIMIT = 2  # working days village → township, set at central below (the default is 3)
_serial = iter(range(1, 1000))


def id_number() -> str:
    n = next(_serial)
    body = f"990101{dt.date(1960, 1, 1) + dt.timedelta(days=37 * n):%Y%m%d}{n % 1000:03d}"
    return body + citizen_id_check_char(body)


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("custody-anomalies")
    central, codes = prepared_central(
        tmp / "central",
        (COUNTY, TOWNSHIP, OTHER_TOWNSHIP, VILLAGE),
        (VILLAGE[0], TOWNSHIP[0], OTHER_TOWNSHIP[0]),
        CUSTODY_HOP_DAYS=f"village>township={HOP_LIMIT}",
    )
    with serve_app(central) as url:
        village = ServedStation(tmp, VILLAGE, url, codes[VILLAGE[0]], USERS["village"], online=True)
        township = ServedStation(tmp, TOWNSHIP, url, codes[TOWNSHIP[0]], USERS["township"], online=True)
        other = ServedStation(
            tmp, OTHER_TOWNSHIP, url, codes[OTHER_TOWNSHIP[0]], USERS["township"], online=True
        )
        with served(village, township, other):
            # The townships learn the registry (the village's key) before they read any label.
            township.web("township").sync_now()
            other.web("township").sync_now()
            admin = WebClient(url)
            admin.login("admin", CENTRAL_PASSWORD)
            yield central, admin, village, township, other


def labels_on(clerk: Clerk, manifest_id: str) -> dict[str, str]:
    """The label text printed on each folder of a manifest (drafted or dispatched): case number → text."""
    page = clerk.ok(clerk.get(f"/custody/manifests/{manifest_id}"))
    labels = {}
    for card in re.findall(r'<div class="card">(.*?)</div>', page.text, flags=re.S):
        number = re.search(r"<strong>([^<]+)</strong>", card).group(1)
        labels[number] = html.unescape(re.search(r'<code class="label-text">([^<]+)</code>', card).group(1))
    return labels


def case_number(clerk: Clerk, case_id: str) -> str:
    page = clerk.ok(clerk.get(f"/cases/{case_id}"))
    return re.search(r"\b\d{12}-[A-Z]{2}\d{8}-\d{8}-[A-Z]\d{6}-\d{4}\b", page.text).group(0)


def home_issues(station: ServedStation, username: str) -> str:
    """The 代办 section of the home page: its custody issues, as the clerk reads them."""
    page = station.web(username).ok(station.web(username).get("/"))
    [section] = re.findall(r'<section class="custody-home">(.*?)</section>', page.text, flags=re.S)
    return html.unescape(section)


def open_issues(central, case_id: str) -> dict[str, CustodyIssue]:
    with central.app_context():
        rows = CustodyIssue.select().where(CustodyIssue.case_id == case_id, CustodyIssue.status == "open")
        return {row.kind: row for row in rows}


def sync_all(*stations: ServedStation) -> None:
    for station in stations:
        station.web("village" if station.code == VILLAGE[0] else "township").sync_now()


def test_a_matched_dispatch_and_receipt_close_by_themselves_and_raise_nothing(network):
    central, admin, village, township, _other = network
    clerk_v, clerk_t = village.web("village"), township.web("township")
    case_id = clerk_v.receive_application(LOW_INCOME, "周桂英", id_number())
    number = case_number(clerk_v, case_id)
    manifest = clerk_v.draft_manifest(TOWNSHIP[0], [case_id])
    [label] = clerk_v.dispatch(manifest).values()
    clerk_v.sync_now()
    clerk_t.sync_now()
    clerk_t.sign_for(label)
    sync_all(township, village)

    with central.app_context():
        pair = CustodyPair.get(CustodyPair.case_id == case_id)
        assert (pair.from_station, pair.to_station, pair.status) == (VILLAGE[0], TOWNSHIP[0], "closed")
        assert CustodyIssue.select().where(CustodyIssue.case_id == case_id).count() == 0, "never raised"
        assert (
            Conflict.select().where(Conflict.aggregate_id == case_id, Conflict.conflict_class == "D").count()
            == 0
        )
    assert number not in admin.get("/custody/?status=open").text
    assert number not in admin.get("/custody/?status=cleared").text
    for station, user in ((village, "village"), (township, "township")):
        assert number not in home_issues(station, user), station.code
    with village.bound():
        today = dt.datetime.now(CHINA).date()
        assert case_id not in {f.case_id for f in station_custody.carried_by("agent", today)}, (
            "central told the village the folder arrived"
        )


def test_every_custody_anomaly_is_a_class_d_conflict_at_central_and_on_both_home_pages(network):
    central, admin, village, township, other = network
    clerk_v, clerk_t, clerk_o = village.web("village"), township.web("township"), other.web("township")
    names = {"unsent": "吴秀珍", "misrouted": "郑国强", "late": "冯玉兰"}
    cases = {key: clerk_v.receive_application(LOW_INCOME, name, id_number()) for key, name in names.items()}
    numbers = {key: case_number(clerk_v, case_id) for key, case_id in cases.items()}

    # 1. Receipt without dispatch: the agent took a folder of a drafted manifest nobody dispatched, and the
    #    township signs for it by its label before any sync has told it about the case.
    unsent = clerk_v.draft_manifest(TOWNSHIP[0], [cases["unsent"]])
    [unsent_label] = labels_on(clerk_v, unsent).values()
    # 2. Wrong station and double receipt: the folder for our township is signed for at the other one too.
    sent = clerk_v.draft_manifest(TOWNSHIP[0], [cases["misrouted"]])
    [misrouted_label] = clerk_v.dispatch(sent).values()
    # 3. In transit past its limit: the agent left three working days ago and nobody has signed since.
    late = clerk_v.draft_manifest(TOWNSHIP[0], [cases["late"]])
    today = dt.datetime.now(CHINA).date()
    calendar = calendar_with_stand_ins()
    left_on = today - dt.timedelta(days=1)
    while calendar.working_days_between(left_on, today) < HOP_LIMIT + 1:
        left_on -= dt.timedelta(days=1)
    left_at = dt.datetime.combine(left_on, dt.time(9, 30), CHINA)
    actor = village.actor("village", "village_staff")
    with village.bound():
        station_custody.dispatch_manifest(actor, late, left_at)

    assert "尚未同步到本站" in clerk_t.sign_for(unsent_label).text, "registered from the label alone"
    page = clerk_o.sign_for(misrouted_label)
    assert f"隶属 {TOWNSHIP[0]}" in html.unescape(page.text), "the other township is warned at once"
    clerk_t.sign_for(misrouted_label)
    # Each station syncs; the village's dispatches turn the early "receipt without dispatch" of the misrouted
    # folder into what it is (wrong station); the townships sync again to hear of it.
    sync_all(township, other, village, township, other)

    expected = {
        ("receipt_without_dispatch", "unsent"),
        ("wrong_station", "misrouted"),
        ("double_receipt", "misrouted"),
        ("transit_overdue", "late"),
    }
    queue = html.unescape(admin.get("/custody/").text)
    conflicts = html.unescape(admin.get("/conflicts/?class=D&status=open").text)
    shown = {"village": home_issues(village, "village"), "township": home_issues(township, "township")}
    for kind, key in sorted(expected):
        issue = open_issues(central, cases[key]).get(kind)
        assert issue is not None, (kind, key, open_issues(central, cases[key]))
        assert issue.conflict_class == "D" and {VILLAGE[0], TOWNSHIP[0]} <= set(issue.station_codes)
        with central.app_context():
            conflict = Conflict.get_by_id(issue.conflict_id)
        assert (conflict.conflict_class, conflict.status, conflict.outcome) == ("D", "open", kind)
        assert numbers[key] in issue.description_zh
        assert issue.description_zh in queue, f"central's custody queue lists {kind}"
        assert issue.description_zh in conflicts, f"central's conflict queue lists {kind} as class D"
        for station, text in shown.items():
            assert issue.description_zh in text, f"{station}'s home page shows {kind}"
    assert OTHER_TOWNSHIP[0] in open_issues(central, cases["misrouted"])["wrong_station"].description_zh
    late_issue = open_issues(central, cases["late"])["transit_overdue"]
    assert late_issue.since == left_on.isoformat() and late_issue.age_days == calendar.working_days_between(
        left_on, today
    )
    assert f"{len(expected)}" in re.search(r'<span class="light red">(\d+)</span>', shown["village"]).group(1)
    # The second township learns of the folder it should not have signed for.
    other_home = home_issues(other, "township")
    assert open_issues(central, cases["misrouted"])["wrong_station"].description_zh in other_home
