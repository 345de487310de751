import re
import sqlite3

from station.models import Applicant, CaseRecord, EventLog

from .conftest import csrf_token, login
from .helpers import LOW_INCOME, citizen_id, intake_data

INTAKE = f"/cases/new/{LOW_INCOME}"


def _post(client, data, path=INTAKE):
    data = {**data, "csrf_token": csrf_token(client, path)}
    return client.post(path, data=data)


def test_village_clerk_receives_an_application_and_sees_it_on_home(client):
    login(client, "village")
    response = _post(client, intake_data("tok1"))
    assert response.status_code == 302
    case = CaseRecord.get()
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.state == "village_received"
    assert re.fullmatch(r"990101101000-GF00201000-\d{8}-V101201-0001", case.number)
    home = client.get("/").get_data(as_text=True)
    assert case.number in home and "张三" in home
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "村站收件" in page and "9901********" in page or "9901" in page


def test_double_submit_of_one_form_makes_one_case_and_one_event(client):
    login(client, "village")
    first = _post(client, intake_data("same-token"))
    second = _post(client, intake_data("same-token"))
    assert first.headers["Location"] == second.headers["Location"]
    assert CaseRecord.select().count() == 1
    assert EventLog.select().where(EventLog.event_type == "case.received").count() == 1


def test_invalid_form_keeps_what_was_typed_and_says_what_to_fix_in_chinese(client):
    login(client, "village")
    bad_id = citizen_id()[:-1] + ("0" if citizen_id()[-1] != "0" else "1")
    response = _post(client, intake_data("tok2", id_number=bad_id, phone="12345"))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "校验位" in text  # the check digit message from casework.identifiers
    assert 'value="张三"' in text and f'value="{bad_id}"' in text and 'value="示范村一组"' in text
    assert CaseRecord.select().count() == 0 and EventLog.select().count() == 0


def test_missing_name_and_material_status_are_reported(client):
    login(client, "village")
    data = intake_data("tok3", applicant_name="")
    first_material = next(k for k in data if k.startswith("material_"))
    data[first_material] = ""
    text = _post(client, data).get_data(as_text=True)
    assert "请填写申请人姓名" in text and "请为“" in text


def test_id_number_is_encrypted_at_rest_and_found_by_keyed_hash(client, instance):
    login(client, "village")
    _post(client, intake_data("tok4"))
    raw = sqlite3.connect(instance / "station.db")
    number = citizen_id().encode()
    for table in ("applicant", "case_record", "event_log", "case_search"):
        for row in raw.execute(f"SELECT * FROM {table}"):
            assert not any(number in (v if isinstance(v, bytes) else str(v).encode()) for v in row), table
    applicant = Applicant.get()
    assert applicant.id_masked.startswith("9901") and "*" in applicant.id_masked
    results = client.get(f"/search?q={citizen_id()}").get_data(as_text=True)
    assert CaseRecord.get().number in results


def test_search_finds_by_name_pinyin_and_number(client):
    login(client, "village")
    _post(client, intake_data("tok5"))
    case = CaseRecord.get()
    for query in ("张三", "张", "zhangsan", "zs", case.number[-4:], "低保"):
        assert case.number in client.get(f"/search?q={query}").get_data(as_text=True), query
    assert case.number not in client.get("/search?q=李四").get_data(as_text=True)


def test_second_application_of_the_same_person_reuses_the_applicant_and_warns_on_duplicate(client):
    login(client, "village")
    _post(client, intake_data("tok6"))
    response = _post(client, intake_data("tok7"))
    assert response.status_code == 422
    assert "在办件" in response.get_data(as_text=True)
    confirmed = _post(client, intake_data("tok7", confirm_duplicate="1"))
    assert confirmed.status_code == 302
    assert Applicant.select().count() == 1 and CaseRecord.select().count() == 2
    assert CaseRecord.select().where(CaseRecord.number.endswith("-0002")).count() == 1


def test_auditor_cannot_open_the_intake_form(client):
    login(client, "auditor")
    assert client.get(INTAKE).status_code == 403


