"""kill -9 fault injection (SPEC.md §6): real `yiciban-station serve` and `yiciban-central serve` processes are
killed at random moments while clerks save applications over HTTP and while the station pushes / central ingests;
after restarts no acknowledged case is lost, none is duplicated, and the log is one verified chain."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import itertools
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from casework.catalog import demo_catalog
from casework.identifiers import citizen_id_check_char
from sync_protocol.acks import parse_ack
from sync_protocol.events import parse_event, verify_chain
from sync_protocol.schema import ZERO_ID
from tests.support.http import WebClient
from tests.support.servers import NodeProcess, console_script

pytestmark = [pytest.mark.slow]

STATION_CLI = console_script("yiciban-station")
CENTRAL_CLI = console_script("yiciban-central")
NETWORK = "test-kill9"
TOWNSHIP = ("990101101000", "示范镇便民服务中心", "township", "990101000000")
COUNTY = ("990101000000", "示范县政务服务中心", "county", "")
ITEM = "GF00201000"  # 最低生活保障申请: a township receives and accepts it at the window
CLERK, PASSWORD = "clerk", "demo1234"
EVENTS_PER_INTAKE = 3  # applicant.created, case.received, case.accepted — one transaction


def cli(program: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [program, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )
    assert result.returncode == 0, f"{program} {args[0]}: {result.stdout}{result.stderr}"
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def init_station(instance: Path, network: str | None = NETWORK, station: tuple[str, ...] = TOWNSHIP) -> Path:
    code, name, level, parent = station
    extra = ["--network", network] if network else []
    cli(STATION_CLI, "init", "--instance", str(instance), "--station-code", code, "--name", name,
        "--level", level, "--parent", parent, *extra)  # fmt: skip
    cli(STATION_CLI, "create-user", "--instance", str(instance), "--username", CLERK, "--role", "township_clerk",
        env={"YICIBAN_STATION_NEW_PASSWORD": PASSWORD})  # fmt: skip
    return instance


class Node(NodeProcess):
    """A node process whose output is shown when the test fails (NodeProcess closes its pipe once it ended)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        STARTED.append(self)


STARTED: list[Node] = []


@pytest.fixture(autouse=True)
def node_output():
    """Every node's last output lines, shown by pytest when a test fails."""
    STARTED.clear()
    yield
    for node in STARTED:
        print(
            f"--- {' '.join(map(str, node.proc.args[1:3]))} (pid {node.proc.pid}, exit {node.proc.returncode})"
        )
        print("\n".join(node.lines[-30:]))


def start_station(instance: Path, env: dict[str, str] | None = None) -> tuple[Node, str]:
    """`yiciban-station serve`; it prints its URL only after create_app's start-up self-check passed."""
    node = Node([STATION_CLI, "serve", "--instance", str(instance), "--port", "0"], env=env)
    try:
        return node, node.url(timeout=60)
    except AssertionError:
        node.stop()
        raise


_ids = itertools.count(1)
_ids_lock = threading.Lock()


def new_id_number() -> str:
    with _ids_lock:
        n = next(_ids)
    body = f"990101{dt.date(1950, 1, 1) + dt.timedelta(days=n):%Y%m%d}{n % 1000:03d}"  # unique per n
    return body + citizen_id_check_char(body)


@dataclass
class Submission:
    """One intake form a clerk sent: its form token, what was typed, and what the clerk saw."""

    token: str
    fields: dict[str, str]
    saved_case: str | None = None  # the case page the clerk was shown ("saved")


@dataclass
class Desk:
    """Everything the clerks sent, shared by their threads."""

    submissions: list[Submission] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, submission: Submission) -> None:
        with self.lock:
            self.submissions.append(submission)

    @property
    def unconfirmed(self) -> list[Submission]:
        return [s for s in self.submissions if s.saved_case is None]


CASE_PAGE = re.compile(r"/cases/([0-9a-f-]{36})$")
CONNECTION_LOST = (OSError, http.client.HTTPException, urllib.error.URLError)


def intake_fields(page_text: str) -> dict[str, str]:
    materials = {m: "received" for m in re.findall(r'name="(material_[^"]+)"', page_text)}
    assert len(materials) == len(demo_catalog().item(ITEM).materials), "the checklist is on the form"
    return {"applicant_name": "李秀英", "id_number": new_id_number(), "phone": "13800138000",
            "address": "示范村一组", "decision": "accept", **materials}  # fmt: skip


