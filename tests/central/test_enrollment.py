"""Registering stations, one-time codes, and POST /api/v1/enroll issuing certificates via sync_protocol.trust."""

from __future__ import annotations

from datetime import timedelta

import pytest

from central.errors import RegistrationError
from central.models import AuditEntry, EnrollmentCode, Station, StationKey, utcnow
from central.services.stations import register_station
from sync_protocol.registry import verify_registry
from sync_protocol.trust import (
    check_certificate_matches_request,
    trust_initial_root,
    verify_certificate,
    verify_enrollment_request,
)

from .builders import SimStation
from .conftest import TOWNSHIP, VILLAGE, issue, login


def info(client):
    return client.get("/api/v1/info").get_json()


@pytest.mark.parametrize(
    ("code", "name", "level", "parent", "reason"),
    [
        ("99010110120", "x", "village", TOWNSHIP, "code_format"),
        ("990101101299", "", "village", TOWNSHIP, "name_required"),
        ("990101101299", "x", "city", TOWNSHIP, "level_unknown"),
        ("990101101299", "x", "village", None, "parent_required"),
        ("990101101299", "x", "village", "990101101888", "parent_unknown"),
        ("990101101299", "x", "village", "990101000000", "parent_level"),
        (VILLAGE, "x", "village", TOWNSHIP, "duplicate"),
    ],
)
def test_registration_is_validated(stations, code, name, level, parent, reason):
    with stations.app_context(), pytest.raises(RegistrationError) as caught:
        register_station(code, name, level, parent, "admin")
    assert caught.value.code == reason


def test_register_page_keeps_what_was_typed_and_explains_in_chinese(stations, client):
    login(client, "admin")
    response = client.post(
        "/stations/", data={"code": "123", "name": "某村", "level": "village", "parent_code": ""}
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "12 位统计用区划代码" in text and 'value="某村"' in text


def test_auditor_cannot_register_or_issue_codes(stations, client):
    login(client, "auditor")
    assert client.post("/stations/", data={"code": "990101101202"}).status_code == 403
    assert client.post(f"/stations/{VILLAGE}/enrollment-code").status_code == 403


def test_code_page_shows_the_code_once_and_stores_no_plaintext(stations, client):
    login(client, "admin")
    html = client.post(f"/stations/{VILLAGE}/enrollment-code").get_data(as_text=True)
    assert "一次性注册码" in html
    row = EnrollmentCode.get(EnrollmentCode.station_code == VILLAGE)
    code = html.split('<p class="code">')[1].split("<")[0]
    assert code.encode() not in bytes(row.code_sealed) and code not in row.code_hash
    assert f"/stations/{VILLAGE}" in client.get(f"/stations/{VILLAGE}").get_data(as_text=True)


def test_enroll_issues_a_certificate_that_verifies_against_the_root(stations, client):
    central = info(client)
    station = SimStation(VILLAGE, central["network"])
    request_bytes = station.enrollment_request(issue(stations))
    response = client.post("/api/v1/enroll", data=request_bytes)
    assert response.status_code == 200, response.get_json()
    reply = response.get_json()
    root = trust_initial_root(reply["central"]["roots"][0].encode(), network="test-net")
    cert = verify_certificate(reply["certificate"].encode(), root, network="test-net")
    check_certificate_matches_request(
        cert, verify_enrollment_request(request_bytes, network="test-net", code=None)
    )
    assert (cert.level, cert.parent, cert.epoch) == ("village", TOWNSHIP, 1)
    registry = verify_registry(reply["central"]["registry"].encode(), root, network="test-net")
    assert registry.public_key_for(VILLAGE, station.signing.key_id) == station.signing.public_raw
    assert reply["central"]["ingest_recipient"].startswith("age1")
    assert Station.get_by_id(VILLAGE).status == "enrolled"
    assert AuditEntry.select().where(AuditEntry.action == "station_enrolled").exists()


def test_code_typed_without_dashes_also_works(stations, client):
    station = SimStation(VILLAGE, "test-net")
    code = issue(stations).replace("-", "")
    assert client.post("/api/v1/enroll", data=station.enrollment_request(code)).status_code == 200


def test_repeating_the_same_request_returns_the_same_certificate(stations, client):
    station = SimStation(VILLAGE, "test-net")
    request_bytes = station.enrollment_request(issue(stations))
    first = client.post("/api/v1/enroll", data=request_bytes).get_json()
    second = client.post("/api/v1/enroll", data=request_bytes)
    assert second.status_code == 200 and second.get_json()["certificate"] == first["certificate"]
    assert StationKey.select().count() == 1


def test_a_used_code_cannot_enroll_another_key(stations, client):
    code = issue(stations)
    assert (
        client.post(
            "/api/v1/enroll", data=SimStation(VILLAGE, "test-net").enrollment_request(code)
        ).status_code
        == 200
    )
    thief = client.post("/api/v1/enroll", data=SimStation(VILLAGE, "test-net").enrollment_request(code))
    assert thief.status_code == 400 and thief.get_json()["error"] == "code_used"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda code, st: st.enrollment_request("WRNG-WRNG-WRNG-WRNG"), "code_invalid"),
        (lambda code, st: SimStation("990101101299", "test-net").enrollment_request(code), "unknown_station"),
        (lambda code, st: SimStation(VILLAGE, "other-net").enrollment_request(code), "wrong_network"),
        (lambda code, st: st.enrollment_request(code)[:-5] + b"xxxx}", "malformed"),
        (lambda code, st: b"not a request", "malformed"),
    ],
)
def test_bad_enrollment_requests_are_refused_with_a_reason(stations, client, mutate, reason):
    code = issue(stations)
    response = client.post("/api/v1/enroll", data=mutate(code, SimStation(VILLAGE, "test-net")))
    assert response.status_code == 400
    assert response.get_json()["error"] in {reason, "non_canonical", "bad_signature"}
    assert AuditEntry.select().where(AuditEntry.action == "enrollment_refused").exists()


def test_expired_code_is_refused(stations, client):
    code = issue(stations)
    EnrollmentCode.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    response = client.post("/api/v1/enroll", data=SimStation(VILLAGE, "test-net").enrollment_request(code))
    assert response.get_json()["error"] == "code_invalid"


def test_five_wrong_proofs_burn_the_code(stations, client):
    code = issue(stations)
    for _ in range(5):
        client.post(
            "/api/v1/enroll", data=SimStation(VILLAGE, "test-net").enrollment_request("AAAA-BBBB-CCCC-DDDD")
        )
    response = client.post("/api/v1/enroll", data=SimStation(VILLAGE, "test-net").enrollment_request(code))
    assert response.get_json()["error"] == "code_invalid"


def test_a_new_code_replaces_the_old_one(stations, client):
    old = issue(stations)
    issue(stations)
    response = client.post("/api/v1/enroll", data=SimStation(VILLAGE, "test-net").enrollment_request(old))
    assert response.get_json()["error"] == "code_invalid"


def test_oversized_enrollment_request_is_refused(stations, client):
    response = client.post("/api/v1/enroll", data=b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
