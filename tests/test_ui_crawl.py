"""A crawl of every GET page of both nodes (a village and a township station, and central), for every role the
page allows and in both languages: 200 (or a documented redirect / 204), parseable HTML with the right
``<html lang>``, nothing loaded from another host, a CSRF token in every POST form, English chrome without
Chinese, and no raw internal codes shown to the clerk. Data comes from the real services and a real ingest."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from casework.catalog import demo_catalog
from central import create_app as create_central
from central.auth import PUBLIC as CENTRAL_PUBLIC
from central.models import Batch, Conflict
from central.services.stations import register_station
from station import create_app as create_station
from station import db as station_db
from station.auth import PUBLIC as STATION_PUBLIC
from station.services import custody
from station.services.attachments import attach_scan
from station.services.cases import Actor, IntakeForm, receive_application
from station.services.documents import available_documents

from .central import conftest as central_fixtures
from .central.builders import SimStation
from .station.conftest import CSRF_INPUT, TOWNSHIP_CODE, USERS, build_instance
from .station.conftest import PASSWORD as STATION_PASSWORD
from .station.helpers import LOW_INCOME, intake_data
from .station.test_custody import COUNTY_CODE, ID_NUMBERS
from .support.crawl import page_problems

# Per-render values (CSRF and idempotency tokens) that make otherwise identical pages differ.
ONE_TIME_VALUE = re.compile(r'name="(?:csrf_token|token)" value="[^"]*"')
LANGS = ("zh", "en")
BUNDLE = "YJ00003000"
# Values the tests typed in (names, addresses, station names): data, not UI chrome, so Chinese is fine in English.
DATA_STRINGS = (
    "张晓明", "李四", "张三", "示范村一组",
    "测试村便民服务站", "测试镇便民服务中心", "示范县政务服务中心", "示范镇便民服务中心", "示范村便民服务站",
    "中文",  # the language switch names the other language in that language
)  # fmt: skip
# Lower-case words with underscores that are genuinely shown (none yet; add with a reason).
ALLOWED_CODES: tuple[str, ...] = ()

# Official paper documents are printed in Chinese whatever the UI language (docs/DEVELOPING.md): their print
# views are checked as Chinese pages in both languages.
PAPER_DOCUMENTS = frozenset({
    "documents.case_document", "documents.item_guide", "documents.daily_sheet",
    "custody.print_manifest", "custody.print_authorization",
})  # fmt: skip
# (site, endpoint) deliberately not crawled, with the reason. A test below proves each endpoint exists there.
EXCLUDED: dict[tuple[str, str], str] = {}  # empty: today every GET endpoint of every site is crawled


@dataclass
class Site:
    """One node under test: its app, which user plays each role, and the URLs of each GET endpoint."""

    name: str
    app: Flask
    public: object
    role_users: dict[str, str]
    urls: dict[str, list[str]] = field(default_factory=dict)
    checked: set[tuple[str, str, str, str]] = field(default_factory=set)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format="PNG")
    return out.getvalue()


def _csrf(client, path="/login") -> str:
    match = CSRF_INPUT.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def _login(client, username: str, password: str) -> None:
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": _csrf(client)}
    )
    assert response.status_code == 302, f"login of {username} failed"


def _station(tmp: Path, level: str) -> Site:
    if level == "village":
        path = build_instance(tmp / "village")
    else:
        path = build_instance(tmp / "township", code=TOWNSHIP_CODE, level="township", parent=COUNTY_CODE)
    app = create_station({"INSTANCE_PATH": str(path), "TESTING": True, "HUEY_IMMEDIATE": True})
    node = app.extensions["station"]
    staff = Actor(level, f"{level}_staff" if level == "village" else "township_clerk")
    with station_db.bound(node.database):
        first = _receive(node, staff, "张晓明", ID_NUMBERS[0])
        second = _receive(node, staff, "李四", ID_NUMBERS[1])
        client = app.test_client()
        _login(client, level, STATION_PASSWORD)
        intake_path = f"/cases/new/{LOW_INCOME}"
        decision = "receive" if level == "village" else "accept"
        data = {**intake_data("crawl-intake", decision=decision, defer=level == "village")}
        response = client.post(intake_path, data={**data, "csrf_token": _csrf(client, intake_path)})
        assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
        filed = response.headers["Location"].rsplit("/", 1)[1]
        _, problems = attach_scan(node.instance / "blobs", staff, first.id, _png(), "", "crawl-scan", 10**6)
        assert not problems
        scan = next(iter(_case_attachments(first.id)))
        authorization = custody.record_authorization(
            staff, first.id, "agent", ["submit_materials"], dt.date(2026, 11, 16), None, False, "crawl-auth"
        )
        if level == "village":
            to, carried = TOWNSHIP_CODE, second.id
        else:  # the township examines the accepted application and forwards it to the county (上报), on paper too
            act = f"/cases/{filed}/act/forward"
            form = {
                "token": "crawl-forward",
                "opinion": "材料齐全，同意上报",
                "csrf_token": _csrf(client, f"/cases/{filed}"),
            }
            assert client.post(act, data=form).status_code == 302
            to, carried = COUNTY_CODE, filed
        manifest = custody.create_manifest(node.keys.signing_key, staff, [carried], to, "agent")
        custody.dispatch_manifest(staff, manifest.id)  # the agent now carries it: "my folders" has a row
        documents = {case: [d.kind for d in available_documents(case)] for case in (first.id, filed)}
    case_urls = [f"/cases/{c}" for c in (first.id, second.id, filed)]
    urls = {
        "home.index": ["/"],
        "audit.show": ["/audit"],
        "cases.bundle_intake": [f"/bundles/{BUNDLE}/new"],
        "cases.show": case_urls,
        "cases.attachment": [f"/cases/{first.id}/attachments/{scan}"],
        "cases.intake": [intake_path],
        "cases.search": ["/search", "/search?q=%E5%BC%A0"],
        "documents.case_documents": [f"/cases/{c}/documents" for c in documents],
        "documents.case_document": [f"/cases/{c}/documents/{k}" for c, ks in documents.items() for k in ks],
        "documents.case_document_pdf": [
            f"/cases/{c}/documents/{k}.pdf" for c, ks in documents.items() for k in ks
        ],
        "documents.daily_sheet": ["/daily-sheet"],
        "documents.daily_sheet_pdf": ["/daily-sheet.pdf"],
        "documents.item_guide": [f"/items/{LOW_INCOME}/guide"],
        "documents.item_guide_pdf": [f"/items/{LOW_INCOME}/guide.pdf"],
        "documents.verify": ["/verify"],
        "custody.index": ["/custody/"],
        "custody.authorization": [f"/custody/cases/{first.id}/authorization"],
        "custody.authorization_pdf": [
            f"/custody/cases/{first.id}/authorization/{authorization.event_id}/pdf"
        ],
        "custody.print_authorization": [
            f"/custody/cases/{first.id}/authorization/{authorization.event_id}/print"
        ],
        "custody.issues": ["/custody/issues"],
        "custody.manifest": [f"/custody/manifests/{manifest.id}"],
        "custody.manifest_pdf": [f"/custody/manifests/{manifest.id}/pdf"],
        "custody.print_manifest": [f"/custody/manifests/{manifest.id}/print"],
        "custody.mine": ["/custody/mine"],
        "custody.receive": ["/custody/receive"],
        "items.find": ["/items/", "/items/?q=%E4%BD%8E%E4%BF%9D"],
        "items.guide": [f"/items/{LOW_INCOME}"],
        "auth.login": ["/login"],
        "reports.show": ["/reports/"],
        "reports.export_csv": ["/reports/export.csv"],
        "static": ["/static/style.css"],
        "sync.status": ["/sync/"],
    }
    for excluded_site, endpoint in EXCLUDED:
        if excluded_site == level:
            urls.pop(endpoint)
    role_users = {roles[0]: username for username, roles in USERS.items()}
    return Site(level, app, STATION_PUBLIC, role_users, urls)


def _receive(node, staff: Actor, name: str, id_number: str):
    """A case received at the window through the station's own service (收件)."""
    item = demo_catalog().item(LOW_INCOME)
    form = IntakeForm(secrets.token_hex(8), LOW_INCOME, name, id_number, "13800138000",
                      materials={m.key: "received" for m in item.materials})  # fmt: skip
    return receive_application(node.keys.field_cipher, staff, form)