def login(url: str) -> WebClient:
    clerk = WebClient(url, timeout=20)
    clerk.login(CLERK, PASSWORD)
    return clerk


def send(clerk: WebClient, submission: Submission) -> None:
    """POST the form (following the redirect to the case page); marks the submission saved on success."""
    path = f"/cases/new/{ITEM}"
    page = clerk.get(path)
    assert page.status == 200, page.status
    data = {**clerk.form_fields(page, path), **submission.fields, "token": submission.token}
    reply = clerk.post(path, data)
    match = CASE_PAGE.search(reply.url)
    assert reply.status == 200 and match, (reply.status, reply.url, reply.text[:1500])
    submission.saved_case = match.group(1)


def clerk_loop(clerk: WebClient, desk: Desk, stop: threading.Event) -> None:
    """Keep filling intake forms until the server dies (or ``stop``)."""
    try:
        while not stop.is_set():
            path = f"/cases/new/{ITEM}"
            page = clerk.get(path)
            form = clerk.form_fields(page, path)
            submission = Submission(form["token"], intake_fields(page.text))
            desk.add(submission)  # before the POST: from here on the clerk may have been told "saved"
            send(clerk, submission)
    except CONNECTION_LOST:
        return
    except AssertionError:
        if not stop.is_set():
            raise


class Clerks:
    """Logged-in browsers, kept across restarts (the session cookie outlives the process, as in a real hall)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.clients: list[WebClient] = []

    def at(self, url: str) -> list[WebClient]:
        if not self.clients:
            self.clients = [login(url) for _ in range(self.count)]
        for client in self.clients:
            client.base_url = url
            client.timeout = 120  # the sync button answers when the sync ends, slowly on a busy machine
        return self.clients


def resubmit(clerk: WebClient, submissions: list[Submission]) -> None:
    """The clerk presses submit again (same form token): saved → the same case; lost → saved now."""
    for submission in submissions:
        before = submission.saved_case
        send(clerk, submission)
        assert before is None or submission.saved_case == before, "a resubmitted form opened another case"


def run_clerks_and_kill(node: Node, clients: list[WebClient], desk: Desk, rng: random.Random) -> int:
    """Clerks save applications from several threads; once they are saving, kill -9 the station at a random
    moment. Returns how many POSTs were in flight (sent, not answered) when it died."""
    stop = threading.Event()
    answered_before = len(desk.submissions) - len(desk.unconfirmed)
    threads = [threading.Thread(target=clerk_loop, args=(c, desk, stop), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(desk.submissions) - len(desk.unconfirmed) == answered_before:
        assert time.monotonic() < deadline and any(t.is_alive() for t in threads), "clerks saved nothing"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.0))
    node.kill9()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return len(desk.unconfirmed)


# --- reading a stopped store -------------------------------------------------------------------------------------


@contextlib.contextmanager
def read_store(instance: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection (only ever read; a read-only one cannot join the running server's WAL), always closed:
    SQLite shares lock state per file among a process's connections, so a stale one breaks the next."""
    db = sqlite3.connect(instance / "station.db", timeout=10)
    try:
        yield db
    finally:
        db.close()


def assert_log_is_one_verified_chain(db: sqlite3.Connection) -> list[tuple[int, int, str]]:
    """Every epoch is seq 1..n, each body hashes to its stored id, and the chain verifies from its epoch.open —
    epoch 1 from zeros, a later one from the event its epoch.open names (the head it continued from)."""
    rows = db.execute("SELECT epoch, seq, event_id, body FROM event_log ORDER BY epoch, seq").fetchall()
    assert (
        db.execute("SELECT COUNT(*) - COUNT(DISTINCT epoch || '/' || seq) FROM event_log").fetchone()[0] == 0
    )
    ids = {(r[0], r[1]): r[2] for r in rows}
    for epoch in sorted({r[0] for r in rows}):
        of_epoch = [r for r in rows if r[0] == epoch]
        assert [r[1] for r in of_epoch] == list(range(1, len(of_epoch) + 1)), (
            f"seqs of epoch {epoch} not 1..n"
        )
        events = [parse_event(bytes(r[3])) for r in of_epoch]
        assert [e.event_id for e in events] == [r[2] for r in of_epoch], (
            "a stored id differs from its body's hash"
        )
        opened = events[0]
        assert opened.type == "epoch.open"
        link = (opened.payload["prev_epoch"], opened.payload["prev_seq"])
        assert (epoch == 1) == (link == (0, 0)), f"epoch {epoch} opened from {link}"
        verify_chain(events, ZERO_ID if epoch == 1 else ids[link])
    return [(r[0], r[1], r[2]) for r in rows]


