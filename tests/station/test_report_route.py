"""The station's own report counts each 代办 hop (SPEC §3.10, issue 6): a village case carried to the township by
the real custody services, the township's receipt and acceptance routed back as central routes them; both stations
compute the same agent trips, days held at the village and transit days offline."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime

from casework.catalog import demo_catalog
from casework.kpi import Period
from station.db import write_transaction
from station.models import EventLog
from station.services import cases as case_service
from station.services import custody
from station.services.actions import perform_action
from station.services.downstream import _apply_part
from station.services.reports import build_report

from .conftest import TOWNSHIP_CODE, VILLAGE_CODE, login
from .test_custody import (
    COUNTY_CODE,
    ID_NUMBERS,
    ITEM,
    TOWNSHIP_ACTOR,
    VILLAGE_ACTOR,
    in_,
    install_registry,
    node_of,
    registry_for,
    township_app,
)

MONDAY = dt.date(2026, 11, 16)
SENT = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)  # Wednesday 10:00 in China: held two working days
SIGNED = datetime(2026, 11, 19, 7, 30, tzinfo=UTC)  # Thursday 15:30: one working day on the road
NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def route_events(source, target, case_id: str, version: int) -> None:
    """What central's events part carries: the other station's events on the case and its applicant."""
    with in_(source):
        applicant = case_service.case_view(case_id).applicant_id
        rows = (
            EventLog.select()
            .where(
                EventLog.aggregate_kind.in_(("case", "applicant")),
                EventLog.aggregate_id.in_((case_id, applicant)),
            )
            .order_by(EventLog.seq)
        )
        bodies = [bytes(r.body) for r in rows]
    with in_(target), write_transaction():
        assert _apply_part("events", b"\n".join(bodies) + b"\n", version) is True
        assert case_service.case_view(case_id).case_no


def carry_to_township(
    village, township, case_id: str, sent: datetime = SENT, signed: datetime = SIGNED
) -> None:
    """The village sends the folder with its agent, the township learns the case and signs for the folder."""
    with in_(village):
        manifest = custody.create_manifest(
            node_of(village).keys.signing_key, VILLAGE_ACTOR, [case_id], TOWNSHIP_CODE, "agent", sent
        )
        custody.dispatch_manifest(VILLAGE_ACTOR, manifest.id, sent)
        [folder] = custody.manifest_folders(manifest.id)
    route_events(village, township, case_id, 10)
    with in_(township):
        custody.receive_folder(node_of(township).keys.signing_key, TOWNSHIP_ACTOR, folder.label, signed)


def village_case(app) -> case_service.CaseRecord:
    item = demo_catalog().item(ITEM)
    form = case_service.IntakeForm(
        token="route-kpi", item_code=ITEM, applicant_name="张晓明", id_number=ID_NUMBERS[0], phone="13800138000",
        materials={m.key: "received" for m in item.materials},
    )  # fmt: skip
    with in_(app):
        return case_service.receive_application(
            node_of(app).keys.field_cipher, VILLAGE_ACTOR, form, on=MONDAY
        )


def test_both_stations_report_the_hops_of_a_village_case(app, tmp_path):
    village, township = app, township_app(tmp_path)
    install_registry(
        township,
        registry_for(
            (village, VILLAGE_CODE, "village", TOWNSHIP_CODE),
            (township, TOWNSHIP_CODE, "township", COUNTY_CODE),
        ),
    )
    case = village_case(village)
    carry_to_township(village, township, case.id)
    with in_(township):
        accepted, problems = perform_action(
            TOWNSHIP_ACTOR, case.id, "accept", {}, "route-kpi-accept", SIGNED.date()
        )
        assert problems == {} and accepted.state == "accepted"
    route_events(township, village, case.id, 20)

    for app in (village, township):
        with in_(app):
            report = build_report(NOVEMBER, on=dt.date(2026, 11, 20))
        [row] = report.rows
        assert row.code == VILLAGE_CODE, "counted for the village that received it"
        figures = report.total
        assert (figures.accepted, figures.via_proxy, figures.agent_trips) == (1, 1, 1)
        assert figures.average_village_hold_days == 2
        assert figures.average_transit_days == 1
        assert figures.average_trips == 0, "the applicant never left the village"

    # The village's report page shows the route's columns and chart; the CSV carries them too.
    client = village.test_client()
    login(client, "village")
    page = client.get("/reports/?kind=month&value=2026-11").get_data(as_text=True)
    assert "代办跑动次数" in page and "平均村站滞留天数" in page and "平均每段在途天数" in page
    assert "代办各段用时（工作日）" in page and page.count("<svg") == 3
    csv_text = client.get("/reports/export.csv?kind=month&value=2026-11").data.decode("utf-8-sig")
    header, row = csv_text.splitlines()[:2]
    assert header.endswith("代办跑动次数,平均村站滞留天数,平均每段在途天数")
    assert row.endswith(",1,2.00,1.00")
