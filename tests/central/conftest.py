"""Fixtures for central: a temp instance built by the real `init` and migrations, an app, a client, a runner."""

from __future__ import annotations

import functools
import re

import pytest

from central import create_app
from central.db import bind_database, write_transaction
from central.instance import init_instance
from central.migrations import migrate
from central.models import User
from central.runtime import current_runtime
from central.services.accounts import hash_password
from central.services.stations import issue_enrollment_code, register_station

from .builders import SimStation

PASSWORD = "correct horse 1"
USERS = {"admin": "central_admin", "auditor": "auditor", "clerk": "township_clerk"}


def make_instance(path, **config):
    """Initialise an instance exactly as `yiciban-central init` does, and return create_app's config."""
    init_instance(path, network_id="test-net")
    bind_database(f"sqlite:///{path / 'central.db'}")
    migrate()
    return {"INSTANCE_PATH": str(path), "HUEY_IMMEDIATE": True, "TESTING": True, **config}


@pytest.fixture
def instance_path(tmp_path):
    return tmp_path / "central"


@pytest.fixture
def app_config(instance_path):
    return make_instance(instance_path, WTF_CSRF_ENABLED=False)


@functools.cache
def password_hash() -> str:
    # argon2 is deliberately slow; one real hash shared by the fixture users keeps the suite fast.
    return hash_password(PASSWORD)


def add_user(username: str, role: str) -> None:
    with write_transaction():
        User.create(username=username, role=role, display_name=username, password_hash=password_hash())


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        for username, role in USERS.items():
            add_user(username, role)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def login(client, username, password=PASSWORD):
    return client.post("/login", data={"username": username, "password": password})


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


TOWNSHIP, VILLAGE = "990101101000", "990101101201"


@pytest.fixture
def stations(app):
    with app.app_context():
        register_station("990101000000", "示范县政务服务中心", "county", None, "admin")
        register_station(TOWNSHIP, "示范镇便民服务中心", "township", "990101000000", "admin")
        register_station(VILLAGE, "示范村便民服务站", "village", TOWNSHIP, "admin")
    return app


def issue(app, station=VILLAGE, hours=72):
    with app.app_context():
        return issue_enrollment_code(station, "admin", current_runtime().cipher, hours).code


@pytest.fixture
def central_info(client):
    return client.get("/api/v1/info").get_json()


@pytest.fixture
def village(stations, client, central_info):
    station = SimStation(VILLAGE, central_info["network"])
    assert client.post("/api/v1/enroll", data=station.enrollment_request(issue(stations))).status_code == 200
    station.open_epoch()
    return station
