"""Fixtures for central: a temp instance built by the real `init` and migrations, an app, a client, a runner."""

from __future__ import annotations

import re

import pytest

from central import create_app
from central.db import bind_database
from central.instance import init_instance
from central.migrations import migrate
from central.services.accounts import create_user

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


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        for username, role in USERS.items():
            create_user(username, PASSWORD, role)
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
