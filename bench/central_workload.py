"""The workload of bench/central.py: a township hall's log (intakes and follow-ups, one hash chain) and a central
to ingest it (initialised like `yiciban-central init`, the township enrolled over the real HTTP API)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casework.catalog import demo_catalog
from casework.divisions import case_number, implementation_code
from casework.events import validate_payload
from casework.identifiers import citizen_id_check_char, mask_id_number
from central import create_app
from central.db import bind_database
from central.migrations import migrate
from central.runtime import Runtime, current_runtime, set_runtime
from central.services.inbox import store_file
from central.services.stations import issue_enrollment_code, register_station
from sync_protocol.events import Event, build_event, new_uuid7
from tests.central.builders import SimStation
from tests.central.conftest import make_instance

COUNTY, TOWNSHIP = "990101000000", "990101101000"
EVENTS_PER_BATCH = 1000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "秀英桂兰玉梅建国志强海燕春花国华俊杰丽娟文斌明亮晓红永福金凤德胜淑珍子涵雨轩浩然"
REVIEWS = (("初审", "材料齐全，符合条件"), ("复核", "同意初审意见"), ("现场核查", "经入户核查，情况属实"))
CHINA = dt.timezone(dt.timedelta(hours=8))
FOLLOW_UPS = ("accepted", "review_0", "review_1", "decided", "result_ready", "delivered", "rated")


# --- the workload: a township hall's log ------------------------------------------------------------------------


@dataclass
class OpenCase:
    case_id: str
    number: str
    item: Any
    person: dict[str, str]
    steps: list[str]
    state: str | None = None


@dataclass
class Workload:
    """A township hall (便民服务中心) at work: intakes and the follow-ups of earlier cases, one hash chain."""

    station: SimStation
    # Like a station (station.services.log.base_of), every event names its own last event on the aggregate; the
    # central version it saw is 0 (the hall's own cases never come back down). With ``bases`` a follow-up also
    # names a central version (the central_seq of the case's last event: one station, no central events, so
    # central_seq == seq here), which makes central run the concurrency check on it.
    bases: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(20261123))
    wall_ms: int = 1_780_000_000_000
    head: Event | None = None
    open_cases: list[OpenCase] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)
    daily: dict[dt.date, int] = field(default_factory=dict)
    # case id → (case number, item code, state, seq of its last event)
    states: dict[str, tuple[str, str, str, int]] = field(default_factory=dict)
    last_own: dict[str, str] = field(default_factory=dict)  # aggregate id → id of the hall's last event on it

    def __post_init__(self) -> None:
        # The hall accepts and decides what it records: the items the township accepts and decides.
        self.items = [
            it
            for it in demo_catalog().items
            if it.materials and it.acceptance_level.value == it.decision_level.value == "township"
        ]
        self.catalog_version = demo_catalog().catalog_version
        self.head = self.station.open_epoch()
        self.wall_ms = self.head.wall_ms

    def _person(self) -> dict[str, str]:
        if self.people and self.rng.random() > 0.32:
            return self.rng.choice(self.people)
        birth = dt.date(1935, 1, 1) + dt.timedelta(days=self.rng.randrange(70 * 365))
        body = f"990101{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        name = self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, self.rng.choice((1, 2))))
        person = {"id": "", "name": name, "number": body + citizen_id_check_char(body),
                  "phone": f"138{self.rng.randrange(10**8):08d}"}  # fmt: skip
        self.people.append(person)
        return person

    def _new_case(self, day: dt.date) -> OpenCase:
        item = self.rng.choice(self.items)
        self.daily[day] = self.daily.get(day, 0) + 1
        number = case_number(
            implementation_code(TOWNSHIP, item.code), day, "T101000", self.daily[day] % 9999 + 1
        )
        person = self._person()
        steps = (["applicant"] if not person["id"] else []) + ["received", *FOLLOW_UPS]
        case = OpenCase(new_uuid7(self.wall_ms, self.rng.randbytes(10)), number, item, person, steps)
        self.open_cases.append(case)
        return case

    def _payload(self, case: OpenCase, step: str, on: str) -> tuple[str, str, str, dict[str, Any]]:
        """(local type, aggregate kind, aggregate id, payload) in the shapes the station's services write."""
        if step == "applicant":
            person = case.person
            person["id"] = new_uuid7(self.wall_ms, self.rng.randbytes(10))
            lookup = hashlib.sha256(person["number"].encode()).hexdigest()
            return "applicant_created", "applicant", person["id"], {
                "applicant_id": person["id"], "name": person["name"], "id_type": "111",
                "id_number_masked": mask_id_number(person["number"]), "id_lookup": lookup,
                "phone": person["phone"], "kind": "natural_person"}  # fmt: skip
        state = case.state
        if step == "received":
            materials = [{"key": m.key, "status": "received"} for m in case.item.materials]
            payload = {"from": None, "to": "received", "case_no": case.number, "item_code": case.item.code,
                       "item_version": case.item.version, "catalog_version": self.catalog_version,
                       "applicant_id": case.person["id"], "station": TOWNSHIP, "received_on": on,
                       "channel": "window", "materials": materials, "idempotency_key": case.case_id}  # fmt: skip
        elif step == "accepted":
            payload = {"from": state, "to": "accepted", "accepted_on": on}
        elif step.startswith("review_"):
            name, opinion = REVIEWS[int(step[-1])]
            return (
                "review_note",
                "case",
                case.case_id,
                {"from": state, "to": state, "step": name, "opinion": opinion},
            )
        elif step == "decided":
            payload = {
                "from": state,
                "to": "decided_granted",
                "decided_on": on,
                "outcome": "granted",
                "reasons": [],
            }
        elif step == "result_ready":
            payload = {
                "from": state,
                "to": "result_ready",
                "ready_on": on,
                "notice_sent": True,
                "pickup": "window",
            }
        elif step == "delivered":
            payload = {"from": state, "to": "delivered", "delivered_on": on, "method": "window",
                       "signed_by": case.person["name"]}  # fmt: skip
        else:
            return "rated", "case", case.case_id, {
                "rating_id": new_uuid7(self.wall_ms, self.rng.randbytes(10)), "level": self.rng.choice((5, 5, 4, 3)),
                "stage": "completion", "channel": "window_device", "rated_on": on, "rater": "anonymous"}  # fmt: skip
        return step, "case", case.case_id, payload

    def next_event(self) -> Event:
        self.wall_ms += self.rng.randint(20_000, 240_000)
        day = dt.datetime.fromtimestamp(self.wall_ms / 1000, CHINA).date()
        if not self.open_cases or self.rng.random() < 0.3:
            case = self._new_case(day)
        else:
            case = self.rng.choice(self.open_cases[:200])
        step = case.steps.pop(0)
        local_type, kind, aggregate_id, payload = self._payload(case, step, day.isoformat())
        validate_payload(local_type, payload)
        if "to" in payload:
            case.state = payload["to"]
        if not case.steps:
            self.open_cases.remove(case)
        head = self.head
        assert head is not None
        clock = self.station.clock = self.station.clock.tick(self.wall_ms)
        wire = {"applicant_created": "applicant.created"}.get(local_type, f"case.{local_type}")
        event = build_event(
            network=self.station.network, station_id=self.station.code, epoch=head.epoch, seq=head.seq + 1,
            prev=head.event_id, hlc=clock, wall_ms=self.wall_ms, actor="township", type=wire, schema_version=1,
            idempotency_key=new_uuid7(self.wall_ms, self.rng.randbytes(10)), aggregate_kind=kind,
            aggregate_id=aggregate_id, payload=payload,
            catalog_version=self.catalog_version if local_type == "received" else 0,
            base_version=self.states[case.case_id][3] if self.bases and case.case_id in self.states else 0,
            base_own_event=self.last_own.get(aggregate_id, ""),
        )  # fmt: skip
        self.last_own[aggregate_id] = event.event_id
        if kind == "case":
            self.states[case.case_id] = (case.number, case.item.code, case.state or "", event.seq)
        self.head = event
        return event

    def events(self, count: int) -> list[Event]:
        return [self.next_event() for _ in range(count)]


