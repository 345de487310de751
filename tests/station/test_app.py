import os
import sqlite3
import stat

import pytest

from station import create_app
from station.errors import ConfigError, InstanceError
from station.migrations import MIGRATIONS
from station.settings import SETTINGS, load_settings

from .conftest import csrf_token, login


def test_every_setting_has_a_one_line_help_and_upper_snake_name():
    for setting in SETTINGS:
        assert setting.name.isupper() and " " not in setting.name
        assert setting.help and "\n" not in setting.help


def test_settings_precedence_defaults_file_env_dict(tmp_path):
    (tmp_path / "config.toml").write_text(
        'SYNC_INTERVAL_SECONDS = 60\nCENTRAL_URL = "http://file"\nLANGUAGE = "en"\n'
    )
    env = {"YICIBAN_STATION_INSTANCE_PATH": str(tmp_path), "YICIBAN_STATION_CENTRAL_URL": "http://env"}
    values = load_settings({"LANGUAGE": "zh"}, environ=env)
    assert values["SYNC_INTERVAL_SECONDS"] == 60  # file beats default
    assert values["CENTRAL_URL"] == "http://env"  # env beats file
    assert values["LANGUAGE"] == "zh"  # dict beats file
    assert values["BACKUP_INTERVAL_HOURS"] == 24  # default


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("NOPE = 1\n", "unknown setting"),
        ("SYNC_INTERVAL_SECONDS = 'x'\n", "integer"),
        ("= broken", "config.toml"),
    ],
)
def test_bad_config_file_is_a_clear_error(tmp_path, content, message):
    (tmp_path / "config.toml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings({"INSTANCE_PATH": str(tmp_path)}, environ={})


def test_create_app_refuses_an_uninitialised_instance(tmp_path):
    with pytest.raises(InstanceError, match="init"):
        create_app({"INSTANCE_PATH": str(tmp_path / "empty")})


def test_init_writes_keys_with_mode_0600(instance):
    keys = instance / "keys"
    for name in ("secret_key", "data.key", "signing.key", "box.key"):
        mode = stat.S_IMODE(os.stat(keys / name).st_mode)
        assert mode == 0o600, name
    assert len((keys / "data.key").read_bytes()) == 32
    assert not list(keys.glob("*.tmp"))


def test_migrations_are_applied_in_order_on_a_real_file(instance):
    connection = sqlite3.connect(instance / "station.db")
    applied = [row[0] for row in connection.execute("SELECT name FROM schema_migrations ORDER BY rowid")]
    assert applied == [name for name, _ in MIGRATIONS]
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_database_with_an_unknown_migration_is_refused(instance):
    connection = sqlite3.connect(instance / "station.db")
    connection.execute("INSERT INTO schema_migrations VALUES ('9999_from_the_future', 'x')")
    connection.commit()
    with pytest.raises(Exception, match="does not know"):
        create_app({"INSTANCE_PATH": str(instance)})


@pytest.mark.parametrize("table", ["audit_log", "event_log"])
def test_append_only_tables_refuse_update_and_delete(instance, table):
    connection = sqlite3.connect(instance / "station.db")
    if table == "audit_log":
        connection.execute("INSERT INTO audit_log (at, actor, action) VALUES ('t', 'a', 'x')")
    else:
        connection.execute(
            "INSERT INTO event_log (station, epoch, seq, event_id, prev_id, event_type, aggregate_kind, aggregate_id,"
            " body, recorded_at) VALUES ('s', 1, 1, 'e', 'p', 't', 'k', 'i', x'00', 'now')"
        )
    connection.commit()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute(f"UPDATE {table} SET id = id")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        connection.execute(f"DELETE FROM {table}")


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "用户名" in page and "登录" in page


def test_language_switch_to_english_is_remembered(client):
    assert "Username" in client.get("/login?lang=en").get_data(as_text=True)
    assert "Username" in client.get("/login").get_data(as_text=True)
    assert "用户名" in client.get("/login?lang=zh").get_data(as_text=True)


def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_success_sets_an_httponly_lax_cookie_and_opens_home(client):
    response = login(client, "village")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200


def test_login_with_wrong_password_says_so_in_chinese(client):
    response = login(client, "village", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_unknown_user_fails_like_a_wrong_password(client):
    response = login(client, "nobody", "whatever1")
    assert response.status_code == 401


def test_five_failures_lock_the_login_even_for_the_right_password(client, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "village", "wrong-password").status_code == 401
    response = login(client, "village")
    assert response.status_code == 429
    assert "锁定" in response.get_data(as_text=True)


def test_lock_is_per_username(client, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "village", "wrong-password")
    assert login(client, "township").status_code == 302


def test_login_and_failures_are_audited(client, instance):
    login(client, "village", "bad-password")
    login(client, "village")
    connection = sqlite3.connect(instance / "station.db")
    actions = [row[0] for row in connection.execute("SELECT action FROM audit_log ORDER BY id")]
    assert "login.failed" in actions and "login" in actions


def test_post_without_csrf_token_is_rejected(client):
    response = client.post("/login", data={"username": "village", "password": "demo1234"})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_logout_needs_csrf_and_ends_the_session(client):
    login(client, "village")
    assert client.post("/logout").status_code == 400
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_login_next_parameter_never_redirects_off_site(client):
    token = csrf_token(client)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "village", "password": "demo1234", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_unknown_page_is_a_friendly_404_without_traceback(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "页面不存在" in text and "Traceback" not in text


def test_audit_log_page_lists_logins_for_the_auditor_only(client):
    login(client, "auditor")
    page = client.get("/audit").get_data(as_text=True)
    assert "审计日志" in page and "login" in page
    other = client.application.test_client()
    login(other, "village")
    assert other.get("/audit").status_code == 403