def assert_every_form_saved_exactly_once(db: sqlite3.Connection, desk: Desk) -> None:
    tokens = [s.token for s in desk.submissions]
    assert len(set(tokens)) == len(tokens)
    received = dict(
        db.execute("SELECT idempotency_key, aggregate_id FROM event_log WHERE event_type = 'case.received'")
    )
    for submission in desk.submissions:
        assert received.get(submission.token) == submission.saved_case, (
            f"form {submission.token} lost or moved"
        )
    cases = db.execute("SELECT COUNT(*), COUNT(DISTINCT applicant_id) FROM case_record").fetchone()
    assert cases == (len(tokens), len(tokens)), "a case is missing or one applicant got two cases"
    assert db.execute("SELECT COUNT(*) FROM applicant").fetchone()[0] == len(tokens)
    assert db.execute("SELECT COUNT(*) FROM case_search").fetchone()[0] == len(tokens)
    assert db.execute("SELECT COUNT(*) FROM event_log WHERE event_type LIKE 'case.%' OR event_type LIKE "
                      "'applicant.%'").fetchone()[0] == EVENTS_PER_INTAKE * len(tokens), "an orphan event"  # fmt: skip
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill9_during_intake_loses_no_saved_case_and_duplicates_none(tmp_path):
    rng = random.Random()
    instance = init_station(tmp_path / "township")
    desk = Desk()
    clerks = Clerks(4)
    in_flight = []
    for _ in range(5):
        node, url = start_station(instance)
        resubmit(clerks.at(url)[0], desk.unconfirmed + [s for s in desk.submissions if s.saved_case][:2])
        in_flight.append(run_clerks_and_kill(node, clerks.at(url), desk, rng))
    node, url = start_station(instance)
    resubmit(clerks.at(url)[0], desk.unconfirmed)
    assert node.stop() == 0
    assert sum(in_flight) > 0, "no POST was in flight at any kill: the test did not hit a write"
    with read_store(instance) as db:
        assert_every_form_saved_exactly_once(db, desk)
        assert_log_is_one_verified_chain(db)
    print(f"{len(desk.submissions)} forms, POSTs in flight at each kill: {in_flight}")


# --- during sync -----------------------------------------------------------------------------------------------


@dataclass
class Central:
    instance: Path
    port: int
    node: Node | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.node = Node([CENTRAL_CLI, "serve", "--instance", str(self.instance), "--port", str(self.port)])
        self.node.url(timeout=60)

    def kill9(self) -> None:
        assert self.node is not None
        self.node.kill9()

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()

    def events_of(self, station: str) -> list[tuple[int, int, str]]:
        with contextlib.closing(sqlite3.connect(self.instance / "central.db", timeout=10)) as db:
            return db.execute(
                "SELECT epoch, seq, event_id FROM central_log WHERE station_code = ? ORDER BY epoch, seq",
                (station,),
            ).fetchall()


def start_central(
    folder: Path, stations: tuple[tuple[str, ...], ...] = (TOWNSHIP,)
) -> tuple[Central, list[str]]:
    """A real central with ``stations`` registered; returns it (serving) and one enrollment code per station."""
    instance = folder / "central"
    cli(CENTRAL_CLI, "init", "--instance", str(instance), "--network", NETWORK)
    for code, name, level, parent in (COUNTY, *stations):
        extra = ["--parent", parent] if parent else []
        cli(CENTRAL_CLI, "register-station", "--instance", str(instance), "--code", code, "--name", name,
            "--level", level, *extra)  # fmt: skip
    codes = []
    for station in stations:
        output = cli(CENTRAL_CLI, "enrollment-code", "--instance", str(instance), "--station", station[0])
        code = re.search(r"enrollment code for \d+: (\S+)", output)
        assert code, output
        codes.append(code.group(1))
    central = Central(instance, free_port())
    central.start()
    return central, codes


