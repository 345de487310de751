"""代办 custody: manifests, two-phase pairing, class-D anomalies, holdings, hop times and the 代办委托书."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework import demo_catalog
from casework.calendar import WorkingCalendar, default_calendar
from casework.custody import (
    CONFLICT_CLASS,
    POWER_LABELS,
    AnomalyKind,
    AuthorizationError,
    CustodyError,
    CustodyLimits,
    CustodyStatus,
    Direction,
    Dispatch,
    Folder,
    HoldingKind,
    Receipt,
    authorization_payload,
    check_authorization,
    custody_anomalies,
    custody_from_events,
    holding_anomalies,
    holdings_from_events,
    local_day,
    manifest_number,
    new_manifest,
    pair_custody,
    route_times,
    to_moment,
)
from casework.events import AUTHORIZATION_POWERS, CaseEvent, validate_payload

CAL = default_calendar()
CN = dt.timezone(dt.timedelta(hours=8))
VILLAGE, TOWNSHIP, OTHER_TOWNSHIP, COUNTY = "990101101201", "990101101000", "990101102000", "990101000000"
LEVELS = {VILLAGE: "village", TOWNSHIP: "township", OTHER_TOWNSHIP: "township", COUNTY: "county"}
CASE = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
MANIFEST = "990101101201-20261116-M01"


def at(day: int, hour: int = 9, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=CN)


def folder(case_id: str = CASE, number: str = "V01-0001") -> Folder:
    return Folder(case_id, number, "GF00201000", "张*明", 4, 12)


def dispatch(when: dt.datetime = at(16), to: str = TOWNSHIP, case_id: str = CASE) -> Dispatch:
    return Dispatch(MANIFEST, case_id, VILLAGE, to, "agent", when, Direction.UP, "V01-0001")


def receipt(station: str = TOWNSHIP, when: dt.datetime = at(17), case_id: str = CASE) -> Receipt:
    return Receipt(MANIFEST, case_id, station, "clerk", when, VILLAGE, "V01-0001")


def anomalies(dispatches, receipts, today: dt.date, limits: CustodyLimits | None = None):
    records = pair_custody(dispatches, receipts)
    return custody_anomalies(records, today=today, calendar=CAL, level_of=LEVELS.get, limits=limits)


# --- manifests ---------------------------------------------------------------------------------------------


def test_manifest_lists_folders_and_their_label_fields():
    manifest = new_manifest(
        MANIFEST,
        from_station=VILLAGE,
        to_station=TOWNSHIP,
        agent=" 李代办 ",
        folders=[folder()],
        created_at=at(16),
    )
    assert manifest.agent == "李代办"
    assert manifest.case_ids == (CASE,)
    assert manifest.folders[0].label_fields(VILLAGE, MANIFEST) == {
        "case_id": CASE,
        "case_number": "V01-0001",
        "item_code": "GF00201000",
        "sending_station": VILLAGE,
        "masked_applicant": "张*明",
        "material_count": 4,
        "manifest_id": MANIFEST,
    }


def test_manifest_number_is_station_date_and_sequence():
    assert manifest_number(VILLAGE, dt.date(2026, 11, 16), 1) == MANIFEST
    with pytest.raises(CustodyError):
        manifest_number(VILLAGE, dt.date(2026, 11, 16), 0)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"folders": []}, "empty_manifest"),
        ({"folders": [folder(), folder()]}, "folder_twice"),
        ({"to_station": VILLAGE}, "same_station"),
        ({"agent": "  "}, "no_agent"),
        ({"manifest_id": "has space"}, "bad_manifest_id"),
        ({"manifest_id": "x" * 65}, "bad_manifest_id"),
        ({"folders": [Folder(CASE, "n", "i", "张*", -1)]}, "negative_count"),
    ],
)
def test_manifest_refuses_what_cannot_be_handed_over(changes, code):
    args = {
        "manifest_id": MANIFEST,
        "from_station": VILLAGE,
        "to_station": TOWNSHIP,
        "agent": "agent",
        "folders": [folder()],
        "created_at": at(16),
    }
    args.update(changes)
    manifest_id = args.pop("manifest_id")
    with pytest.raises(CustodyError) as caught:
        new_manifest(manifest_id, **args)
    assert caught.value.code == code
    assert caught.value.text("zh") != caught.value.text("en")


# --- pairing -----------------------------------------------------------------------------------------------


def test_matched_pair_closes_by_itself_with_no_anomaly():
    records = pair_custody([dispatch()], [receipt()])
    assert [r.status for r in records] == [CustodyStatus.CLOSED]
    assert anomalies([dispatch()], [receipt()], dt.date(2026, 12, 31)) == []


def test_same_station_scanning_twice_is_one_receipt():
    records = pair_custody([dispatch()], [receipt(when=at(17)), receipt(when=at(18))])
    assert len(records[0].receipts) == 1
    assert records[0].receipts[0].at == at(17)
    assert records[0].status is CustodyStatus.CLOSED


def test_dispatch_only_is_in_transit_and_receipt_only_is_unmatched():
    assert pair_custody([dispatch()], [])[0].status is CustodyStatus.IN_TRANSIT
    assert pair_custody([], [receipt()])[0].status is CustodyStatus.UNMATCHED


@given(st.permutations([0, 1, 2, 3]))
def test_pairing_does_not_depend_on_arrival_order(order):
    other = "0190a1b2-c3d4-7e5f-8a9b-000000000002"
    items = [dispatch(), receipt(), dispatch(case_id=other), receipt(OTHER_TOWNSHIP, case_id=other)]
    shuffled = [items[i] for i in order]
    records = pair_custody(
        [x for x in shuffled if isinstance(x, Dispatch)], [x for x in shuffled if isinstance(x, Receipt)]
    )
    assert [(r.case_id, r.status) for r in records] == [
        (other, CustodyStatus.DISPUTED),
        (CASE, CustodyStatus.CLOSED),
    ]


# --- anomalies ---------------------------------------------------------------------------------------------


def test_receipt_without_dispatch_is_a_class_d_conflict_naming_both_stations():
    [found] = anomalies([], [receipt()], dt.date(2026, 11, 17))
    assert found.kind is AnomalyKind.RECEIPT_WITHOUT_DISPATCH
    assert found.conflict_class == CONFLICT_CLASS == "D"
    assert set(found.stations) == {VILLAGE, TOWNSHIP}
    record = found.to_conflict()
    assert record["class"] == "D"
    assert record["key"] == f"custody:receipt_without_dispatch:{MANIFEST}:{CASE}"
    assert "没有移交记录" in record["description"]["zh"]
    assert "no dispatch" in record["description"]["en"]


def test_receipt_without_dispatch_waits_for_the_grace_period_then_is_raised():
    limits = CustodyLimits(receipt_grace_days=1)
    assert anomalies([], [receipt(when=at(17))], dt.date(2026, 11, 18), limits) == []
    [found] = anomalies([], [receipt(when=at(17))], dt.date(2026, 11, 19), limits)
    assert found.kind is AnomalyKind.RECEIPT_WITHOUT_DISPATCH


def test_late_dispatch_arriving_by_sync_closes_the_receipt_without_dispatch():
    assert anomalies([], [receipt()], dt.date(2026, 11, 17))
    assert anomalies([dispatch()], [receipt()], dt.date(2026, 11, 17)) == []


def test_received_by_the_wrong_station():
    kinds = {a.kind for a in anomalies([dispatch()], [receipt(OTHER_TOWNSHIP)], dt.date(2026, 11, 17))}
    assert kinds == {AnomalyKind.WRONG_STATION}


def test_received_at_two_places_is_a_double_receipt_and_a_wrong_station():
    found = anomalies([dispatch()], [receipt(), receipt(OTHER_TOWNSHIP, at(18))], dt.date(2026, 11, 18))
    assert {a.kind for a in found} == {AnomalyKind.DOUBLE_RECEIPT, AnomalyKind.WRONG_STATION}
    double = next(a for a in found if a.kind is AnomalyKind.DOUBLE_RECEIPT)
    assert set(double.stations) == {VILLAGE, TOWNSHIP, OTHER_TOWNSHIP}
    assert OTHER_TOWNSHIP in double.message.text("zh")


# Dispatched Monday 2026-11-16: the 3rd working day after is Thursday 11-19; overdue from Friday 11-20.
@pytest.mark.parametrize(("today", "overdue"), [(19, False), (20, True), (23, True)])
def test_in_transit_past_three_working_days_village_to_township(today, overdue):
    found = anomalies([dispatch()], [], dt.date(2026, 11, today))
    assert bool(found) is overdue
    if overdue:
        assert found[0].kind is AnomalyKind.TRANSIT_OVERDUE
        assert found[0].limit_days == 3
        assert "3 个工作日" in found[0].message.text("zh")


def test_transit_limit_counts_working_days_across_a_holiday():
    # Dispatched Wednesday 2026-09-30: 10-01..10-07 is 国庆; 10-10 (Sat) is a 调休 working day.
    when = dt.datetime(2026, 9, 30, 9, tzinfo=CN)
    assert anomalies([dispatch(when)], [], dt.date(2026, 10, 7)) == []
    assert anomalies([dispatch(when)], [], dt.date(2026, 10, 10)) == []  # 10-08, 10-09, 10-10: three days
    assert anomalies([dispatch(when)], [], dt.date(2026, 10, 11))


def test_transit_limit_is_configurable_per_hop():
    limits = CustodyLimits(hop_days={("village", "township"): 1, (TOWNSHIP, COUNTY): 7})
    assert anomalies([dispatch()], [], dt.date(2026, 11, 18), limits)
    up_to_county = Dispatch("T-M01", CASE, TOWNSHIP, COUNTY, "agent", at(16))
    assert anomalies([up_to_county], [], dt.date(2026, 11, 24), limits) == []
    assert anomalies([up_to_county], [], dt.date(2026, 11, 26), limits)[0].limit_days == 7
    # A hop with no rule uses the default.
    assert CustodyLimits().transit_days(COUNTY, TOWNSHIP, LEVELS.get) == 3


def test_missing_calendar_year_still_raises_the_issue_with_a_visible_warning():
    calendar_2026_only = WorkingCalendar({2026: CAL.years[2026]})
    late_december = Dispatch(MANIFEST, CASE, VILLAGE, TOWNSHIP, "agent", at(30, month=12))
    records = pair_custody([late_december], [])
    found = custody_anomalies(
        records, today=dt.date(2027, 1, 8), calendar=calendar_2026_only, level_of=LEVELS.get
    )
    assert found and found[0].calendar_warning is not None
    assert found[0].calendar_warning.code == "calendar_missing"
    assert found[0].to_conflict()["calendar_warning"]["code"] == "calendar_missing"


# --- holdings ----------------------------------------------------------------------------------------------


def ev(
    type_: str, payload: dict, station: str = VILLAGE, when: str = "2026-11-16T09:00:00+08:00"
) -> CaseEvent:
    return CaseEvent(type_, payload, when, "user", station, LEVELS[station], {"case_id": CASE})


def village_received(day: str = "2026-11-16") -> CaseEvent:
    return ev(
        "received",
        {"from": None, "to": "village_received", "case_no": "V01-0001", "item_code": "GF00201000",
         "item_version": 1, "applicant_id": "a1", "station": VILLAGE, "received_on": day, "channel": "village",
         "materials": []},
        when=f"{day}T09:00:00+08:00",
    )  # fmt: skip


def dispatched(
    direction: str = "up", station: str = VILLAGE, to: str = TOWNSHIP, when: str = "2026-11-18T10:00:00+08:00"
):
    frm, to_state = (
        ("village_received", "in_transit") if direction == "up" else ("result_ready", "result_ready")
    )
    return ev(
        "custody_dispatched",
        {"from": frm, "to": to_state, "manifest_id": f"{station}-M", "carrier": "agent", "to_station": to,
         "at": when, "direction": direction},
        station=station, when=when,
    )  # fmt: skip


def received(
    direction: str = "up",
    station: str = TOWNSHIP,
    sender: str = VILLAGE,
    when: str = "2026-11-19T15:30:00+08:00",
):
    frm, to_state = ("in_transit", "received") if direction == "up" else ("result_ready", "result_ready")
    return ev(
        "custody_received",
        {"from": frm, "to": to_state, "manifest_id": f"{sender}-M", "received_by": "clerk", "at": when,
         "direction": direction},
        station=station, when=when,
    )  # fmt: skip


def test_custody_events_are_valid_case_event_payloads():
    for event in (village_received(), dispatched(), received(), dispatched("down", TOWNSHIP, VILLAGE)):
        validate_payload(event.type, event.payload)


def test_village_holding_more_than_three_working_days_before_forwarding():
    holdings = holdings_from_events(CASE, [village_received()], "V01-0001")
    assert [h.kind for h in holdings] == [HoldingKind.VILLAGE_FORWARDING]
    assert holding_anomalies(holdings, today=dt.date(2026, 11, 19), calendar=CAL) == []
    [found] = holding_anomalies(holdings, today=dt.date(2026, 11, 20), calendar=CAL)
    assert found.kind is AnomalyKind.VILLAGE_HOLDING_OVERDUE
    assert found.stations == (VILLAGE,)
    assert found.to_conflict()["key"] == f"custody:village_holding_overdue:-:{CASE}"
    assert "未报送乡镇" in found.message.text("zh")


def test_forwarding_ends_the_village_holding():
    assert holdings_from_events(CASE, [village_received(), dispatched()]) == []


def test_result_held_more_than_five_working_days_without_delivery():
    events = [
        village_received(),
        dispatched(),
        received(),
        dispatched("down", TOWNSHIP, VILLAGE, "2026-11-23T09:00:00+08:00"),
        received("down", VILLAGE, TOWNSHIP, "2026-11-24T11:00:00+08:00"),
    ]
    [holding] = holdings_from_events(CASE, events)
    assert (holding.kind, holding.station) == (HoldingKind.RESULT_DELIVERY, VILLAGE)
    assert holding_anomalies([holding], today=dt.date(2026, 12, 1), calendar=CAL) == []
    [found] = holding_anomalies([holding], today=dt.date(2026, 12, 2), calendar=CAL)
    assert found.kind is AnomalyKind.RESULT_NOT_DELIVERED and found.age_days == 6
    delivered = ev(
        "delivered",
        {
            "from": "result_ready",
            "to": "delivered",
            "delivered_on": "2026-11-25",
            "method": "agent",
            "signed_by": "张三",
        },
    )
    assert holdings_from_events(CASE, [*events, delivered]) == []


# --- hop times ---------------------------------------------------------------------------------------------


def test_route_times_pair_hops_across_stations_for_the_kpis():
    events = [
        village_received(),
        dispatched(),
        received(),
        dispatched("down", TOWNSHIP, VILLAGE, "2026-11-23T09:00:00+08:00"),
        received("down", VILLAGE, TOWNSHIP, "2026-11-24T11:00:00+08:00"),
    ]
    route = route_times(CASE, events, CAL)
    assert route.agent_trips == 2 and route.carried_by_agent
    assert route.village_hold_days == 2  # received Monday, sent up Wednesday
    up, down = route.hops
    assert (up.direction, up.minutes, up.working_days) == (Direction.UP, 29 * 60 + 30, 1)
    assert (down.direction, down.working_days) == (Direction.DOWN, 1)
    assert route.transit_working_days == 2


def test_route_times_of_a_folder_not_yet_received():
    route = route_times(CASE, [village_received(), dispatched()], CAL)
    assert route.hops[0].received_at is None and route.hops[0].minutes is None
    assert route.transit_working_days == 0


def test_custody_from_events_takes_sender_and_receiver_from_the_recording_station():
    dispatches, receipts = custody_from_events([dispatched(), received()])
    assert (dispatches[0].from_station, dispatches[0].to_station) == (VILLAGE, TOWNSHIP)
    assert receipts[0].station == TOWNSHIP and receipts[0].case_id == CASE


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-11-16T20:00:00Z", dt.date(2026, 11, 17)),  # 04:00 next morning in China
        ("2026-11-16T20:00:00", dt.date(2026, 11, 16)),  # naive means China time
        (1_763_323_200_000, dt.date(2025, 11, 17)),
    ],
)
def test_working_days_are_counted_on_china_local_dates(value, day):
    assert local_day(value) == day
    assert to_moment(value).tzinfo is not None


# --- 代办委托书 --------------------------------------------------------------------------------------------

ITEMS = demo_catalog()


def test_authorization_lists_powers_item_by_item_in_print_order():
    check = check_authorization(
        [ITEMS.item("GF00201000")], ["sign_for_result", "submit_materials"], signed_on=dt.date(2026, 11, 16)
    )
    assert check.powers == ("submit_materials", "sign_for_result")
    assert check.power_labels("zh") == ("代为提交申请材料", "代为签收办理结果")
    assert check.warnings == ()
    payload = authorization_payload(check, agent_id="agent", signed_on=dt.date(2026, 11, 16))
    validate_payload("authorization_recorded", payload)


def test_every_power_the_event_schema_accepts_has_a_printed_label():
    assert set(POWER_LABELS) == set(AUTHORIZATION_POWERS)


@pytest.mark.parametrize(
    ("powers", "code"),
    [
        (["全权"], "authorization_blanket_power"),
        (["all"], "authorization_blanket_power"),
        (["submit_materials", "全权代理"], "authorization_blanket_power"),
        ([], "authorization_no_powers"),
        (["sign_anything"], "authorization_unknown_power"),
        (["withdraw", "withdraw"], "authorization_power_twice"),
    ],
)
def test_authorization_refuses_blanket_or_unknown_powers(powers, code):
    with pytest.raises(AuthorizationError) as caught:
        check_authorization([ITEMS.item("GF00201000")], powers, signed_on=dt.date(2026, 11, 16))
    assert caught.value.code == code


def test_authorization_needs_items_and_sane_dates():
    with pytest.raises(AuthorizationError, match="entrusted items"):
        check_authorization([], ["withdraw"], signed_on=dt.date(2026, 11, 16))
    with pytest.raises(AuthorizationError) as caught:
        check_authorization(
            [ITEMS.item("GF00201000")],
            ["withdraw"],
            signed_on=dt.date(2026, 11, 16),
            valid_until=dt.date(2026, 1, 1),
        )
    assert caught.value.code == "authorization_dates"


def test_item_requiring_personal_appearance_is_only_partly_proxied_with_a_warning():
    check = check_authorization(
        [ITEMS.item("QR00402000"), ITEMS.item("GF00201000")],
        ["submit_materials"],
        signed_on=dt.date(2026, 11, 16),
    )
    assert [s.fully_proxiable for s in check.items] == [False, True]
    [warning] = check.warnings
    assert warning.code == "personal_appearance_required"
    assert "残疾人证新办" in warning.text("zh") and "本人到场" in warning.text("zh")
    assert "in person" in warning.text("en")


def test_full_proxy_of_an_item_requiring_personal_appearance_is_refused():
    with pytest.raises(AuthorizationError) as caught:
        check_authorization(
            [ITEMS.item("QR00402000")], ["submit_materials"], signed_on=dt.date(2026, 11, 16), full_proxy=True
        )
    assert caught.value.code == "personal_appearance_required"
    assert (
        check_authorization(
            [ITEMS.item("GF00201000")], ["submit_materials"], signed_on=dt.date(2026, 11, 16), full_proxy=True
        )
        .items[0]
        .fully_proxiable
    )


def test_limits_come_from_node_settings_per_hop_by_level_or_station():
    limits = CustodyLimits.from_settings(
        {
            "CUSTODY_HOP_DAYS": f"village>township=2; township>county=5; {TOWNSHIP}>{COUNTY}=7",
            "CUSTODY_TRANSIT_DAYS": "4",
            "CUSTODY_RECEIPT_GRACE_DAYS": 1,
        }
    )
    assert limits.transit_days(VILLAGE, TOWNSHIP, LEVELS.get) == 2
    assert limits.transit_days(OTHER_TOWNSHIP, COUNTY, LEVELS.get) == 5
    assert limits.transit_days(TOWNSHIP, COUNTY, LEVELS.get) == 7
    assert limits.transit_days(COUNTY, TOWNSHIP, LEVELS.get) == 4
    assert (limits.receipt_grace_days, limits.result_hold_days, limits.village_hold_days) == (1, 5, 3)
    assert CustodyLimits.from_settings({}) == CustodyLimits()


@pytest.mark.parametrize(
    "settings",
    [
        {"CUSTODY_HOP_DAYS": "village to township = 3"},
        {"CUSTODY_TRANSIT_DAYS": "three"},
        {"CUSTODY_TRANSIT_DAYS": True},
    ],
)
def test_unreadable_custody_settings_say_which_setting(settings):
    with pytest.raises(CustodyError) as caught:
        CustodyLimits.from_settings(settings)
    assert caught.value.code == "bad_custody_setting"
    assert next(iter(settings)) in caught.value.text("zh")
