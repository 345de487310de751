"""Every endpoint declares its roles, and every role (and anonymous) gets exactly what the declaration says."""

import re

import pytest

from station import create_app
from station.auth import PUBLIC, ROLES

from .conftest import USERS, login

SAMPLE_VALUES = {"int": "1", "string": "sample", "path": "sample.txt", "default": "sample"}
ROLE_USER = {roles[0]: username for username, roles in USERS.items()}


def _sample_url(rule) -> str:
    url = rule.rule
    for converter, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        value = SAMPLE_VALUES.get(converter or "default", "sample")
        url = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?" + name + ">", value, url)
    return url


@pytest.fixture
def matrix_app(instance):
    # Authorization is under test here, not CSRF (that has its own tests): POSTs go without a token.
    return create_app({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": True, "WTF_CSRF_ENABLED": False})


def _endpoints(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_endpoint_declares_its_roles(matrix_app):
    undeclared = [
        rule.endpoint
        for rule in matrix_app.url_map.iter_rules()
        if getattr(matrix_app.view_functions[rule.endpoint], "allowed_roles", None) is None
    ]
    assert undeclared == []


def test_matrix_every_endpoint_every_role_and_anonymous(matrix_app):
    failures = []
    # One login per role; logout runs last because it ends the session.
    endpoints = sorted(_endpoints(matrix_app), key=lambda pair: pair[0].endpoint == "auth.logout")
    for role in (None, *ROLES):
        client = matrix_app.test_client()
        if role is not None:
            assert login(client, ROLE_USER[role]).status_code == 302
        for rule, method in endpoints:
            allowed = matrix_app.view_functions[rule.endpoint].allowed_roles
            url = _sample_url(rule)
            response = client.open(url, method=method)
            location = response.headers.get("Location", "")
            # The role guard sends anonymous users to /login?next=…; a view's own redirect (logout) has no next.
            sent_to_login = response.status_code == 302 and "/login?next=" in location
            if allowed == PUBLIC:
                ok = response.status_code != 403 and not sent_to_login
            elif role is None:
                ok = sent_to_login
            elif role in allowed:
                ok = response.status_code not in (401, 403) and not sent_to_login
            else:
                ok = response.status_code == 403
            if not ok:
                failures.append(
                    f"{method} {url} as {role or 'anonymous'} -> {response.status_code} {location}"
                )
    assert failures == []
