import random
import time

from station import create_app
from station import db as dbmod
from station.services import sync as sync_service
from station.services.sync import next_delay_seconds, run_sync, sync_is_due, sync_status


def test_delay_after_success_is_the_interval():
    assert next_delay_seconds(0, 300, 3600) == 300


def test_delay_after_failures_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    for failures, ceiling in [(1, 30), (2, 60), (3, 120), (8, 3600), (30, 3600)]:
        for _ in range(20):
            delay = next_delay_seconds(failures, 300, 3600, rng)
            assert ceiling / 2 <= delay <= ceiling


def test_failed_syncs_are_recorded_in_words_and_back_off(app):
    node = app.extensions["station"]
    outcome = run_sync(node)
    assert outcome["ok"] is False and "USB only" in outcome["error"]
    first = sync_status()
    assert first["failures"] == 1 and first["next_due_ms"] > time.time() * 1000
    run_sync(node)
    assert sync_status()["failures"] == 2


def test_not_enrolled_station_is_never_due(app):
    node = app.extensions["station"]
    node.settings["CENTRAL_URL"] = "http://127.0.0.1:9"
    assert sync_is_due(node) is False
    outcome = run_sync(node)
    assert "not enrolled" in outcome["error"]


def test_only_one_sync_runs_at_a_time(app):
    node = app.extensions["station"]
    with sync_service._running:
        outcome = run_sync(node)
    assert outcome == {"ok": False, "error": "a sync is already running"}


def test_sync_button_task_goes_through_the_sqlite_queue(instance):
    # A real SqliteHuey on the instance's huey.db (not immediate mode, which would switch to memory).
    app = create_app({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": False})
    huey = app.extensions["huey"]
    result = app.extensions["station_tasks"]["sync_now"]()
    assert (instance / "huey.db").exists() and huey.pending_count() == 1
    task = huey.dequeue()
    huey.execute(task)
    outcome = result.get()
    assert outcome["ok"] is False
    with dbmod.bound(app.extensions["station"].database):
        assert sync_status()["failures"] == 1
    huey.storage.close()


def test_sync_button_with_a_consumer_returns_at_once_and_queues_the_sync(instance):
    from .conftest import csrf_token, login

    app = create_app({"INSTANCE_PATH": str(instance), "HUEY_IMMEDIATE": False})
    client = app.test_client()
    login(client, "village")
    response = client.post(
        "/sync/now", data={"csrf_token": csrf_token(client, "/sync/")}, follow_redirects=True
    )
    assert "同步已开始" in response.get_data(as_text=True)
    huey = app.extensions["huey"]
    assert huey.pending_count() == 1
    huey.storage.close()


def test_an_unexpected_failure_is_recorded_not_raised(app, monkeypatch):
    node = app.extensions["station"]
    node.settings["CENTRAL_URL"] = "http://127.0.0.1:9"

    def broken():
        raise KeyError("ingest_recipient")

    monkeypatch.setattr(sync_service, "enrolled", broken)
    outcome = run_sync(node)
    assert outcome["ok"] is False and "unexpected error" in outcome["error"]
    assert sync_status()["failures"] == 1


def test_sync_page_shows_last_contact_in_china_time_and_how_long_ago(app, client):
    from datetime import UTC, datetime, timedelta

    from station.labels import CHINA

    from .conftest import login

    contact = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10, seconds=5)
    stored = contact.isoformat(timespec="seconds")
    sync_service._write_status(last_success=stored, last_attempt=stored)
    login(client, "village")
    page = client.get("/sync/").get_data(as_text=True)
    local = contact.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    assert f"{local} (10 分钟前)" in page and stored not in page
    assert f"{local} (10 minutes ago)" in client.get("/sync/?lang=en").get_data(as_text=True)


def test_how_long_ago_in_words(app):
    from datetime import UTC, datetime, timedelta

    from station.labels import format_when

    now = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # 17:30 in China
    with app.test_request_context("/"):
        from flask_babel import force_locale

        with force_locale("en"):
            assert format_when("2026-11-23T09:30:00+00:00", now) == "2026-11-23 17:30 (just now)"
            assert format_when("2026-11-23T09:29:00+00:00", now).endswith("(1 minute ago)")
            assert format_when("2026-11-23T06:30:00+00:00", now).endswith("(3 hours ago)")
            assert format_when("2026-11-20T09:30:00+00:00", now).endswith("(3 days ago)")
            assert format_when((now + timedelta(minutes=5)).isoformat(), now).endswith(
                "(just now)"
            )  # PC clock behind
            assert format_when("2026-11-22T16:30:00", now) == "2026-11-23 00:30 (17 hours ago)"  # naive = UTC
        with force_locale("zh"):
            assert format_when("2026-11-23T06:30:00+00:00", now) == "2026-11-23 14:30 (3 小时前)"
    assert format_when(None) == "" and format_when("") == ""