def test_township_clerk_accepts_with_gaps_and_gets_a_deadline_or_a_calendar_warning(township_app):
    client = township_app.test_client()
    login(client, "township")
    response = _post(client, intake_data("tok8", decision="accept_with_gaps", defer=True))
    assert response.status_code == 302
    case = CaseRecord.get()
    assert case.state == "accepted_with_gaps" and case.open_gaps >= 1
    assert case.number.split("-")[3] == "T101000"
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "容缺受理" in page
    assert case.deadline or "工作日历尚未导入" in page


def test_accept_refuses_deferred_materials_with_a_clear_message(township_app):
    client = township_app.test_client()
    login(client, "township")
    text = _post(client, intake_data("tok9", decision="accept", defer=True)).get_data(as_text=True)
    assert "容缺受理" in text and CaseRecord.select().count() == 0


def test_village_cannot_choose_accept(client):
    login(client, "village")
    response = _post(client, intake_data("tok10", decision="accept"))
    assert response.status_code == 422


def test_find_item_by_name_and_open_its_guide(client):
    login(client, "village")
    page = client.get("/items/?q=低保").get_data(as_text=True)
    assert LOW_INCOME in page
    guide = client.get(f"/items/{LOW_INCOME}").get_data(as_text=True)
    assert "最低生活保障" in guide
    assert client.get("/items/NOPE").status_code == 404


def test_entrusted_agent_is_recorded_with_the_case(client):
    login(client, "village")
    agent_id = citizen_id("99010119900202456")
    response = _post(
        client, intake_data("agent-1", agent_name="李四", agent_id_number=agent_id, agent_phone="13900139000")
    )
    assert response.status_code == 302
    case = CaseRecord.get()
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "委托代理人" in page and "李四" in page and agent_id not in page
    assert Applicant.select().count() == 2


def test_agent_cannot_be_the_applicant(client):
    login(client, "village")
    response = _post(client, intake_data("agent-2", agent_name="张三", agent_id_number=citizen_id()))
    assert response.status_code == 422 and "代理人不能是申请人本人" in response.get_data(as_text=True)


def test_search_before_create_fills_in_a_known_applicant_and_shows_open_cases(client):
    login(client, "village")
    _post(client, intake_data("sbc-1"))
    case = CaseRecord.get()
    page = client.get(f"{INTAKE}?id_number={citizen_id()}").get_data(as_text=True)
    assert 'value="张三"' in page and 'value="13800138000"' in page and case.number in page
    unknown = client.get(f"{INTAKE}?id_number={citizen_id('99010119900202456')}").get_data(as_text=True)
    assert "本站尚无此人记录" in unknown


def test_township_receives_and_issues_the_one_time_notice_in_one_step(township_app):
    client = township_app.test_client()
    login(client, "township")
    data = intake_data("notice-1", decision="request_correction")
    missing = next(k for k in data if k.startswith("material_"))
    data[missing] = "missing"
    response = _post(client, data)
    assert response.status_code == 302
    case = CaseRecord.get()
    assert case.state == "correction_requested"
    event = EventLog.get(EventLog.event_type == "case.correction_requested")
    assert missing[len("material_") :] in bytes(event.body).decode()
    nothing_missing = _post(client, intake_data("notice-2", decision="request_correction"))
    assert nothing_missing.status_code == 422 and "一次性告知要列出缺少的材料" in nothing_missing.get_data(
        as_text=True
    )


COUNTY_ACCEPTS = "GG00802000"  # 法律援助申请: a township may receive it, the county accepts and decides


