"""Each station instance has its own session cookie: browsers share cookies between ports of one host, so a
village and a township served from one PC (or the demo) must not log each other out."""

from __future__ import annotations

import shutil
from pathlib import Path

from station import create_app
from station.services.setup import initialise_instance

from .conftest import TOWNSHIP_CODE, VILLAGE_CODE, login


def test_cookie_is_named_after_the_station(app, township_instance):
    township = create_app({"INSTANCE_PATH": str(township_instance), "TESTING": True})
    assert app.config["SESSION_COOKIE_NAME"] == f"yiciban_station_{VILLAGE_CODE}"
    assert township.config["SESSION_COOKIE_NAME"] == f"yiciban_station_{TOWNSHIP_CODE}"
    client = app.test_client()
    login(client, "village")
    assert client.get_cookie(f"yiciban_station_{VILLAGE_CODE}") is not None
    assert client.get("/").status_code == 200


def test_an_instance_without_identity_yet_is_named_by_its_key(tmp_path: Path):
    initialise_instance(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b", ignore=shutil.ignore_patterns("keys"))
    initialise_instance(tmp_path / "b")  # same database, new keys
    names = {create_app({"INSTANCE_PATH": str(tmp_path / n)}).config["SESSION_COOKIE_NAME"] for n in "ab"}
    assert len(names) == 2 and all(n.startswith("yiciban_station_") for n in names)
