"""`yiciban-central` commands: init, create-user, register-station, enrollment-code, import, serve."""

from __future__ import annotations

import signal
import sys
import urllib.request

import pytest
from click.testing import CliRunner

from central.cli import cli
from central.db import database
from central.models import Batch, LogEvent, Station, User
from tests.support.servers import NodeProcess

from .builders import SimStation


@pytest.fixture
def cli_instance(tmp_path):
    instance = tmp_path / "c"
    result = CliRunner().invoke(cli, ["init", "--instance", str(instance), "--network", "cli-net"])
    assert result.exit_code == 0, result.output
    return instance


def invoke(*args, input=None):
    result = CliRunner().invoke(cli, list(args), input=input)
    return result


def test_init_reports_keys_and_warns_about_the_escrow_identity(tmp_path):
    result = CliRunner().invoke(cli, ["init", "--instance", str(tmp_path / "c"), "--network", "n1"])
    assert result.exit_code == 0
    assert "network id: n1" in result.output and "ingest recipient: age1" in result.output
    assert "Move it to offline storage" in result.output
    assert (tmp_path / "c" / "ESCROW-IDENTITY-MOVE-OFFLINE.txt").read_text().count("AGE-SECRET-KEY-1") == 1


def test_init_with_an_offline_escrow_recipient_writes_no_identity(tmp_path):
    from sync_protocol.keys import BoxKey

    recipient = BoxKey.generate().recipient
    result = CliRunner().invoke(
        cli, ["init", "--instance", str(tmp_path / "c"), "--escrow-recipient", recipient]
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "c" / "ESCROW-IDENTITY-MOVE-OFFLINE.txt").exists()
    assert (tmp_path / "c" / "keys" / "escrow_recipient.txt").read_text().strip() == recipient


def test_init_refuses_a_bad_escrow_recipient_and_an_existing_instance(tmp_path, cli_instance):
    bad = CliRunner().invoke(
        cli, ["init", "--instance", str(tmp_path / "d"), "--escrow-recipient", "age1nope"]
    )
    assert bad.exit_code == 1 and "not a valid age recipient" in bad.output
    again = invoke("init", "--instance", str(cli_instance))
    assert again.exit_code == 1 and "already initialised" in again.output


def test_create_user_register_station_and_enrollment_code(cli_instance):
    result = invoke(
        "create-user", "--instance", str(cli_instance), "--username", "root", "--role", "central_admin",
        input="long enough pw\nlong enough pw\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert User.get(User.username == "root").role == "central_admin"
    short = invoke(
        "create-user", "--instance", str(cli_instance), "--username", "x", "--role", "auditor", input="a\na\n"
    )
    assert short.exit_code == 1 and "at least 8" in short.output
    assert invoke("register-station", "--instance", str(cli_instance), "--code", "990101000000", "--name", "县",
                  "--level", "county").exit_code == 0  # fmt: skip
    refused = invoke("register-station", "--instance", str(cli_instance), "--code", "12", "--name", "x",
                     "--level", "county")  # fmt: skip
    assert refused.exit_code == 1
    code = invoke("enrollment-code", "--instance", str(cli_instance), "--station", "990101000000")
    assert code.exit_code == 0 and "enrollment code for 990101000000:" in code.output
    assert Station.get_by_id("990101000000").status == "registered"
    database.close()


def test_import_takes_a_usb_folder_and_processes_it(cli_instance, tmp_path):
    from central.runtime import current_runtime
    from central.services.enrollment import enroll_station
    from central.services.stations import issue_enrollment_code
    from sync_protocol.blobs import seal_blob
    from sync_protocol.seal import decode_recipient

    invoke("register-station", "--instance", str(cli_instance), "--code", "990101000000", "--name", "县",
           "--level", "county")  # fmt: skip
    runtime = current_runtime()
    code = issue_enrollment_code("990101000000", "t", runtime.cipher).code
    station = SimStation("990101000000", "cli-net")
    reply = enroll_station(
        station.enrollment_request(code), runtime.identity, runtime.cipher, runtime.root_document
    )
    station.open_epoch()
    station.receive_case()
    batch = station.batch(station.events, reply["central"])
    stick = tmp_path / "stick" / "yiciban" / "cli-net" / "up" / "990101000000"
    stick.mkdir(parents=True)
    (stick / batch.name).write_bytes(batch.data)
    # Two large scans ride along as their own sealed files; one was damaged on the stick.
    recipients = [decode_recipient(reply["central"][k]) for k in ("ingest_recipient", "escrow_recipient")]
    good, bad = (seal_blob(bytes([n]) * 300_000, "image/png", recipients) for n in (1, 2))
    (stick / good.name).write_bytes(good.data)
    (stick / bad.name).write_bytes(bad.data[:-100] + bytes([bad.data[-100] ^ 1]) + bad.data[-99:])
    result = invoke("import", "--instance", str(cli_instance), str(tmp_path / "stick"))
    assert result.exit_code == 0, result.output
    assert f"{batch.name}: applied" in result.output
    assert (
        f"{good.name}: stored\n" in result.output and f"{bad.name}: quarantined seal_auth\n" in result.output
    )
    assert (cli_instance / "blobs" / good.name).read_bytes() == good.data
    assert LogEvent.select().count() == 2
    again = invoke("import", "--instance", str(cli_instance), str(tmp_path / "stick"))
    assert f"{batch.name}: duplicate" in again.output and Batch.select().count() == 1
    assert f"{good.name}: duplicate" in again.output
    database.close()


@pytest.mark.slow
def test_serve_prints_its_url_serves_the_login_page_and_stops_on_sigterm(cli_instance):
    node = NodeProcess([sys.executable, "-m", "central", "serve", "--instance", str(cli_instance)])
    try:
        url = node.url()
        with urllib.request.urlopen(f"{url}/login", timeout=10) as response:
            assert response.status == 200 and "登录中心节点" in response.read().decode()
    finally:
        code = node.stop(signal.SIGTERM)
        node._reader.join(5)
        node.proc.stdout.close()
    assert code == 0, "\n".join(node.lines)
    assert any("stopped" in line for line in node.lines)