def test_a_township_only_receives_and_forwards_an_item_the_county_accepts(township_app):
    client = township_app.test_client()
    login(client, "township")
    path = f"/cases/new/{COUNTY_ACCEPTS}"
    form = client.get(path).get_data(as_text=True)
    assert re.findall(r'name="decision" value="(\w+)"', form) == ["receive"]
    assert "本事项由县级受理：本站代收后由代办员报送" in form and "收件并报送" in form
    for decision in (
        "accept",
        "accept_with_gaps",
        "request_correction",
    ):  # forged: the form never offers them
        data = intake_data(f"forged-{decision}", item_code=COUNTY_ACCEPTS, decision=decision, defer=True)
        response = _post(client, data, path)
        assert response.status_code == 422
        assert "本事项由县级受理，本站（乡镇级）只能代收后由代办员报送" in response.get_data(as_text=True)
    english = _post(
        client, intake_data("forged-en", item_code=COUNTY_ACCEPTS, decision="accept"), path + "?lang=en"
    )
    assert (
        "This item is accepted at county level: this township station can only receive it"
        in english.get_data(as_text=True)
    )
    assert (
        EventLog.select().count() == 0
        and CaseRecord.select().count() == 0
        and Applicant.select().count() == 0
    )
    received = _post(client, intake_data("for-county", item_code=COUNTY_ACCEPTS), path)
    assert received.status_code == 302
    case = CaseRecord.get()
    assert case.state == "village_received" and case.accepted_on is None and case.deadline is None
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert (
        f"/cases/{case.id}/act/accept" not in page and f"/cases/{case.id}/act/request_correction" not in page
    )


def test_the_township_still_accepts_what_it_is_the_accepting_level_for(township_app):
    client = township_app.test_client()
    login(client, "township")
    form = client.get(INTAKE).get_data(as_text=True)
    assert re.findall(r'name="decision" value="(\w+)"', form) == [
        "receive", "accept", "accept_with_gaps", "request_correction",
    ]  # fmt: skip
    assert "本事项由县级受理" not in form
    assert _post(client, intake_data("own", decision="accept")).status_code == 302
    assert CaseRecord.get().state == "accepted"


def test_the_service_refuses_acceptance_at_a_level_that_only_receives_and_writes_nothing(township_app):
    import pytest

    from casework.catalog import demo_catalog
    from station.errors import ActionRefusedError
    from station.services.cases import Actor, IntakeForm, decisions_for, receive_application

    catalog = demo_catalog()
    assert decisions_for("township", catalog.item("QR00701000")) == (
        "receive",
    )  # 户口迁入: the county accepts
    assert decisions_for("township", catalog.item(LOW_INCOME))[1:] == (
        "accept",
        "accept_with_gaps",
        "request_correction",
    )
    assert decisions_for("village", catalog.item(LOW_INCOME)) == ("receive",)
    assert decisions_for("county", catalog.item("QR00402000"))[1] == "accept"
    cipher = township_app.extensions["station"].keys.field_cipher
    data = intake_data("svc", item_code=COUNTY_ACCEPTS)
    form = IntakeForm(
        token="svc", item_code=COUNTY_ACCEPTS, applicant_name=data["applicant_name"], id_number=data["id_number"],
        phone=data["phone"], materials={k[9:]: v for k, v in data.items() if k.startswith("material_")},
        decision="accept",
    )  # fmt: skip
    with pytest.raises(ActionRefusedError, match="This item is accepted at county level"):
        receive_application(cipher, Actor("township", "township_clerk"), form)
    assert EventLog.select().count() == 0 and CaseRecord.select().count() == 0
    form.decision = "receive"
    case = receive_application(cipher, Actor("township", "township_clerk"), form)
    assert case.state == "village_received"
    received = EventLog.get(EventLog.event_type == "case.received")
    assert '"to":"village_received"' in bytes(received.body).decode()


def test_a_bundle_at_the_township_accepts_its_own_members_and_receives_the_county_s_for_it(township_app):
    from casework.catalog import bundle_materials, demo_catalog

    client = township_app.test_client()
    login(client, "township")
    path = "/bundles/YJ00003000/new"  # 残疾人服务“一件事”: 残疾人证新办 is the county's to accept
    data = {"token": "bundle-t", "applicant_name": "王五", "id_number": citizen_id("99010119700303789"),
            "phone": "13700137000", "decision": "accept"}  # fmt: skip
    data.update(
        {f"material_{m.material.key}": "received" for m in bundle_materials(demo_catalog(), "YJ00003000")}
    )
    assert _post(client, data, path).status_code == 302
    states = {c.item_code: c.state for c in CaseRecord.select()}
    assert states == {"QR00402000": "village_received", "GF00401001": "accepted", "GF00401002": "accepted"}
