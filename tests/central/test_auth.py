"""Login with argon2 hashes, throttling per username+IP, logout, CSRF on every form, roles on every endpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.auth import PUBLIC, allowed_roles_of
from central.db import database
from central.models import AuditEntry, LoginAttempt, User
from central.roles import ROLES
from central.services.accounts import AccountError, authenticate, create_user

from .conftest import PASSWORD, USERS, add_user, csrf_token_from, login


def test_passwords_are_stored_as_argon2_hashes(app):
    with app.app_context():
        user = User.get(User.username == "admin")
        assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_login_success_sets_an_httponly_lax_cookie_and_records_audit(client):
    response = login(client, "admin")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    assert AuditEntry.select().where(AuditEntry.action == "login", AuditEntry.actor == "admin").exists()


def test_wrong_password_is_refused_in_chinese(client):
    response = login(client, "admin", "wrong password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_five_failures_lock_the_login_even_for_the_right_password(client):
    for _ in range(5):
        login(client, "admin", "wrong password")
    response = login(client, "admin")
    assert response.status_code == 401
    assert "锁定" in response.get_data(as_text=True)
    assert AuditEntry.select().where(AuditEntry.action == "login_locked").exists()


def test_lock_is_per_username_and_ip(app):
    with app.app_context():
        for _ in range(5):
            authenticate("admin", "bad", "10.0.0.1")
        assert authenticate("admin", PASSWORD, "10.0.0.1").locked_until is not None
        assert authenticate("admin", PASSWORD, "10.0.0.2").user is not None
        assert authenticate("auditor", PASSWORD, "10.0.0.1").user is not None


def test_lock_expires_after_the_window(app):
    with app.app_context():
        for _ in range(5):
            authenticate("admin", "bad", "10.0.0.9")
        later = LoginAttempt.select().order_by(LoginAttempt.at.desc()).first().at + timedelta(
            minutes=15, seconds=1
        )
        assert authenticate("admin", PASSWORD, "10.0.0.9", now=later).user is not None


def test_attempts_while_locked_do_not_extend_the_lock(app):
    with app.app_context():
        for _ in range(5):
            authenticate("admin", "bad", "10.0.0.3")
        count = LoginAttempt.select().count()
        authenticate("admin", "bad", "10.0.0.3")
        assert LoginAttempt.select().count() == count


@pytest.mark.parametrize(
    ("username", "password", "role", "problem"),
    [
        ("", "longenough", "auditor", "username"),
        ("bob", "short", "auditor", "at least 8"),
        ("bob", "longenough", "emperor", "role must be"),
        ("admin", "longenough", "auditor", "already exists"),
    ],
)
def test_create_user_validates(app, username, password, role, problem):
    with app.app_context(), pytest.raises(AccountError, match=problem):
        create_user(username, password, role)


def test_logout_requires_post_and_ends_the_session(client):
    login(client, "admin")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_next_parameter_cannot_redirect_off_site(client):
    response = client.post("/login?next=//evil.example/", data={"username": "admin", "password": PASSWORD})
    assert response.headers["Location"] == "/"


@pytest.fixture
def csrf_client(instance_path):
    from central import create_app

    from .conftest import make_instance

    app = create_app(make_instance(instance_path))
    with app.app_context():
        create_user("admin", PASSWORD, "central_admin")
    return app.test_client()


def test_csrf_refuses_a_form_without_token(csrf_client):
    response = csrf_client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_csrf_accepts_the_token_from_the_page_and_every_page_form_has_one(csrf_client):
    token = csrf_token_from(csrf_client.get("/login").get_data(as_text=True))
    response = csrf_client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    for path in ("/", "/stations/", "/batches/", "/cases/", "/audit"):
        html = csrf_client.get(path).get_data(as_text=True)
        assert html.count('<form method="post"') <= html.count('name="csrf_token"'), path


def test_machine_api_is_exempt_from_csrf(csrf_client):
    assert csrf_client.get("/api/v1/stations/990101101000/ack").status_code == 404


# --- the authorization matrix: every endpoint × every role × anonymous ---------------------------------------

SAMPLE_ARGS = {
    "code": "990101101000",
    "station_code": "990101101000",
    "batch_id": 1,
    "case_id": "c1",
    "name": "x.age",
    "filename": "style.css",
    "conflict_id": 1,
    "sha256": "a" * 64,
}


def _endpoints(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_endpoint_declares_its_roles(app):
    undeclared = [
        rule.endpoint for rule in app.url_map.iter_rules() if allowed_roles_of(app, rule.endpoint) is None
    ]
    assert undeclared == []


def test_an_undeclared_endpoint_is_refused(app):
    app.add_url_rule("/planted", "planted", lambda: "secret")
    client = app.test_client()
    login(client, "admin")
    assert client.get("/planted").status_code == 403


def _request(client, rule, method):
    url = rule.build({k: v for k, v in SAMPLE_ARGS.items() if k in rule.arguments}, append_unknown=False)[1]
    return client.open(url, method=method, data={} if method in {"POST", "PUT"} else None)


def test_authorization_matrix(app):
    users = {None: None, **{role: None for role in ROLES}}
    with app.app_context():
        for role in ROLES:
            name = next((u for u, r in USERS.items() if r == role), f"user_{role}")
            if name not in USERS:
                add_user(name, role)
            users[role] = name
    failures = []
    for role, username in users.items():
        client = app.test_client()
        if username:
            assert login(client, username).status_code == 302
        for rule, method in _endpoints(app):
            allowed = allowed_roles_of(app, rule.endpoint)
            if rule.endpoint == "api.put_file":
                continue  # public upload: exercised in test_ingest with real batches
            response = _request(client, rule, method)
            response.close()
            status = response.status_code
            if allowed == PUBLIC or (role is not None and role in allowed):
                # The login form answers a wrong password with 401: that is the page working, not a refusal.
                ok = (
                    status != 403
                    and (status != 401 or rule.endpoint == "auth.login")
                    and not (
                        status == 302
                        and "/login" in response.headers.get("Location", "")
                        and rule.endpoint != "auth.logout"
                    )
                )
            elif role is None:
                ok = (
                    status == 401
                    if rule.rule.startswith("/api/")
                    else (status == 302 and "/login" in response.headers["Location"])
                )
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{role} {method} {rule.rule} -> {status}")
            if rule.endpoint == "auth.logout" and username:
                login(client, username)
        database.close()
    assert failures == []
