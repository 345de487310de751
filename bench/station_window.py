"""Measuring the station window for bench/station.py: page and intake times against ``yiciban-station serve``
(the client's round trip and the server's own wall and CPU time from its Server-Timing header), idle RSS and
cold start."""

from __future__ import annotations

import random
import re
import statistics
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station_store import CLERK, PASSWORD, citizen_id, person_name

from casework.catalog import demo_catalog
from station import db as dbmod
from station import open_node
from station.models import Applicant, CaseRecord
from station.services import cases
from station.settings import load_settings
from tests.support.http import WebClient
from tests.support.servers import NodeProcess, console_script

GOAL_P95_MS = 50.0
GOAL_RSS_MB = 80.0
GOAL_COLD_S = 2.0


def result(name: str, value: float, goal: str, fmt: str = "{:.1f}") -> None:
    note = goal if goal.startswith("(") else f"goal {goal}"
    print(f"RESULT {name} {fmt.format(value)}    # {note}", flush=True)


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), cuts[18]


def rss_mb(pid: int) -> float:
    """Resident memory of the serve process and any child in its process group (huey workers, if processes)."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pgrp = int(stat.rsplit(")", 1)[1].split()[2])
            if pgrp == pid:
                status = (entry / "status").read_text()
                total_kb += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError, IndexError):
            continue
    return total_kb / 1024


def start_serve(instance: Path) -> tuple[NodeProcess, str, float]:
    """Start ``yiciban-station serve``; returns the process, its URL and seconds until /login answered 200."""
    started = time.perf_counter()
    node = NodeProcess(
        [console_script("yiciban-station"), "serve", "--instance", str(instance), "--port", "0"]
    )
    url = node.url(timeout=60)
    while True:
        try:
            with urllib.request.urlopen(url + "/login", timeout=10) as reply:
                if reply.status == 200:
                    return node, url, time.perf_counter() - started
        except OSError:
            time.sleep(0.01)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_SERVER_TIMING = re.compile(r"app;dur=([0-9.]+), cpu;dur=([0-9.]+)")


@dataclass
class Timings:
    """Per request, ms: the client's round trip, and the server's own wall and CPU time (its Server-Timing header:
    from the app's first before_request hook to its last after_request one, on the request's thread). Wall well
    above CPU means the request waited for a core (a loaded machine) or for I/O."""

    client: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, started: float, headers: Any) -> None:
        self.client.append((time.perf_counter() - started) * 1000)
        match = _SERVER_TIMING.search(headers.get("Server-Timing", ""))
        assert match, f"no Server-Timing header in {dict(headers)}"
        self.server.append(float(match.group(1)))
        self.cpu.append(float(match.group(2)))

    def report(self, name: str) -> float:
        """Print the figures and RESULT lines; returns the server's p95."""
        (c50, c95), (s50, s95), (u50, u95) = (percentiles(t) for t in (self.client, self.server, self.cpu))
        print(f"  {name}: n={len(self.client)} server p50 {s50:.1f} p95 {s95:.1f} ms (CPU p50 {u50:.1f} p95 "
              f"{u95:.1f} ms); client round trip p50 {c50:.1f} p95 {c95:.1f} ms", flush=True)  # fmt: skip
        result(f"{name}_p95_ms", s95, f"<= {GOAL_P95_MS:.0f}")
        result(f"{name}_client_p95_ms", c95, "(round trip of the HTTP client: adds waitress and the socket)")
        result(
            f"{name}_cpu_ms", statistics.mean(self.cpu), "(server CPU per request: least inflated by load)"
        )
        return s95


def timed_get(client: WebClient, paths: list[str], timings: Timings | None = None) -> Timings:
    timings = timings or Timings()
    for path in paths:
        started = time.perf_counter()
        with client.opener.open(client.base_url + path, timeout=30) as reply:
            body = reply.read()
            timings.add(started, reply.headers)
            assert reply.status == 200, (path, reply.status, body[:500])
    return timings


