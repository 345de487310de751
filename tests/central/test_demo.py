"""`yiciban-central demo` end to end: four real nodes on 127.0.0.1 (central, county, township, village), a login for
every role, and Ctrl-C stops all."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.support.servers import NodeProcess

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def logged_in_home(url: str, username: str) -> str:
    """Log in through the login form (CSRF token and all) and return the home page the user lands on."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{url}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": "demo1234", "csrf_token": token}
    ).encode()
    with opener.open(f"{url}/login", data=form, timeout=30) as response:
        assert response.status == 200 and not response.url.endswith("/login"), username
        return response.read().decode()


def test_demo_starts_four_nodes_with_every_role_and_sigint_stops_every_child(tmp_path):
    started = time.monotonic()
    demo = NodeProcess([sys.executable, "-m", "central", "demo", "--dir", str(tmp_path / "demo")])
    try:
        demo.wait_for(r"press Ctrl-C to stop everything", timeout=180)
        print(f"demo ready in {time.monotonic() - started:.1f} s")
        text = "\n".join(demo.lines)
        urls = dict(
            re.findall(r"^(central|county|township|village)\s+(http://127\.0\.0\.1:\d+)/login", text, re.M)
        )
        assert set(urls) == {"central", "county", "township", "village"}, text
        for account in ("admin", "auditor", "county", "township", "village", "agent"):
            assert f"{account} / demo1234" in text
        pids = [int(p) for p in re.findall(r"started \w+ \(pid (\d+)\)", text)]
        assert len(pids) == 4
        for url in urls.values():
            with urllib.request.urlopen(f"{url}/login", timeout=10) as response:
                assert response.status == 200
        assert (
            "登录中心节点" in urllib.request.urlopen(f"{urls['central']}/login", timeout=10).read().decode()
        )
        county_home = logged_in_home(urls["county"], "county")
        assert "示范县政务服务中心" in county_home, "the county clerk works at the county station"
        demo.proc.send_signal(signal.SIGINT)
        assert demo.proc.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in pids if alive(pid)]
        assert any("demo stopped" in line for line in demo.lines)
    finally:
        demo.stop()
        demo._reader.join(5)
        demo.proc.stdout.close()
    assert (tmp_path / "demo" / ".yiciban-demo").exists() and os.path.isdir(tmp_path / "demo" / "village")


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    demo = NodeProcess([sys.executable, "-m", "central", "demo", "--dir", str(tmp_path)])
    try:
        assert demo.proc.wait(timeout=60) != 0
    finally:
        demo._reader.join(5)
        demo.proc.stdout.close()
    assert "not a demo folder" in "\n".join(demo.lines)
    assert (tmp_path / "precious.txt").read_text() == "keep me"