# --- a central to measure ----------------------------------------------------------------------------------------


@dataclass
class Central:
    app: Any
    client: Any
    info: dict[str, Any]
    runtime: Runtime

    @property
    def instance(self) -> Path:
        return self.runtime.instance

    def activate(self) -> None:
        """Point the process-wide database and runtime at this central (so two can take turns)."""
        bind_database(self.runtime.settings["DATABASE_URL"])
        set_runtime(self.runtime)


def open_central(folder: Path, station: SimStation, database_url: str | None = None) -> Central:
    """A new central initialised like `yiciban-central init`, with the county, the township registered and the
    township's station enrolled through the real HTTP API."""
    config = make_instance(folder)
    if database_url:
        bind_database(database_url)
        migrate()
        config["DATABASE_URL"] = database_url
    app = create_app(config)
    with app.app_context():
        register_station(COUNTY, "示范县政务服务中心", "county", None, "bench")
        register_station(TOWNSHIP, "示范镇便民服务中心", "township", COUNTY, "bench")
        code = issue_enrollment_code(TOWNSHIP, "bench", current_runtime().cipher, 72).code
    client = app.test_client()
    info = client.get("/api/v1/info").get_json()
    reply = client.post("/api/v1/enroll", data=station.enrollment_request(code))
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return Central(app, client, info, current_runtime())


def store_batches(central: Central, station: SimStation, batches: list[list[Event]]) -> list[str]:
    names = []
    for events in batches:
        sealed = station.batch(events, central.info)
        store_file(io.BytesIO(sealed.data), sealed.name, instance=central.instance, max_bytes=64 << 20)
        names.append(sealed.name)
    return names