def _case_attachments(case_id: str):
    from station.services.cases import case_view

    return case_view(case_id).attachments


def _central(tmp: Path) -> Site:
    config = central_fixtures.make_instance(tmp / "central")  # CSRF stays on: the crawl checks the tokens
    app = create_central(config)
    users = {
        "admin": "central_admin",
        "auditor": "auditor",
        "clerk": "township_clerk",
        "county": "county_clerk",
    }
    with app.app_context():
        for username, role in users.items():
            central_fixtures.add_user(username, role)
        register_station(COUNTY_CODE, "示范县政务服务中心", "county", None, "admin")
        register_station(TOWNSHIP_CODE, "示范镇便民服务中心", "township", COUNTY_CODE, "admin")
        register_station(central_fixtures.VILLAGE, "示范村便民服务站", "village", TOWNSHIP_CODE, "admin")
    client = app.test_client()
    info = client.get("/api/v1/info").get_json()
    stations = {}
    for code in (central_fixtures.VILLAGE, TOWNSHIP_CODE):
        sim = SimStation(code, info["network"])
        enrolled = client.post(
            "/api/v1/enroll", data=sim.enrollment_request(central_fixtures.issue(app, code))
        )
        assert enrolled.status_code == 200
        sim.open_epoch()
        stations[code] = sim
    village, township = stations[central_fixtures.VILLAGE], stations[TOWNSHIP_CODE]
    case_id = village.receive_case()
    _put(client, village.batch(village.events, info))
    base = _central_case_version(case_id)
    dispatch = {"from": "village_received", "to": "in_transit", "manifest_id": "m1", "carrier": "agent",
                "to_station": TOWNSHIP_CODE, "at": "2026-03-04T09:00:00+08:00", "direction": "up"}  # fmt: skip
    village.append("custody_dispatched", case_id, dispatch, base_version=base)
    _put(client, village.batch(village.events[-1:], info))
    refusal = {"from": "village_received", "to": "not_accepted", "decided_on": "2026-03-04",
               "reason_code": "other", "reason": "材料不符"}  # fmt: skip
    township.append("not_accepted", case_id, refusal, base_version=base)
    _put(client, township.batch(township.events, info))
    conflicts = [c.id for c in Conflict.select()]
    batches = [b.id for b in Batch.select()]
    assert conflicts and batches, "the crawl needs a conflict and batches at central"
    urls = {
        "home.dashboard": ["/"],
        "api.get_info": ["/api/v1/info"],
        "api.get_ack": [f"/api/v1/stations/{central_fixtures.VILLAGE}/ack"],
        "api.get_bundle": [f"/api/v1/stations/{central_fixtures.VILLAGE}/bundles?after=0"],
        "audit.list_entries": ["/audit"],
        "batches.list_all": ["/batches/"],
        "batches.show": [f"/batches/{b}" for b in batches],
        "cases.list_all": ["/cases/"],
        "cases.show": [f"/cases/{case_id}"],
        "conflicts.list_all": ["/conflicts/"],
        "conflicts.show": [f"/conflicts/{c}" for c in conflicts],
        "custody.list_issues": ["/custody/"],
        "auth.login": ["/login"],
        "publications.list_all": ["/publications/"],
        "reports.show": ["/reports/"],
        "reports.export_csv": ["/reports/export.csv"],
        "static": ["/static/style.css"],
        "stations.list_all": ["/stations/"],
        "stations.show": [f"/stations/{c}" for c in (COUNTY_CODE, TOWNSHIP_CODE, central_fixtures.VILLAGE)],
        "verify.verify": ["/verify"],
    }
    role_users = {role: username for username, role in users.items()}
    return Site("central", app, CENTRAL_PUBLIC, role_users, urls)


