"""The frame: settings precedence, migrations on a real SQLite file, append-only tables, error pages."""

from __future__ import annotations

import sqlite3

import pytest
from peewee import IntegrityError, OperationalError

from central import create_app
from central.db import database
from central.errors import ConfigError, InstanceError, MigrationError
from central.migrations import MIGRATIONS, applied_migrations, migrate
from central.models import AuditEntry
from central.services.audit import record_audit
from central.settings import SETTINGS, load_settings

from .conftest import login, make_instance


def test_settings_defaults_then_file_then_env_then_dict(tmp_path):
    (tmp_path / "config.toml").write_text('PAGE_SIZE = 10\nLANGUAGE = "en"\nHUEY_WORKERS = 3\n')
    env = {"YICIBAN_CENTRAL_PAGE_SIZE": "20", "YICIBAN_CENTRAL_HUEY_WORKERS": "4"}
    values = load_settings({"INSTANCE_PATH": str(tmp_path), "PAGE_SIZE": 30}, environ=env)
    assert values["PAGE_SIZE"] == 30  # dict beats env
    assert values["HUEY_WORKERS"] == 4  # env beats file
    assert values["LANGUAGE"] == "en"  # file beats default
    assert values["MAX_UPLOAD_BYTES"] == 64 * 1024 * 1024  # default
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'central.db'}"


def test_instance_path_comes_from_env_when_not_in_dict(tmp_path):
    values = load_settings(environ={"YICIBAN_CENTRAL_INSTANCE_PATH": str(tmp_path)})
    assert values["INSTANCE_PATH"] == str(tmp_path.resolve())


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"YICIBAN_CENTRAL_PAGE_SIZE": "many"}, "expected an integer"),
        ({"YICIBAN_CENTRAL_HUEY_IMMEDIATE": "perhaps"}, "expected a boolean"),
    ],
)
def test_settings_reject_bad_values_with_the_setting_name(tmp_path, env, problem):
    with pytest.raises(ConfigError, match=problem):
        load_settings({"INSTANCE_PATH": str(tmp_path)}, environ=env)


def test_config_file_with_unknown_setting_is_refused(tmp_path):
    (tmp_path / "config.toml").write_text("PAGESIZE = 10\n")
    with pytest.raises(ConfigError, match="unknown setting PAGESIZE"):
        load_settings({"INSTANCE_PATH": str(tmp_path)}, environ={})


def test_every_setting_has_a_one_line_english_help():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names))
    for setting in SETTINGS:
        assert setting.name.isupper() and setting.help and "\n" not in setting.help
        assert setting.help.isascii()


def test_create_app_refuses_an_uninitialised_instance(tmp_path):
    with pytest.raises(InstanceError):
        create_app({"INSTANCE_PATH": str(tmp_path / "nothing")})


def test_create_app_refuses_a_database_behind_the_code(tmp_path):
    instance = tmp_path / "c"
    config = make_instance(instance)
    database.execute_sql("DELETE FROM schema_migrations WHERE name = ?", (MIGRATIONS[-1].__name__,))
    with pytest.raises(MigrationError, match=MIGRATIONS[-1].__name__):
        create_app(config)


def test_migrations_build_a_real_sqlite_file_and_run_once(app_config, instance_path):
    assert applied_migrations() == sorted(m.__name__ for m in MIGRATIONS)
    assert migrate() == []
    with sqlite3.connect(instance_path / "central.db") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"users", "audit_log", "stations", "batches", "central_log", "cases", "acks"} <= tables
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_audit_log_refuses_update_and_delete(app):
    with app.app_context():
        database.connect(reuse_if_open=True)
        record_audit("admin", "login", "admin")
        entry = AuditEntry.select().first()
        with pytest.raises((IntegrityError, OperationalError), match="append-only"):
            AuditEntry.update(action="logout").where(AuditEntry.id == entry.id).execute()
        with pytest.raises((IntegrityError, OperationalError), match="append-only"):
            AuditEntry.delete().execute()


def test_instance_keys_are_private_files(instance_path, app):
    for name in ("root_ed25519.key", "ingest_x25519.key", "secret_key"):
        assert (instance_path / "keys" / name).stat().st_mode & 0o777 == 0o600
    assert (instance_path / "ESCROW-IDENTITY-MOVE-OFFLINE.txt").stat().st_mode & 0o777 == 0o600


def test_unknown_page_is_a_translated_html_page_without_a_traceback(client):
    login(client, "admin")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "此页面不存在" in text and "Traceback" not in text


def test_api_errors_are_json(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_server_error_is_a_page_not_a_stack_trace(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, "admin")
    database.close()
    # Break the database file under the running app: the page must say so politely.
    app.config["TESTING"] = False
    from central.db import bind_database

    bind_database("sqlite:////nonexistent-dir/central.db")
    response = client.get("/stations/")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "服务器出错" in text and "Traceback" not in text
