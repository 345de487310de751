import hashlib
import io

from station.models import CaseRecord, EventLog
from station.services.attachments import blob_path
from station.services.sync import _inline_blobs
from sync_protocol.events import parse_event

from .conftest import csrf_token, login
from .helpers import LOW_INCOME, intake_data

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + "scan of 户口簿".encode()


def _case(client):
    path = f"/cases/new/{LOW_INCOME}"
    client.post(path, data={**intake_data("att-1"), "csrf_token": csrf_token(client, path)})
    return CaseRecord.get()


def _upload(client, case, content, name="scan.png", token="up-1"):
    data = {"csrf_token": csrf_token(client, f"/cases/{case.id}"), "token": token, "material": "",
            "file": (io.BytesIO(content), name)}  # fmt: skip
    return client.post(f"/cases/{case.id}/attachments", data=data, content_type="multipart/form-data")


def test_scan_is_stored_by_hash_and_referenced_by_the_event(client, instance):
    login(client, "village")
    case = _case(client)
    assert _upload(client, case, PNG).status_code == 302
    digest = hashlib.sha256(PNG).hexdigest()
    assert blob_path(instance / "blobs", digest).read_bytes() == PNG
    row = EventLog.get(EventLog.event_type == "case.attachment_added")
    event = parse_event(bytes(row.body))
    assert event.attachments[0].sha256 == digest and event.attachments[0].media_type == "image/png"
    assert PNG not in bytes(row.body)
    download = client.get(f"/cases/{case.id}/attachments/{digest}")
    assert download.status_code == 200 and download.data == PNG and download.mimetype == "image/png"
    assert [b.data for b in _inline_blobs([event], instance / "blobs")] == [PNG]


def test_the_same_scan_twice_is_one_file(client, instance):
    login(client, "village")
    case = _case(client)
    _upload(client, case, PNG, token="a")
    _upload(client, case, PNG, token="b")
    assert len([p for p in (instance / "blobs").rglob("*") if p.is_file()]) == 1


def test_files_that_are_not_scans_are_refused_in_chinese(client):
    login(client, "village")
    case = _case(client)
    response = _upload(client, case, b"MZ\x90\x00 not a scan", name="virus.png")
    assert response.status_code == 422 and "JPEG、PNG 或 PDF" in response.get_data(as_text=True)
    assert EventLog.select().where(EventLog.event_type == "case.attachment_added").count() == 0


def test_unknown_attachment_is_404(client):
    login(client, "village")
    case = _case(client)
    assert client.get(f"/cases/{case.id}/attachments/{'0' * 64}").status_code == 404
