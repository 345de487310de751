from casework.catalog import bundle_materials, demo_catalog
from station.models import Applicant, CaseRecord, EventLog

from .conftest import csrf_token, login
from .helpers import citizen_id

DISABILITY = "YJ00003000"  # 残疾人服务“一件事”: three items, the ID material is shared


def _data(token, **overrides):
    data = {"token": token, "applicant_name": "王五", "id_number": citizen_id("99010119700303789"),
            "phone": "13700137000", "address": "示范村二组", "decision": "receive"}  # fmt: skip
    for merged in bundle_materials(demo_catalog(), DISABILITY):
        data[f"material_{merged.material.key}"] = "received"
    data.update(overrides)
    return data


def test_bundle_form_asks_a_shared_material_once(client):
    login(client, "village")
    page = client.get(f"/bundles/{DISABILITY}/new").get_data(as_text=True)
    assert page.count('name="material_id_or_household"') == 1
    assert "残疾人证新办" in page


def test_bundle_makes_one_case_per_item_in_one_go_and_a_resubmit_makes_none(client):
    login(client, "village")
    path = f"/bundles/{DISABILITY}/new"
    first = client.post(path, data={**_data("b1"), "csrf_token": csrf_token(client, path)})
    assert first.status_code == 302
    assert CaseRecord.select().count() == 3 and Applicant.select().count() == 1
    assert {c.item_code for c in CaseRecord.select()} == {"QR00402000", "GF00401001", "GF00401002"}
    again = client.post(path, data={**_data("b1"), "csrf_token": csrf_token(client, path)})
    assert again.status_code == 302 and CaseRecord.select().count() == 3
    assert "王五" in client.get("/").get_data(as_text=True)


def test_bundle_with_a_mistake_saves_nothing_and_keeps_the_typing(client):
    login(client, "village")
    path = f"/bundles/{DISABILITY}/new"
    response = client.post(path, data={**_data("b2", phone="123"), "csrf_token": csrf_token(client, path)})
    assert response.status_code == 422
    assert 'value="王五"' in response.get_data(as_text=True)
    assert CaseRecord.select().count() == 0 and EventLog.select().count() == 0


def test_bundles_are_listed_when_finding_items(client):
    login(client, "village")
    assert f"/bundles/{DISABILITY}/new" in client.get("/items/?q=残疾").get_data(as_text=True)
