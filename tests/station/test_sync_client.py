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