def timed_intake(client: WebClient, count: int, rng: random.Random) -> Timings:
    """``count`` intakes of a new applicant, accepted at once; times the POST up to its redirect."""
    item = demo_catalog().item("GF00201000")
    path = f"/cases/new/{item.code}"
    posting = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(client.jar), _NoRedirect)
    used: set[str] = set()
    timings = Timings()
    for _ in range(count):
        page = client.get(path)
        data = {**client.form_fields(page, path), "applicant_name": person_name(rng), "phone": "13800138000",
                "id_number": citizen_id(rng, used), "address": "示范村一组", "decision": "accept",
                **{f"material_{m.key}": "received" for m in item.materials}}  # fmt: skip
        request = urllib.request.Request(client.base_url + path, data=urllib.parse.urlencode(data).encode())
        started = time.perf_counter()
        try:
            with posting.open(request, timeout=30) as reply:
                reply.read()
                status, headers = reply.status, reply.headers
        except urllib.error.HTTPError as e:
            e.read()
            status, headers = e.code, e.headers
        timings.add(started, headers)
        assert status == 302, f"intake POST answered {status}, not a redirect to the saved case"
    return timings


def window_queries(instance: Path, rng: random.Random) -> dict[str, list[str]]:
    """Paths to time, chosen from the store before the server opens it."""
    from pypinyin import Style, lazy_pinyin

    node = open_node(load_settings({"INSTANCE_PATH": str(instance)}))
    with dbmod.bound(node.database):
        picked = list(CaseRecord.select().order_by(CaseRecord.id).limit(100_000))
        cases_ = rng.sample(picked, 60)
        numbers = [c.number for c in cases_[:30]]
        names = [c.applicant_name for c in cases_[30:]]
        applicants = [Applicant.get_by_id(c.applicant_id) for c in cases_[:30]]
        ids = [node.keys.field_cipher.decrypt(bytes(a.id_cipher), cases.ID_CONTEXT) for a in applicants]
    node.database.close()

    def search(terms: list[str]) -> list[str]:
        return [f"/search?{urllib.parse.urlencode({'q': t})}" for t in terms]

    return {
        "home": ["/"] * 40,
        "case_page": [f"/cases/{c.id}" for c in rng.sample(picked, 80)],
        "search_number": search(numbers),
        "search_name": search(names),
        "search_pinyin": search(
            ["".join(lazy_pinyin(n)) for n in names[:15]]
            + ["".join(lazy_pinyin(n, style=Style.FIRST_LETTER)) for n in names[15:]]
        ),  # fmt: skip
        "search_id": search(ids),
    }


def measure_window(instance: Path, rng: random.Random) -> None:
    queries = window_queries(instance, rng)
    node, url, first_start = start_serve(instance)
    try:
        time.sleep(2)
        rss_fresh = rss_mb(node.proc.pid)
        client = WebClient(url)
        client.login(CLERK, PASSWORD)
        for paths in queries.values():  # warm-up: templates compiled, catalog parsed, pages cached by SQLite
            timed_get(client, paths[:3])
        timed_intake(client, 2, rng)  # and the first names indexed (pypinyin loads with the first)
        worst = max(timed_get(client, paths).report(name) for name, paths in queries.items())
        intake = timed_intake(client, 40, rng).report("intake_post")
        result("window_worst_p95_ms", max(worst, intake), f"<= {GOAL_P95_MS:.0f}")
        time.sleep(3)
        rss_used = rss_mb(node.proc.pid)
        print(
            f"  rss: {rss_fresh:.0f} MB idle after start, {rss_used:.0f} MB idle after the load", flush=True
        )
        result("idle_rss_mb", rss_fresh, f"<= {GOAL_RSS_MB:.0f}", "{:.0f}")
        result("rss_after_load_mb", rss_used, "(reported)", "{:.0f}")
    finally:
        node.stop()
    starts = [first_start]
    for _ in range(2):
        node, _, seconds = start_serve(instance)
        node.stop()
        starts.append(seconds)
    print("  cold starts (warm page cache): " + ", ".join(f"{s:.2f} s" for s in starts), flush=True)
    result("cold_start_s", max(starts), f"<= {GOAL_COLD_S:.0f}", "{:.2f}")
