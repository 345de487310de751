"""Station fixtures: a real instance on disk (keys, migrated SQLite) built the way `init` builds it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from station import create_app
from station import db as dbmod
from station.auth import create_user
from station.services.identity import set_identity
from station.services.setup import initialise_instance

PASSWORD = "demo1234"
TOWNSHIP_CODE = "990101101000"
VILLAGE_CODE = "990101101201"
NETWORK = "test-network"
USERS = {
    "village": ("village_staff",),
    "township": ("township_clerk",),
    "county": ("county_clerk",),
    "agent": ("proxy_agent",),
    "auditor": ("auditor",),
    "admin": ("central_admin",),
}
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_instance(
    path: Path, code: str = VILLAGE_CODE, level: str = "village", parent: str = TOWNSHIP_CODE
) -> Path:
    _, _, database = initialise_instance(path)
    with dbmod.bound(database):
        set_identity(
            code, "测试村便民服务站" if level == "village" else "测试镇便民服务中心", level, parent, NETWORK
        )
        for username, roles in USERS.items():
            create_user(username, PASSWORD, list(roles), display_name=username)
    return path


@pytest.fixture(scope="session")
def village_template(tmp_path_factory) -> Path:
    # Hashing six argon2 passwords takes seconds; build the instance once (real init and migrations) and copy it.
    return build_instance(tmp_path_factory.mktemp("template") / "village")


@pytest.fixture(scope="session")
def township_template(tmp_path_factory) -> Path:
    return build_instance(
        tmp_path_factory.mktemp("template") / "township",
        code=TOWNSHIP_CODE,
        level="township",
        parent="990101000000",
    )


@pytest.fixture
def instance(tmp_path: Path, village_template: Path) -> Path:
    return Path(shutil.copytree(village_template, tmp_path / "station"))


@pytest.fixture
def township_instance(tmp_path: Path, township_template: Path) -> Path:
    return Path(shutil.copytree(township_template, tmp_path / "township"))


@pytest.fixture
def township_app(township_instance: Path):
    app = create_app({"INSTANCE_PATH": str(township_instance), "TESTING": True, "HUEY_IMMEDIATE": True})
    with dbmod.bound(app.extensions["station"].database):
        yield app


@pytest.fixture
def app(instance: Path):
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True, "HUEY_IMMEDIATE": True})
    node = app.extensions["station"]
    with dbmod.bound(node.database):
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_INPUT.search(page.get_data(as_text=True))
    assert match, f"no csrf token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})
