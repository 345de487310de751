"""Shared set-up of the multi-node 代办 tests: stations installed by their own CLI (init, enroll, create-user) against a
central served by waitress on 127.0.0.1, opened as apps and — when a test drives them as the clerks would — served
over HTTP themselves; plus the clerk's steps done through the pages (forms with CSRF, via WebClient)."""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from click.testing import CliRunner
from flask import Flask

from casework.catalog import demo_catalog
from central import create_app as create_central
from central.runtime import current_runtime
from central.services.stations import issue_enrollment_code, register_station
from station import create_app as create_station
from station import db as station_db
from station.cli import main as station_cli
from station.services import cases as case_service
from station.services.sync import run_sync
from tests.central.conftest import add_user, make_instance
from tests.support.calendars import publish_at_central
from tests.support.http import Response, WebClient
from tests.support.servers import serve_app

PASSWORD = "demo1234"
COUNTY = ("990101000000", "示范县政务服务中心", "county", None)
TOWNSHIP = ("990101101000", "示范镇便民服务中心", "township", "990101000000")
OTHER_TOWNSHIP = ("990101102000", "另一镇便民服务中心", "township", "990101000000")
VILLAGE = ("990101101201", "示范村便民服务站", "village", "990101101000")
USERS = {
    "village": (("village", "village_staff"), ("agent", "proxy_agent")),
    "township": (("township", "township_clerk"), ("agent", "proxy_agent")),
    "county": (("county", "county_clerk"), ("agent", "proxy_agent")),
}
ID_NUMBERS = ("330110198503121236", "33011020000229004X", "513434196001010813", "11010519491231002X")
CASE_NUMBER = re.compile(r"\b\d{12}-[A-Z]{2}\d{8}-\d{8}-[A-Z]\d{6}-\d{4}\b")


class Station:
    """A station instance set up by its own CLI (init, enroll, create-user) and opened as an app."""

    def __init__(self, tmp: Path, spec: tuple, central_url: str, code: str, users, online: bool) -> None:
        self.code, name, level, parent = spec
        self.central_url = central_url
        self.instance = tmp / self.code
        runner = CliRunner()
        where = ["--parent", parent] if parent else []
        self._ok(runner.invoke(station_cli, ["init", "--instance", str(self.instance), "--station-code", self.code,
                                             "--name", name, "--level", level, *where]))  # fmt: skip
        self._ok(runner.invoke(station_cli, ["enroll", "--instance", str(self.instance), "--central", central_url,
                                             "--code", code]))  # fmt: skip
        for username, role in users:
            self._ok(runner.invoke(station_cli, ["create-user", "--instance", str(self.instance), "--username",
                                                 username, "--role", role],
                                   env={"YICIBAN_STATION_NEW_PASSWORD": PASSWORD}))  # fmt: skip
        self.open(online)

    def open(self, online: bool) -> None:
        """(Re)open the app; offline means no CENTRAL_URL: the station reaches central only through the stick."""
        self.online = online
        self.app = create_station({"INSTANCE_PATH": str(self.instance), "HUEY_IMMEDIATE": True,
                                   "CENTRAL_URL": self.central_url if online else ""})  # fmt: skip
        self.node = self.app.extensions["station"]

    @staticmethod
    def _ok(result) -> None:
        assert result.exit_code == 0, result.output

    def bound(self):
        return station_db.bound(self.node.database)

    def actor(self, username: str, role: str) -> case_service.Actor:
        return case_service.Actor(username, role)

    def sync(self) -> dict:
        with self.bound():
            outcome = run_sync(self.node, "button")
        assert outcome["ok"], outcome
        return outcome

    def client(self, username: str):
        client = self.app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        response = client.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
        return client


class ServedStation(Station):
    """A station served by waitress on 127.0.0.1, used over HTTP by its clerks (one WebClient per login)."""

    def __init__(self, *args, **kwargs) -> None:
        self._stack = ExitStack()
        super().__init__(*args, **kwargs)

    def open(self, online: bool) -> None:
        self._stack.close()
        super().open(online)
        self.url = self._stack.enter_context(serve_app(self.app))
        self.clients: dict[str, Clerk] = {}

    def web(self, username: str) -> Clerk:
        if username not in self.clients:
            clerk = Clerk(self.url)
            clerk.login(username, PASSWORD)
            self.clients[username] = clerk
        return self.clients[username]

    def close(self) -> None:
        self._stack.close()


