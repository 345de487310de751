import os
import stat
import urllib.request

from click.testing import CliRunner

from station.cli import main
from tests.support.servers import NodeProcess, console_script


def close_output(node: NodeProcess) -> None:
    # NodeProcess leaves its stdout pipe open after the process ends; close it once the reader has drained it.
    node._reader.join(timeout=5)
    node.proc.stdout.close()


def _init(tmp_path):
    instance = tmp_path / "inst"
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--instance",
            str(instance),
            "--station-code",
            "990101101201",
            "--name",
            "示范村便民服务站",
            "--level",
            "village",
            "--parent",
            "990101101000",
            "--network",
            "test-network",
        ],
    )
    assert result.exit_code == 0, result.output
    return instance, result.output


def test_init_creates_keys_and_migrates_and_is_idempotent(tmp_path):
    instance, output = _init(tmp_path)
    assert "applied migration 0001_core" in output
    assert stat.S_IMODE(os.stat(instance / "keys" / "signing.key").st_mode) == 0o600
    signing = (instance / "keys" / "signing.key").read_bytes()
    _, again = _init(tmp_path)
    assert "applied migration" not in again and "created key" not in again
    assert (instance / "keys" / "signing.key").read_bytes() == signing


def test_init_refuses_to_turn_an_instance_into_another_station(tmp_path):
    instance, _ = _init(tmp_path)
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--instance",
            str(instance),
            "--station-code",
            "990101101202",
            "--name",
            "x",
            "--level",
            "village",
        ],
    )
    assert result.exit_code == 1 and "already belongs" in result.output


def test_init_rejects_a_malformed_station_code(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--instance",
            str(tmp_path / "i"),
            "--station-code",
            "123",
            "--name",
            "x",
            "--level",
            "village",
        ],
    )
    assert result.exit_code == 1 and "12-digit" in result.output


def test_create_user_rejects_unknown_role_and_short_password(tmp_path):
    instance, _ = _init(tmp_path)
    runner = CliRunner()
    bad_role = runner.invoke(
        main,
        [
            "create-user",
            "--instance",
            str(instance),
            "--username",
            "u",
            "--role",
            "boss",
            "--password",
            "longenough",
        ],
    )
    assert bad_role.exit_code == 1 and "unknown" in bad_role.output
    short = runner.invoke(
        main,
        [
            "create-user",
            "--instance",
            str(instance),
            "--username",
            "u",
            "--role",
            "village_staff",
            "--password",
            "x",
        ],
    )
    assert short.exit_code == 1 and "8 characters" in short.output


def test_serve_prints_its_url_answers_in_chinese_and_stops_on_sigterm(tmp_path):
    instance, _ = _init(tmp_path)
    node = NodeProcess(
        [console_script("yiciban-station"), "serve", "--instance", str(instance), "--port", "0"]
    )
    try:
        url = node.url()
        with urllib.request.urlopen(url + "/login", timeout=10) as response:
            assert response.status == 200
            assert "用户名" in response.read().decode("utf-8")
    finally:
        assert node.stop() == 0
        close_output(node)


def test_python_dash_m_station_runs_the_same_cli():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "station", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and "init" in result.stdout and "serve" in result.stdout
