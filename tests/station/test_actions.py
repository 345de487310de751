import shutil

import pytest

from station import create_app
from station import db as dbmod
from station.errors import ActionRefusedError
from station.models import CaseRecord, EventLog
from station.services import actions, case_levels, ratings
from station.services.cases import Actor, IntakeForm, case_view, receive_application

from .conftest import build_instance, csrf_token, login
from .helpers import LOW_INCOME, TEMPORARY_RELIEF, citizen_id, intake_data

CLERK = Actor("township", "township_clerk")
IMMEDIATE = "GG00101000"  # 城乡居民基本养老保险参保登记: 即办件 at the township
DISABILITY_CARD = "QR00402000"  # 残疾人证新办: the county accepts and decides
COUNTY_CODE = "990101000000"


def _receive(app, item_code=LOW_INCOME, token="t-receive"):
    data = intake_data(token, item_code=item_code)
    form = IntakeForm(
        token=token, item_code=item_code, applicant_name=data["applicant_name"], id_number=data["id_number"],
        phone=data["phone"], materials={k[9:]: v for k, v in data.items() if k.startswith("material_")},
    )  # fmt: skip
    return receive_application(app.extensions["station"].keys.field_cipher, CLERK, form)


def _act(case_id, action, token, **form):
    record, problems = actions.perform_action(CLERK, case_id, action, form, token)
    assert problems == {}, {k: v.text("en") for k, v in problems.items()}
    return record


def test_full_journey_correction_accept_grant_ready_deliver(township_app):
    case = _receive(township_app, item_code=TEMPORARY_RELIEF)  # the township decides it
    assert case.state == "received"
    first = next(iter(case_view(case.id).materials))
    _act(case.id, "request_correction", "t1", **{f"fix_{first}": "1", f"problem_{first}": "复印件不清晰"})
    assert _act(case.id, "accept", "t2").state == "accepted"
    _act(case.id, "review_note", "t3", step="初审", opinion="材料齐全")
    assert _act(case.id, "decide_grant", "t4", document_no="示民〔2026〕1号").state == "decided_granted"
    assert _act(case.id, "mark_result_ready", "t5", pickup="window").state == "result_ready"
    assert _act(case.id, "deliver", "t6", method="window", signed_by="张三").state == "delivered"
    view = case_view(case.id)
    assert view.anomalies == []
    assert [e.summary.zh for e in view.timeline][:3] == ["窗口收件", "一次性告知补正", "受理"]


def test_same_action_token_twice_is_one_event(township_app):
    case = _receive(township_app)
    _act(case.id, "accept", "same")
    _act(case.id, "accept", "same")
    assert EventLog.select().where(EventLog.event_type == "case.accepted").count() == 1


def test_action_not_allowed_from_the_state_says_so_in_chinese(township_app):
    case = _receive(township_app)
    record, problems = actions.perform_action(CLERK, case.id, "deliver", {}, "t-x")
    assert record is None and "不能执行" in problems["action"].text("zh")


def test_refusal_needs_reasons_and_keeps_nothing(township_app):
    case = _receive(township_app, item_code=TEMPORARY_RELIEF)
    _act(case.id, "accept", "a1")
    record, problems = actions.perform_action(CLERK, case.id, "decide_refuse", {"reasons": "  "}, "r1")
    assert record is None and "理由" in problems["reasons"].text("zh")
    assert CaseRecord.get_by_id(case.id).state == "accepted"


def test_correction_notice_must_list_something(township_app):
    case = _receive(township_app)
    record, problems = actions.perform_action(CLERK, case.id, "request_correction", {}, "c1")
    assert record is None and "corrections" in problems


def test_refuse_acceptance_not_competent_names_the_organ(township_app):
    case = _receive(township_app)
    _, problems = actions.perform_action(
        CLERK, case.id, "refuse_acceptance", {"reason_code": "not_competent", "reason": "不属本机关"}, "n1"
    )
    assert "competent_organ" in problems
    record = _act(case.id, "refuse_acceptance", "n2", reason_code="not_competent", reason="不属本机关",
                  competent_organ="县民政局")  # fmt: skip
    assert record.state == "not_accepted"


def test_extension_only_once(township_app):
    case = _receive(township_app)
    _act(case.id, "accept", "e0")
    _act(case.id, "extend", "e1", approver="王主任", reason="需要入户调查")
    _, problems = actions.perform_action(CLERK, case.id, "extend", {"approver": "x", "reason": "y"}, "e2")
    assert "一次" in problems["action"].text("zh")


def test_complete_on_the_spot_for_an_immediate_item(township_app):
    case = _receive(township_app, item_code=IMMEDIATE, token="imm")
    done = actions.complete_on_the_spot(CLERK, case.id, "spot", signed_by="张三")
    assert done.state == "delivered"
    assert [e.event_type for e in EventLog.select().where(EventLog.aggregate_id == case.id)] == [
        "case.received", "case.accepted", "case.decided", "case.result_ready", "case.delivered",
    ]  # fmt: skip


