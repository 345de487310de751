"""代办 screens: draft → print → dispatch, receive by typing the label, the agent's phone view, home issues, 委托书."""

from __future__ import annotations

import re

import pytest

from station.models import CaseRecord
from station.services import custody

from .conftest import TOWNSHIP_CODE, VILLAGE_CODE, csrf_token, login
from .test_custody import (
    COUNTY_CODE,
    ID_NUMBERS,
    _tampered,
    in_,
    install_registry,
    labels_of,
    node_of,
    receive_case,
    registry_for,
    township_app,
)

pytestmark = pytest.mark.filterwarnings("error")


def logged_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def post(client, path, data, page="/custody/"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


def test_clerk_drafts_prints_and_dispatches_a_manifest(app):
    cases = [receive_case(app), receive_case(app, "李四", ID_NUMBERS[1])]
    client = logged_in(app, "village")
    page = client.get("/custody/").get_data(as_text=True)
    assert "新建交接单" in page and cases[0].number in page
    response = post(
        client,
        "/custody/manifests",
        {"to_station": TOWNSHIP_CODE, "agent": "agent", "case_id": [c.id for c in cases]},
    )
    assert response.status_code == 302
    manifest_id = response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/custody/manifests/{manifest_id}").get_data(as_text=True)
    assert "<svg" in page and "YCB1.c." in page and "尚未交接" in page
    printed = client.get(f"/custody/manifests/{manifest_id}/print")
    assert printed.status_code == 200 and "代办交接单" in printed.get_data(as_text=True)
    pdf = client.get(f"/custody/manifests/{manifest_id}/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    dispatched = post(
        client, f"/custody/manifests/{manifest_id}/dispatch", {}, f"/custody/manifests/{manifest_id}"
    )
    assert dispatched.status_code == 302
    with in_(app):
        assert {CaseRecord.get_by_id(c.id).state for c in cases} == {"in_transit"}


def test_drafting_without_ticking_a_folder_says_so(app):
    receive_case(app)
    client = logged_in(app, "village")
    response = post(client, "/custody/manifests", {"to_station": TOWNSHIP_CODE, "agent": "agent"})
    assert response.status_code == 302
    assert "至少勾选" in client.get("/custody/").get_data(as_text=True)


@pytest.fixture
def dispatched_label(app):
    case = receive_case(app)
    with in_(app):
        manifest = custody.create_manifest(
            node_of(app).keys.signing_key,
            custody.Actor("village", "village_staff"),
            [case.id],
            TOWNSHIP_CODE,
            "agent",
        )
        custody.dispatch_manifest(custody.Actor("village", "village_staff"), manifest.id)
    return case, labels_of(app, manifest.id)[case.id]


@pytest.fixture
def township(tmp_path, app):
    township = township_app(tmp_path)
    install_registry(
        township,
        registry_for(
            (app, VILLAGE_CODE, "village", TOWNSHIP_CODE), (township, TOWNSHIP_CODE, "township", COUNTY_CODE)
        ),
    )
    return township


def test_township_clerk_receives_by_typing_the_label(township, dispatched_label):
    case, label = dispatched_label
    client = logged_in(township, "township")
    response = post(client, "/custody/receive", {"label": label}, "/custody/receive")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"已签收卷宗 {case.number}" in text and "张*明" in text
    assert "尚未同步到本站" in text  # registered before the case data arrived


def test_forged_label_is_refused_on_the_page_in_chinese_and_keeps_what_was_typed(township, dispatched_label):
    _case, label = dispatched_label
    client = logged_in(township, "township")
    forged = _tampered(label)
    response = post(client, "/custody/receive", {"label": forged}, "/custody/receive")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "签名无效" in text and "伪造" in text
    assert forged in text


def test_agent_view_fits_a_phone_and_lists_what_is_carried(app, dispatched_label):
    case, _label = dispatched_label
    client = logged_in(app, "agent")
    page = client.get("/custody/mine").get_data(as_text=True)
    assert "我携带的卷宗" in page and case.number in page and TOWNSHIP_CODE in page
    assert 'name="viewport" content="width=device-width' in page
    assert "<table" not in page  # cards, which reflow on a 360-px screen


def test_home_page_shows_the_custody_section(app):
    client = logged_in(app, "village")
    page = client.get("/").get_data(as_text=True)
    assert "代办" in page and "/custody/receive" in page


def test_authorization_form_records_and_prints_and_refuses_empty_powers(app):
    case = receive_case(app)
    client = logged_in(app, "village")
    path = f"/custody/cases/{case.id}/authorization"
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)
    refused = post(client, path, {"token": token, "agent": "agent", "signed_on": "2026-11-16"}, path)
    assert refused.status_code == 422 and "逐项列明" in refused.get_data(as_text=True)
    data = {
        "token": token,
        "agent": "agent",
        "signed_on": "2026-11-16",
        "power": ["submit_materials", "sign_for_result"],
    }
    recorded = post(client, path, data, path)
    assert recorded.status_code == 302
    event_id = recorded.headers["Location"].rsplit("recorded=", 1)[1]
    printed = client.get(f"{path}/{event_id}/print").get_data(as_text=True)
    assert "代办委托书" in printed and "代为提交申请材料" in printed
    assert client.get(f"{path}/{event_id}/pdf").data.startswith(b"%PDF")
    # The same form sent twice records one authorization.
    assert post(client, path, data, path).status_code == 302
    with in_(app):
        assert len(custody.authorizations_of(case.id)) == 1


def test_item_needing_personal_appearance_warns_and_refuses_full_proxy(app):
    case = receive_case(app, item_code="QR00402000")  # 残疾人证新办: 评残 needs the applicant in person
    client = logged_in(app, "village")
    path = f"/custody/cases/{case.id}/authorization"
    page = client.get(path).get_data(as_text=True)
    assert "须申请人本人到场" in page
    token = re.search(r'name="token" value="([0-9a-f]{32})"', page).group(1)
    data = {"token": token, "agent": "agent", "power": ["submit_materials"], "full_proxy": "1"}
    refused = post(client, path, data, path)
    assert refused.status_code == 422 and "不能全程代办" in refused.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/custody/", "/custody/receive", "/custody/mine", "/custody/issues"])
def test_custody_pages_need_a_login(client, path):
    assert client.get(path).status_code == 302


def test_auditor_cannot_dispatch_or_receive(app):
    client = logged_in(app, "auditor")
    assert client.get("/custody/receive").status_code == 403
    assert client.get("/custody/issues").status_code == 200


def test_a_role_that_cannot_act_at_this_level_gets_a_message_not_a_crash(app, dispatched_label):
    _case, label = dispatched_label
    client = logged_in(app, "township")  # a township clerk's login on a village station
    response = post(client, "/custody/receive", {"label": label}, "/custody/receive")
    assert response.status_code == 422
    assert "不能在村级站点办理交接" in response.get_data(as_text=True)


def test_case_custody_box_lists_hand_overs_and_links_the_authorization(app, dispatched_label):
    case, _label = dispatched_label
    with app.test_request_context():
        from flask import render_template_string

        with in_(app):
            html = render_template_string('{% include "custody/_case.html" %}', case=case)
    assert f"/custody/cases/{case.id}/authorization" in html
    assert "已交接" in html