def _put(client, batch) -> None:
    assert client.put(f"/api/v1/files/{batch.name}", data=batch.data).status_code == 202


def _central_case_version(case_id: str) -> int:
    from central.models import CaseRecord

    return CaseRecord.get_by_id(case_id).version


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Site]:
    tmp = tmp_path_factory.mktemp("crawl")
    return {
        "village": _station(tmp, "village"),
        "township": _station(tmp, "township"),
        "central": _central(tmp),
    }


def _get_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def _roles_of(site: Site, endpoint: str) -> list[str | None]:
    allowed = site.app.view_functions[endpoint].allowed_roles
    if allowed == site.public:
        return [None, *sorted(site.role_users)]
    return sorted(allowed)


def _mimetype(endpoint: str) -> str:
    """What a 200 of the endpoint carries: HTML unless it is a file, a CSV, a PDF or the machine API."""
    if endpoint.endswith("_pdf"):
        return "application/pdf"
    return {
        "reports.export_csv": "text/csv",
        "static": "text/css",
        "cases.attachment": "image/png",
        "api.get_info": "application/json",
        "api.get_ack": "application/json",
        "api.get_bundle": "application/octet-stream",
    }.get(endpoint, "text/html")


def _with_lang(url: str, lang: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}lang={lang}"


def _check(site: Site, client, role, endpoint: str, url: str, lang: str) -> list[str]:
    with client.get(_with_lang(url, lang)) as response:
        response.get_data()
    where = f"{site.name} {role or 'anonymous'} {lang} {endpoint} {url}"
    expected = {200, 204} if endpoint == "api.get_bundle" else {200}
    if endpoint == "auth.login" and role is not None:
        expected = {200, 302}  # a signed-in user may be sent on to the home page
    if response.status_code not in expected:
        body = " ".join(response.get_data(as_text=True).split())
        return [f"{where}: status {response.status_code} {body[:300]}"]
    if response.status_code != 200:
        return []
    wanted = _mimetype(endpoint)
    if response.mimetype != wanted:
        return [f"{where}: {response.mimetype}, expected {wanted}"]
    if wanted != "text/html":
        return []
    html = response.get_data(as_text=True)
    # Pages that differ only in the session's CSRF token and the signed-in name are checked once (html5lib is slow).
    user = site.role_users.get(role, "") if role else ""
    normalised = ONE_TIME_VALUE.sub("", html).replace(f"<span>{user}</span>", "")
    key = (site.name, lang, endpoint, hashlib.sha256(normalised.encode()).hexdigest())
    if key in site.checked:
        return []
    site.checked.add(key)
    problems = page_problems(
        html,
        lang,
        data_strings=DATA_STRINGS,
        allowed_codes=ALLOWED_CODES,
        paper_document=endpoint in PAPER_DOCUMENTS,
    )
    return [f"{where}: {problem}" for problem in problems]


