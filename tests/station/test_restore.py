import sqlite3

import pytest
from click.testing import CliRunner

from station import create_app
from station import db as dbmod
from station.cli import main
from station.db import write_transaction
from station.errors import LogIntegrityError
from station.models import EventLog
from station.services.backup import backup_database, backup_is_due, latest_backup
from station.services.log import append_event, check_against_ack, read_head
from sync_protocol.events import parse_event


def _append(key):
    with write_transaction():
        return append_event(
            actor="village", event_type="case.note_added", aggregate_kind="case", aggregate_id="c1",
            payload={"note_id": key, "text": "x"}, idempotency_key=key,
        ).event  # fmt: skip


def test_backup_is_a_consistent_copy_written_atomically(app, instance):
    _append("a")
    path = backup_database(instance / "station.db", instance / "backups")
    assert latest_backup(instance / "backups") == path
    assert sqlite3.connect(path).execute("SELECT count(*) FROM event_log").fetchone()[0] == 2
    assert not backup_is_due(instance / "backups", 24)
    assert not list((instance / "backups").glob(".*tmp"))


def test_rolled_back_store_refuses_appends_until_restore_opens_a_new_epoch(app, instance):
    _append("a")
    backup = backup_database(instance / "station.db", instance / "backups")
    _append("b")
    _append("c")  # central got these (epoch 1 up to seq 4) before the PC died
    node = app.extensions["station"]
    node.database.close()
    result = CliRunner().invoke(main, ["restore", "--instance", str(instance), "--backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert "epoch 2" in result.output
    with dbmod.bound(node.database):
        head = read_head()
        assert (head.epoch, head.seq) == (2, 1)
        opening = parse_event(bytes(EventLog.get((EventLog.epoch == 2) & (EventLog.seq == 1)).body))
        assert opening.payload["reason"] == "restore" and opening.payload["prev_seq"] == 2
        assert _append("d").seq == 2
    assert list((instance / "backups").glob("replaced-*.db"))


def test_an_ack_beyond_our_head_locks_appends(app):
    _append("a")
    with write_transaction():
        assert check_against_ack({1: 9}) is True
    with pytest.raises(LogIntegrityError, match="restore"):
        _append("b")


def test_start_up_self_check_refuses_a_tampered_log(app, instance):
    _append("a")
    _append("b")
    app.extensions["station"].database.close()
    connection = sqlite3.connect(instance / "station.db")
    connection.execute("DROP TRIGGER event_log_no_update")
    connection.execute("UPDATE event_log SET body = replace(body, '\"x\"', '\"y\"') WHERE seq = 2")
    connection.commit()
    connection.close()
    with pytest.raises(LogIntegrityError):
        create_app({"INSTANCE_PATH": str(instance)})


def test_periodic_tasks_back_up_when_due_and_refresh_lights(app, instance):
    tasks = app.extensions["station_tasks"]
    first = tasks["scheduled_backup"].call_local()
    assert first and list((instance / "backups").glob("station-*.db"))
    assert tasks["scheduled_backup"].call_local() is None  # not due again for BACKUP_INTERVAL_HOURS
    assert tasks["refresh_lights"].call_local() == 0


def test_fork_reported_by_central_is_recovered_by_rehoming_our_events_in_a_new_epoch(app, instance):
    from station.services.cases import case_view
    from sync_protocol.events import verify_chain
    from sync_protocol.schema import ZERO_ID

    from .test_actions import _receive

    case = _receive(app)  # applicant_created (2), received (3)
    _append("b")  # 4
    with write_transaction():
        assert check_against_ack({1: 2}, forks={1: 3}) is True
    with pytest.raises(LogIntegrityError, match="fork"):
        _append("c")
    app.extensions["station"].database.close()
    result = CliRunner().invoke(main, ["restore", "--instance", str(instance)])
    assert result.exit_code == 0, result.output
    with dbmod.bound(app.extensions["station"].database):
        epoch2 = [
            parse_event(bytes(r.body))
            for r in EventLog.select().where(EventLog.epoch == 2).order_by(EventLog.seq)
        ]
        assert epoch2[0].payload["reason"] == "fork_recovery"
        assert [e.rehomed_from[1] for e in epoch2[1:]] == [3, 4]
        epoch1 = [
            parse_event(bytes(r.body))
            for r in EventLog.select().where(EventLog.epoch == 1).order_by(EventLog.seq)
        ]
        verify_chain(epoch2, epoch1[-1].event_id)
        verify_chain(epoch1, ZERO_ID)
        view = case_view(case.id)
        assert view.state.value == "village_received" and len(view.timeline) == 1  # counted once
        assert _append("d").epoch == 2


def test_home_and_sync_pages_say_in_words_that_work_is_blocked(app, client):
    from .conftest import login

    _append("a")
    with write_transaction():
        check_against_ack({1: 9})
    login(client, "village")
    assert "已暂停新办件" in client.get("/").get_data(as_text=True)
    assert "已暂停新办件" in client.get("/sync/").get_data(as_text=True)


def test_a_blocked_intake_keeps_the_form_and_says_why(app, client):
    from .conftest import csrf_token, login
    from .helpers import LOW_INCOME, intake_data

    _append("a")
    with write_transaction():
        check_against_ack({1: 9})
    login(client, "village")
    path = f"/cases/new/{LOW_INCOME}"
    response = client.post(path, data={**intake_data("blocked-1"), "csrf_token": csrf_token(client, path)})
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "restore" in text and 'value="张三"' in text