@pytest.mark.parametrize(("level", "opens_followup"), [(1, True), (2, True), (3, False), (5, False)])
def test_bad_rating_opens_a_followup(township_app, level, opens_followup):
    case = _receive(township_app)
    record, problems = ratings.rate_case(
        CLERK, case.id, {"level": str(level), "stage": "acceptance"}, "rate1"
    )
    assert problems == {}
    assert bool(case_view(case.id).followups) is opens_followup


def test_an_agent_never_rates_for_the_applicant(township_app):
    case = _receive(township_app)
    _, problems = ratings.rate_case(
        Actor("agent", "proxy_agent"), case.id, {"level": "5", "stage": "acceptance"}, "r"
    )
    assert "代办员" in problems["level"].text("zh")


def test_case_page_offers_the_actions_and_a_failed_form_keeps_the_text(township_app):
    client = township_app.test_client()
    login(client, "township")
    path = f"/cases/new/{TEMPORARY_RELIEF}"
    client.post(
        path,
        data={
            **intake_data("web1", item_code=TEMPORARY_RELIEF, decision="accept"),
            "csrf_token": csrf_token(client, path),
        },
    )
    case = CaseRecord.get()
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "准予" in page and "不予" in page and "撤回" in page
    assert f"/cases/{case.id}/act/forward" not in page  # the township decides this item: nothing to forward
    token = csrf_token(client, f"/cases/{case.id}")
    response = client.post(
        f"/cases/{case.id}/act/decide_refuse",
        data={"csrf_token": token, "token": "w1", "document_no": "文号-1"},
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "不予决定必须写明理由" in text and 'value="文号-1"' in text
    response = client.post(
        f"/cases/{case.id}/act/decide_grant",
        data={"csrf_token": token, "token": "w2", "document_no": "文号-2"},
    )
    assert response.status_code == 302 and CaseRecord.get_by_id(case.id).state == "decided_granted"


def test_village_case_page_has_no_acceptance_actions(client):
    login(client, "village")
    path = f"/cases/new/{LOW_INCOME}"
    client.post(path, data={**intake_data("v1"), "csrf_token": csrf_token(client, path)})
    case = CaseRecord.get()
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "/act/accept" not in page and "/act/withdraw" in page
    assert citizen_id() not in page


def test_followup_runs_until_closed_and_leaves_the_home_list(township_app):
    from station.services.home import home_lists
    from station.services.reference import today

    case = _receive(township_app)
    ratings.rate_case(CLERK, case.id, {"level": "1", "stage": "acceptance", "named": "1"}, "bad")
    followup_id = next(iter(case_view(case.id).followups))
    assert [c.id for c in home_lists(today()).followups_due] == [case.id]
    _, problems = ratings.record_followup(CLERK, case.id, followup_id, {"step": "verdict", "note": "x"}, "f0")
    assert "verdict" in problems
    steps = [
        {"step": "visited", "note": "电话回访"},
        {"step": "verdict", "verdict": "reasonable", "note": "等候时间过长"},
        {"step": "rectified", "measures": "增设窗口"},
        {"step": "closed", "rater_satisfaction": "satisfied"},
    ]
    for index, form in enumerate(steps):
        record, problems = ratings.record_followup(CLERK, case.id, followup_id, form, f"f{index + 1}")
        assert problems == {}
    assert case_view(case.id).followups[followup_id]["status"] == "closed"
    assert home_lists(today()).followups_due == []
    _, problems = ratings.record_followup(
        CLERK, case.id, followup_id, {"step": "visited", "note": "again"}, "f9"
    )
    assert "已办结" in problems["step"].text("zh")


def test_notes_are_kept_on_the_case(township_app):
    case = _receive(township_app)
    _, problems = actions.add_note(CLERK, case.id, "  ", "n0")
    assert "note" in problems
    actions.add_note(CLERK, case.id, "申请人下午补交材料", "n1")
    actions.add_note(CLERK, case.id, "申请人下午补交材料", "n1")
    assert case_view(case.id).notes == ["申请人下午补交材料"]


def test_a_township_cannot_decide_an_item_the_county_decides(township_app):
    case = _receive(township_app)  # 低保: the township accepts and examines, the county decides
    _act(case.id, "accept", "c-accept")
    offered = case_levels.available_actions(case_view(case.id), "township", "township_clerk")
    assert "forward" in offered and not {"decide_grant", "decide_refuse"} & set(offered)
    for action, form in (("decide_grant", {}), ("decide_refuse", {"reasons": "不符合条件"})):
        record, problems = actions.perform_action(CLERK, case.id, action, form, f"c-{action}")
        assert record is None
        assert problems["action"].text("zh") == "本事项由县级决定，乡镇级不能作出决定；请初审后上报"
        assert problems["action"].text("en") == (
            "This item is decided at county level, not at township level; examine it and forward it (上报)"
        )
    assert CaseRecord.get_by_id(case.id).state == "accepted"
    assert not EventLog.select().where(EventLog.event_type == "case.decided").exists()
    assert _act(case.id, "forward", "c-forward", opinion="初审同意").state == "forwarded"
    offered = case_levels.available_actions(case_view(case.id), "township", "township_clerk")
    assert not {"decide_grant", "decide_refuse", "forward"} & set(offered)


def test_a_township_cannot_forward_an_item_it_decides(township_app):
    case = _receive(township_app, item_code=TEMPORARY_RELIEF, token="t-own")
    _act(case.id, "accept", "o-accept")
    assert "forward" not in case_levels.available_actions(case_view(case.id), "township", "township_clerk")
    record, problems = actions.perform_action(CLERK, case.id, "forward", {"opinion": "同意"}, "o-forward")
    assert record is None and "无需上报" in problems["action"].text("zh")
    assert "nothing to forward" in problems["action"].text("en")


def test_a_forged_decision_post_at_the_township_is_refused_and_writes_nothing(township_app):
    client = township_app.test_client()
    login(client, "township")
    path = f"/cases/new/{LOW_INCOME}"
    client.post(
        path, data={**intake_data("web-c", decision="accept"), "csrf_token": csrf_token(client, path)}
    )
    case = CaseRecord.get()
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{case.id}/act/forward" in page and "上报" in page
    assert "/act/decide_grant" not in page and "/act/decide_refuse" not in page
    before = EventLog.select().count()
    token = csrf_token(client, f"/cases/{case.id}")
    response = client.post(
        f"/cases/{case.id}/act/decide_grant", data={"csrf_token": token, "token": "forged1"}
    )
    assert response.status_code == 422
    assert "本事项由县级决定，乡镇级不能作出决定" in response.get_data(as_text=True)
    response = client.post(
        f"/cases/{case.id}/act/decide_grant?lang=en", data={"csrf_token": token, "token": "forged2"}
    )
    assert "This item is decided at county level, not at township level" in response.get_data(as_text=True)
    assert EventLog.select().count() == before
    assert CaseRecord.get_by_id(case.id).state == "accepted"


def test_complete_on_the_spot_only_where_the_item_is_decided(township_app):
    # 养老保险待遇资格认证 is an immediate item the county accepts and decides: a township window cannot finish it
    # alone — it receives it for the county (代收) and sends it on.
    case = _receive(township_app, item_code="GG00902000", token="imm-county")
    before = EventLog.select().count()
    with pytest.raises(ActionRefusedError, match="本事项由县级决定"):
        actions.complete_on_the_spot(CLERK, case.id, "spot-c", signed_by="张三")
    assert EventLog.select().count() == before and CaseRecord.get_by_id(case.id).state == "village_received"
    own = _receive(township_app, item_code=IMMEDIATE, token="imm-township")  # the township decides this one
    client = township_app.test_client()
    login(client, "township")
    assert f"/cases/{case.id}/complete" not in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{own.id}/complete" in client.get(f"/cases/{own.id}").get_data(as_text=True)


@pytest.fixture(scope="module")
def county_template(tmp_path_factory):
    return build_instance(tmp_path_factory.mktemp("template") / "county", COUNTY_CODE, "county", "")


@pytest.fixture
def county_app(tmp_path, county_template):
    instance = shutil.copytree(county_template, tmp_path / "county")
    app = create_app({"INSTANCE_PATH": str(instance), "TESTING": True, "HUEY_IMMEDIATE": True})
    with dbmod.bound(app.extensions["station"].database):
        yield app


def test_the_county_decides_an_item_it_decides(county_app):
    county = Actor("county", "county_clerk")
    data = intake_data("k-receive", item_code=DISABILITY_CARD)
    form = IntakeForm(
        token="k-receive", item_code=DISABILITY_CARD, applicant_name=data["applicant_name"],
        id_number=data["id_number"], phone=data["phone"],
        materials={k[9:]: v for k, v in data.items() if k.startswith("material_")},
    )  # fmt: skip
    case = receive_application(county_app.extensions["station"].keys.field_cipher, county, form)
    record, problems = actions.perform_action(county, case.id, "accept", {}, "k-accept")
    assert problems == {} and record.state == "accepted"
    offered = case_levels.available_actions(case_view(case.id), "county", "county_clerk")
    assert {"decide_grant", "decide_refuse"} <= set(offered) and "forward" not in offered
    client = county_app.test_client()
    login(client, "county")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"/cases/{case.id}/act/decide_grant" in page
    response = client.post(
        f"/cases/{case.id}/act/decide_grant",
        data={
            "csrf_token": csrf_token(client, f"/cases/{case.id}"),
            "token": "k-grant",
            "document_no": "残联〔2026〕1号",
        },
    )
    assert response.status_code == 302 and CaseRecord.get_by_id(case.id).state == "decided_granted"