@pytest.mark.parametrize("name", ["village", "township", "central"])
def test_every_page_every_role_both_languages(sites, name):
    site = sites[name]
    station_like = name != "central"
    failures: list[str] = []
    for role in sorted({r for e in site.urls for r in _roles_of(site, e)}, key=str):
        client = site.app.test_client()
        if role is not None:
            password = STATION_PASSWORD if station_like else central_fixtures.PASSWORD
            _login(client, site.role_users[role], password)
        context = (
            station_db.bound(site.app.extensions["station"].database)
            if station_like
            else contextlib.nullcontext()
        )
        with context:
            for endpoint, urls in site.urls.items():
                if role not in _roles_of(site, endpoint):
                    continue
                for url in urls:
                    for lang in LANGS:
                        failures += _check(site, client, role, endpoint, url, lang)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", ["village", "township", "central"])
def test_every_get_endpoint_is_crawled_or_excluded_with_a_reason(sites, name):
    site = sites[name]
    endpoints = _get_endpoints(site.app)
    missing = endpoints - set(site.urls) - {e for s, e in EXCLUDED if s == name}
    assert not missing, f"GET endpoints neither crawled nor excluded: {sorted(missing)}"
    empty = [e for e, urls in site.urls.items() if not urls]
    assert not empty, f"endpoints with no URL to crawl: {empty}"


def test_the_exclusion_table_names_only_existing_endpoints(sites):
    unknown = [(s, e) for s, e in EXCLUDED if s not in sites or e not in _get_endpoints(sites[s].app)]
    assert not unknown
    assert all(reason.strip() for reason in EXCLUDED.values())
    for site in sites.values():
        assert set(site.urls) <= _get_endpoints(site.app), site.name


BROKEN_PAGE = """<!doctype html><html lang="zh-CN"><head><title>Cases</title>
<script src="https://cdn.example.com/x.js"></script><link rel="stylesheet" href="//fonts.example.com/f.css"></head>
<body><nav><a href="/">首页</a></nav><h1>办件 (办件)</h1><th>Applicant (申请人)</th>
<form method="post" action="/x"><button>Save</button></form><form method="get"><button>Go</button></form>
<p>State: accepted_with_gaps</p><code>natural_person</code><input value="not_shown"></body></html>"""


def test_the_page_checks_find_each_kind_of_problem():
    problems = list(page_problems(BROKEN_PAGE, "en"))
    text = "\n".join(problems)
    assert "<html lang='zh-CN'>, expected 'en'" in text
    assert "cdn.example.com" in text and "//fonts.example.com" in text
    assert text.count("POST form without csrf_token") == 1
    assert (
        "<nav>: '首页'" in text and "untranslated Chinese in <h1>" in text
    )  # a gloss needs English beside it
    assert "申请人" not in text  # "Applicant (申请人)" is English with its Chinese term
    assert "['accepted_with_gaps']" in text  # inside <code> or an input value it is not shown as text
    assert list(page_problems(BROKEN_PAGE, "zh", data_strings=["首页"])) != []
    assert not [p for p in page_problems(BROKEN_PAGE, "en", paper_document=True) if "lang=" in p]