def stored_ack(instance: Path):
    with read_store(instance) as db:
        row = db.execute("SELECT value FROM node_state WHERE key = 'ack'").fetchone()
    return None if row is None else parse_ack(json.loads(row[0]).encode("ascii"))


def sync_progress(instance: Path) -> dict:
    try:
        with read_store(instance) as db:
            row = db.execute("SELECT value FROM node_state WHERE key = 'sync_progress'").fetchone()
    except sqlite3.OperationalError:
        return {}
    return json.loads(row[0]) if row else {}


def press_sync(clerk: WebClient) -> threading.Thread:
    """The sync button, pressed in a thread (the reply only comes when the sync ends — or the station dies)."""

    def press() -> None:
        with contextlib.suppress(*CONNECTION_LOST):
            clerk.submit("/sync/", {}, form_action="/sync/now")

    thread = threading.Thread(target=press, daemon=True)
    thread.start()
    return thread


def catch_mid_push(instance: Path, clients: list[WebClient], desk: Desk) -> dict:
    """Press the sync button and return once the push has sent some batches but not all; if the sync ends before
    that (little was waiting), the clerks save more and the button is pressed again."""
    for _ in range(5):
        before = sync_progress(instance)
        press_sync(clients[0])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            progress = sync_progress(instance)
            if progress.get("phase") == "push" and 1 <= progress.get("done", 0) < progress.get("total", 0):
                return progress
            if progress != before and progress.get("phase") == "done":
                break  # this sync ended before it was caught mid-push
            time.sleep(0.005)
        for _ in range(10):
            submission = Submission("", {})
            page = clients[0].get(f"/cases/new/{ITEM}")
            submission.token = clients[0].form_fields(page, f"/cases/new/{ITEM}")["token"]
            submission.fields = intake_fields(page.text)
            desk.add(submission)
            send(clients[0], submission)
    raise AssertionError(f"never caught the station mid-push: {sync_progress(instance)}")


def sync_until_acknowledged(instance: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        cli(STATION_CLI, "sync", "--instance", str(instance))
        with read_store(instance) as db:
            heads = dict(db.execute("SELECT epoch, MAX(seq) FROM event_log GROUP BY epoch"))
        ack = stored_ack(instance)
        if ack and all(ack.for_epoch(epoch).through == head for epoch, head in heads.items()):
            return
        assert time.monotonic() < deadline, f"central never acknowledged everything: {heads} vs {ack}"
        time.sleep(0.5)


def test_kill9_of_station_while_pushing_and_of_central_while_ingesting(tmp_path):
    rng = random.Random()
    central, (code,) = start_central(tmp_path)
    instance = init_station(tmp_path / "township", network=None)
    cli(STATION_CLI, "enroll", "--instance", str(instance), "--central", central.url, "--code", code)
    # Many small PUTs so a push lasts long enough to hit; no background sync between the button presses.
    small_batches = {
        "YICIBAN_STATION_SYNC_BATCH_EVENTS": "4",
        "YICIBAN_STATION_SYNC_INTERVAL_SECONDS": "3600",
    }
    desk = Desk()
    clerks = Clerks(3)
    kills = []
    try:
        for _ in range(3):
            node, url = start_station(instance, small_batches)
            resubmit(clerks.at(url)[0], desk.unconfirmed)
            run_clerks_and_kill(node, clerks.at(url), desk, rng)
            node, url = start_station(instance, small_batches)
            resubmit(clerks.at(url)[0], desk.unconfirmed)
            progress = catch_mid_push(instance, clerks.at(url), desk)
            time.sleep(rng.uniform(0.0, 0.2))
            node.kill9()
            kills.append(f"station seen at push {progress['done']}/{progress['total']}")
            time.sleep(rng.uniform(0.0, 0.3))  # central is still ingesting the files it stored
            central.kill9()
            central.start()
        sync_until_acknowledged(instance)
        with read_store(instance) as db:
            assert_every_form_saved_exactly_once(db, desk)
            local = assert_log_is_one_verified_chain(db)
        held_by_central = central.events_of(TOWNSHIP[0])
        assert held_by_central == local, "central does not hold exactly the station's log, each event once"
    finally:
        central.stop()
    print(f"{len(local)} events; kills: {kills}")