class Clerk(WebClient):
    """A clerk's browser on one station: the pages and forms of the route."""

    def ok(self, reply: Response, *, warnings: bool = False) -> Response:
        """The page came back (a refused form is 422); error messages fail it unless ``warnings`` allows them (an
        action saved while a deadline falls in a year whose holiday calendar is not published yet says so)."""
        assert reply.status == 200, (reply.status, reply.url, reply.text[:1500])
        flashed = re.findall(r'class="flash error"[^>]*>(.*?)<', reply.text, flags=re.S)
        assert warnings or not flashed, flashed
        return reply

    def receive_application(
        self, item_code: str, name: str, id_number: str, decision: str = "receive"
    ) -> str:
        """收件 at the window; returns the case id (the number is on the page)."""
        path = f"/cases/new/{item_code}"
        page = self.ok(self.get(path))
        materials = {m: "received" for m in re.findall(r'name="(material_[^"]+)"', page.text)}
        assert len(materials) == len(demo_catalog().item(item_code).materials)
        reply = self.ok(self.post(path, {
            **self.form_fields(page, path), "applicant_name": name, "id_number": id_number, "phone": "13800138000",
            "address": "示范村一组", "decision": decision, **materials,
        }))  # fmt: skip
        assert CASE_NUMBER.search(reply.text), "the saved case page shows its number"
        return urllib.parse.urlsplit(reply.url).path.rsplit("/", 1)[1]

    def act(self, case_id: str, action: str, **fields: str) -> Response:
        """One action from the case page's forms (受理, 上报, 准予, 待领取, 送达 …)."""
        page = f"/cases/{case_id}"
        reply = self.ok(self.submit(page, fields, form_action=f"{page}/act/{action}"), warnings=True)
        assert urllib.parse.urlsplit(reply.url).path == page and 'class="flash info"' in reply.text, (
            reply.text[:2000]
        )
        return reply

    def rate(self, case_id: str, **fields: str) -> Response:
        page = f"/cases/{case_id}"
        return self.ok(self.submit(page, fields, form_action=f"{page}/rate"), warnings=True)

    def follow_up(self, case_id: str, **fields: str) -> Response:
        page = self.get(f"/cases/{case_id}")
        [followup_id] = set(re.findall(rf"/cases/{case_id}/followups/([0-9a-f-]+)", page.text))
        action = f"/cases/{case_id}/followups/{followup_id}"
        return self.ok(self.post(action, {**self.form_fields(page, action), **fields}), warnings=True)

    def draft_manifest(self, to_station: str, case_ids: list[str], agent: str = "agent") -> str:
        """Tick the folders for one destination on the 代办 page and draft the 交接单; returns its id."""
        page = self.ok(self.get("/custody/"))
        forms = re.findall(r"<form\b[^>]*>(.*?)</form>", page.text, flags=re.S)
        [form] = [f for f in forms if f'name="to_station" value="{to_station}"' in f]
        offered = re.findall(r'name="case_id" value="([^"]+)"', form)
        assert set(case_ids) <= set(offered), (case_ids, offered)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        data = [("csrf_token", token), ("to_station", to_station), ("agent", agent)]
        reply = self.ok(self.post("/custody/manifests", data + [("case_id", c) for c in case_ids]))
        return urllib.parse.unquote(urllib.parse.urlsplit(reply.url).path.rsplit("/", 1)[1])

    def destinations(self) -> dict[str, list[str]]:
        """The 代办 page's new-manifest forms: destination → the folders offered."""
        page = self.ok(self.get("/custody/"))
        out = {}
        for form in re.findall(r"<form\b[^>]*>(.*?)</form>", page.text, flags=re.S):
            to = re.search(r'name="to_station" value="([^"]+)"', form)
            if to:
                out[to.group(1)] = re.findall(r'name="case_id" value="([^"]+)"', form)
        return out

    def dispatch(self, manifest_id: str) -> dict[str, str]:
        """移交: the agent takes the folders; returns each folder's label text as printed (case number → text)."""
        path = f"/custody/manifests/{manifest_id}"
        reply = self.ok(self.submit(path, {}, form_action=f"{path}/dispatch"))
        assert f"已交接：代办员正携带交接单 {manifest_id}" in reply.text, reply.text[:3000]
        cards = re.findall(r'<div class="card">(.*?)</div>', reply.text, flags=re.S)
        labels = {}
        for card in cards:
            number = re.search(r"<strong>([^<]+)</strong>", card).group(1)
            labels[number] = html.unescape(
                re.search(r'<code class="label-text">([^<]+)</code>', card).group(1)
            )
        return labels

    def sign_for(self, label: str) -> Response:
        """签收: type the folder's label on the receive page."""
        reply = self.ok(self.submit("/custody/receive", {"label": label}))
        assert "已签收卷宗" in reply.text or "Folder received" in reply.text, reply.text[:3000]
        return reply

    def sync_now(self) -> Response:
        return self.ok(self.submit("/sync/", {}, form_action="/sync/now"))

    def export_to(self, stick: Path) -> Response:
        return self.ok(self.submit("/sync/", {"folder": str(stick)}, form_action="/sync/export"))

    def import_from(self, stick: Path) -> Response:
        """The second button of the stick's form ("read files from central"): acks, bundles, relay."""
        page = self.ok(self.get("/sync/"))
        data = {**self.form_fields(page, "/sync/export"), "folder": str(stick)}
        return self.ok(self.post("/sync/import", data))


@contextmanager
def served(*stations: ServedStation) -> Iterator[None]:
    try:
        yield
    finally:
        for s in stations:
            s.close()


def prepared_central(
    folder: Path,
    stations: tuple[tuple[str, str, str, str], ...],
    enrolling: tuple[str, ...],
    **settings: object,
) -> tuple[Flask, dict[str, str]]:
    """A central instance in ``folder`` as an operator sets it up: ``stations`` (code, name, level, parent)
    registered, an ``admin`` central_admin, one-time enrollment codes for the ``enrolling`` station codes, and the
    calendar years around today that casework does not ship published. Returns the app and the codes."""
    central = create_central(make_instance(folder, **settings))
    with central.app_context():
        for code, name, level, parent in stations:
            register_station(code, name, level, parent, "admin")
        add_user("admin", "central_admin")
        codes = {
            code: issue_enrollment_code(code, "admin", current_runtime().cipher, 72).code
            for code in enrolling
        }
    publish_at_central(central)
    return central, codes
