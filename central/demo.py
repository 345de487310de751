"""`yiciban-central demo`: a central, a county, a township and a village station on 127.0.0.1, enrolled, with demo
logins for every role.

The stations are driven only through their own CLI, as subprocesses (central never imports station); the three are
set up side by side and their servers started together, so the demo starts in about the time of one station.
Ctrl-C (SIGINT) or SIGTERM stops every child this command started, by its own PID.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import click

DEMO_PASSWORD = "demo1234"
MARKER = ".yiciban-demo"
COUNTY = ("990101000000", "示范县政务服务中心", "county", None)
TOWNSHIP = ("990101101000", "示范镇便民服务中心", "township", "990101000000")
VILLAGE = ("990101101201", "示范村便民服务站", "village", "990101101000")
CENTRAL_USERS = (("admin", "central_admin", "中心管理员"), ("auditor", "auditor", "审计员"))
DEMO_STATIONS = (("county", COUNTY), ("township", TOWNSHIP), ("village", VILLAGE))
STATION_USERS = {
    "county": (("county", "county_clerk"),),
    "township": (("township", "township_clerk"), ("agent", "proxy_agent")),
    "village": (("village", "village_staff"), ("agent", "proxy_agent")),
}
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


class DemoError(click.ClickException):
    """A demo step failed; the message names the step and shows the child's output."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def start_reader(self) -> None:
        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))

        threading.Thread(target=read, name=f"read-{self.name}", daemon=True).start()

    def wait_for_url(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = LISTENING.search(line)
                if match:
                    return match.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise DemoError(f"{self.name} did not start:\n" + "\n".join(self.lines[-30:]))


class Supervisor:
    """Starts children in their own process groups and stops exactly those."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            start_new_session=True,
        )
        child = Child(name, process)
        child.start_reader()
        self.children.append(child)
        click.echo(f"started {name} (pid {process.pid})")
        return child

    def stop_all(self, timeout: float = 15.0) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait(timeout=5)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    for key in list(env):
        if key.startswith(("YICIBAN_CENTRAL_", "YICIBAN_STATION_")):
            del env[key]  # the demo's instances are configured by their folders only
    return env


def _run(step: str, args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    if result.returncode != 0:
        raise DemoError(f"{step} failed ({' '.join(args[2:5])} …):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _station_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "station", *args]


def _central_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "central", *args]


def prepare_folder(folder: Path, reset: bool) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise DemoError(f"{folder} exists and is not a demo folder; choose another --dir")
        if not reset:
            raise DemoError(f"{folder} holds an earlier demo; add --reset to start again")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by yiciban-central demo; safe to delete\n")


def setup_central(instance: Path, network: str) -> dict[str, str]:
    """Initialise central in this process (it is central's own code) and register the demo stations."""
    from .db import bind_database, database
    from .instance import init_instance
    from .migrations import migrate
    from .runtime import Runtime, set_runtime
    from .services.accounts import create_user
    from .services.publications import publish_shipped
    from .services.stations import issue_enrollment_code, register_station
    from .settings import load_settings

    init_instance(instance, network_id=network)
    settings = load_settings({"INSTANCE_PATH": str(instance)}, environ={})
    bind_database(settings["DATABASE_URL"])
    migrate()
    runtime = Runtime(settings)
    set_runtime(runtime)
    for username, role, display in CENTRAL_USERS:
        create_user(username, DEMO_PASSWORD, role, display, actor="demo")
    codes = {}
    for code, name, level, parent in (COUNTY, TOWNSHIP, VILLAGE):
        register_station(code, name, level, parent, actor="demo")
    for key, (code, *_rest) in DEMO_STATIONS:
        codes[key] = issue_enrollment_code(code, "demo", runtime.cipher, 1).code
    publish_shipped("demo")  # the demo catalog and calendars reach the stations in their first bundle
    database.close()
    return codes


def setup_station(
    folder: Path, station: tuple, network: str, central_url: str, code: str, env: dict, sync_interval: int
) -> None:
    station_code, name, level, parent = station
    instance = str(folder)
    _run(
        f"{level} init",
        _station_cli(
            "init", "--instance", instance, "--station-code", station_code, "--name", name, "--level", level,
            "--parent", parent or "", "--network", network,
        ),
        env,
    )  # fmt: skip
    _run(
        f"{level} enroll",
        _station_cli("enroll", "--instance", instance, "--central", central_url, "--code", code),
        env,
    )
    for username, role in STATION_USERS[level]:
        _run(
            f"{level} user {username}",
            _station_cli("create-user", "--instance", instance, "--username", username, "--role", role),
            {**env, "YICIBAN_STATION_NEW_PASSWORD": DEMO_PASSWORD},
        )
    # A demo shows the background sync within a minute instead of the production default.
    with open(folder / "config.toml", "a", encoding="utf-8") as config:
        config.write(f"SYNC_INTERVAL_SECONDS = {int(sync_interval)}\n")


@click.command()
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default="demo-data",
    show_default=True,
)
@click.option("--reset", is_flag=True, help="Delete an earlier demo in --dir first.")
@click.option(
    "--sync-interval",
    default=30,
    show_default=True,
    type=click.IntRange(1, 86400),
    help="Seconds between the stations' background syncs.",
)
def demo(folder: Path, reset: bool, sync_interval: int) -> None:
    """Start a demo: central + county + township + village on 127.0.0.1, enrolled, demo accounts (password demo1234)."""
    folder = folder.resolve()
    prepare_folder(folder, reset)
    env = _env()
    network = "demo-" + secrets.token_hex(4)
    supervisor = Supervisor()
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        click.echo("setting up central …")
        codes = setup_central(folder / "central", network)
        central = supervisor.start(
            "central", _central_cli("serve", "--instance", str(folder / "central")), env
        )
        central_url = central.wait_for_url()
        urls = {"central": central_url}
        for key, station in DEMO_STATIONS:
            click.echo(f"setting up the {key} station {station[0]} …")
        with ThreadPoolExecutor(max_workers=len(DEMO_STATIONS)) as pool:
            steps = [
                pool.submit(setup_station, folder / key, station, network, central_url, codes[key], env,
                            sync_interval)
                for key, station in DEMO_STATIONS
            ]  # fmt: skip
            for step in steps:
                step.result()  # the first failure is raised with its step and the child's output
        children = {
            key: supervisor.start(key, _station_cli("serve", "--instance", str(folder / key)), env)
            for key, _station in DEMO_STATIONS
        }
        for key, child in children.items():
            urls[key] = child.wait_for_url()
        _print_summary(urls, network, folder)
        while not stop_requested.is_set():
            for child in supervisor.children:
                if child.process.poll() is not None:
                    click.echo(
                        f"{child.name} exited ({child.process.returncode}); stopping the demo", err=True
                    )
                    stop_requested.set()
            stop_requested.wait(0.5)
    finally:
        supervisor.stop_all()
        click.echo("demo stopped")


def _print_summary(urls: dict[str, str], network: str, folder: Path) -> None:
    click.echo("")
    click.echo(f"yiciban demo is running (network {network}, data in {folder})")
    click.echo(
        f"central  {urls['central']}/login   admin / {DEMO_PASSWORD} (central_admin), auditor / {DEMO_PASSWORD}"
    )
    click.echo(f"county   {urls['county']}/login   county / {DEMO_PASSWORD} (county_clerk)")
    click.echo(
        f"township {urls['township']}/login   township / {DEMO_PASSWORD} (township_clerk), agent / {DEMO_PASSWORD}"
    )
    click.echo(
        f"village  {urls['village']}/login   village / {DEMO_PASSWORD} (village_staff), agent / {DEMO_PASSWORD}"
    )
    click.echo("press Ctrl-C to stop everything")
