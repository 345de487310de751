"""The work of bench/prefecture.py: a prefecture's village and township stations and the matters they handle.

Rates from SPEC.md's introduction: 2,000,000 matters a year in one city (÷ 365 a day), 42.66 % 即办件 (decided
and delivered in the visit that brought them), 0.44 trips per matter (read as: 44 % of matters start at a township
window, the applicant's one trip; 56 % start at a village station, 代办 — the folder travels, the villager does
not), 2.65 steps (accept and decide, plus review notes averaging 0.65) and 3.97 materials per matter.

A village matter: the village receives it (``village_received``), its 代办员 dispatches the day's folders to the
township at 16:30 (``custody_dispatched`` up), the township signs for them the next morning (``custody_received``),
accepts, reviews, decides; the result goes back down (township ``custody_dispatched`` down, village
``custody_received`` down) and the village delivers it. A township matter is received, accepted and decided at the
township. Every event is a real ``sync_protocol`` event in its station's hash chain, payloads in the shapes the
station's services write (``casework.events.validate_payload`` checks each), naming its own last event on the
aggregate (``bo``) as stations do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.central_workload import CHINA, GIVEN, REVIEWS, SURNAMES
from casework.catalog import demo_catalog
from casework.divisions import case_number, implementation_code
from casework.events import validate_payload
from casework.identifiers import citizen_id_check_char, mask_id_number
from sync_protocol.events import Event, build_event, new_uuid7
from sync_protocol.hlc import HLC
from sync_protocol.keys import BoxKey, SigningKey
from tests.central.builders import SimStation

NETWORK = "test-net"  # what tests.central.conftest.make_instance initialises
VILLAGES, TOWNSHIPS, COUNTIES = 3558, 258, 12
MATTERS_PER_DAY = 2_000_000 / 365
IMMEDIATE, AT_VILLAGE, EXTRA_STEPS, MATERIALS = 0.4266, 0.56, 0.65, 3.97
MINUTE = 60_000


def county_code(n: int) -> str:
    return f"9901{n + 1:02d}000000"


@dataclass
class Node:
    """One simulated station: real keys, its own hash chain, what it believes central holds (its last ack)."""

    sim: SimStation
    level: str
    parent: str
    name: str
    last_own: dict[str, str] = field(default_factory=dict)
    acked: Any = None  # sync_protocol.acks.EpochAck of the station's epoch, from the last ack it received
    usb_only: bool = False  # a village without a working link: everything travels by USB
    # The cases whose downstream bundles reach this station (its own, and for a township the folders sent to it),
    # and the central version of each it last learned from a bundle: what its events declare as base (bv).
    cases: set[str] = field(default_factory=set)
    seen: dict[str, int] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.sim.code

    @property
    def head(self) -> Event:
        return self.sim.events[-1]


@dataclass
class Matter:
    case_id: str
    village: Node | None
    township: Node
    item: Any
    number: str
    person: dict[str, str]
    immediate: bool
    state: str | None = None


@dataclass
class Prefecture:
    """The stations (scaled) and the scheduler of their work, deterministic from ``seed``."""

    scale: float
    seed: int
    start: dt.date  # the first day (central's custody checks compare with the real today: end near it)
    rng: random.Random = field(init=False)
    counties: list[str] = field(default_factory=list)
    townships: list[Node] = field(default_factory=list)
    villages: list[Node] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)
    agenda: list[tuple[int, int, Callable[[int], None]]] = field(default_factory=list)
    daily_numbers: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    matters: int = 0
    _order: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        catalog = demo_catalog()
        self.catalog_version = catalog.catalog_version
        self.items = [it for it in catalog.items if it.materials and it.acceptance_level.value == "township"]
        self.material_keys = sorted({m.key for it in catalog.items for m in it.materials})
        townships = max(1, round(TOWNSHIPS * self.scale))
        villages = max(1, round(VILLAGES * self.scale))
        self.counties = [county_code(n) for n in range(min(COUNTIES, townships))]
        wall = self.day_wall(0, 8.0)
        for n in range(townships):
            county = self.counties[n % len(self.counties)]
            code = f"{county[:6]}{101 + n // len(self.counties):03d}000"
            self.townships.append(self._node(code, "township", county, f"第{n + 1}镇便民服务中心", wall))
        for n in range(villages):
            township = self.townships[n % townships]
            code = f"{township.code[:9]}{201 + n // townships:03d}"
            node = self._node(code, "village", township.code, f"第{n + 1}村便民服务站", wall)
            node.usb_only = self.rng.random() < 0.1
            self.villages.append(node)
        self.by_code = {node.code: node for node in [*self.townships, *self.villages]}

    def _node(self, code: str, level: str, parent: str, name: str, wall: int) -> Node:
        signing = SigningKey.from_private_bytes(self.rng.randbytes(32))
        box = BoxKey.from_private_bytes(self.rng.randbytes(32))
        sim = SimStation(code, NETWORK, signing=signing, box=box, clock=HLC(wall, 0))
        sim.open_epoch()
        return Node(sim, level, parent, name)

    @property
    def stations(self) -> list[Node]:
        return [*self.townships, *self.villages]

    # --- events -------------------------------------------------------------------------------------------------

    def emit(
        self, node: Node, wall: int, local_type: str, kind: str, aggregate_id: str, payload: dict
    ) -> Event:
        validate_payload(local_type, payload)
        head = node.head
        clock = node.sim.clock = node.sim.clock.tick(max(wall, node.sim.clock.wall_ms))
        wire = {"applicant_created": "applicant.created"}.get(local_type, f"case.{local_type}")
        event = build_event(
            network=NETWORK, station_id=node.code, epoch=head.epoch, seq=head.seq + 1, prev=head.event_id,
            hlc=clock, wall_ms=clock.wall_ms, actor=node.level, type=wire, schema_version=1,
            idempotency_key=new_uuid7(clock.wall_ms, self.rng.randbytes(10)), aggregate_kind=kind,
            aggregate_id=aggregate_id, payload=payload,
            catalog_version=self.catalog_version if local_type == "received" else 0,
            base_own_event=node.last_own.get(aggregate_id, ""), base_version=node.seen.get(aggregate_id, 0),
        )  # fmt: skip
        node.last_own[aggregate_id] = event.event_id
        node.sim.events.append(event)
        return event

    def step(self, matter: Matter, node: Node, wall: int, local_type: str, payload: dict) -> None:
        """A case event at ``node``; transitions carry (from, to) and move the matter's state."""
        if "to" in payload:
            payload = {"from": matter.state, **payload}
            matter.state = payload["to"]
        self.emit(node, wall, local_type, "case", matter.case_id, payload)

    def at(self, wall: int, action: Callable[[int], None]) -> None:
        heapq.heappush(self.agenda, (wall, next(self._order), action))

    def run_until(self, wall: int) -> None:
        while self.agenda and self.agenda[0][0] < wall:
            when, _, action = heapq.heappop(self.agenda)
            action(when)

    # --- a day -------------------------------------------------------------------------------------------------

    def start_day(self, day: int) -> None:
        """Schedule the day's new matters (the follow-ups of earlier ones are already on the agenda)."""
        count = MATTERS_PER_DAY * self.scale
        count = int(count) + (1 if self.rng.random() < count % 1 else 0)
        opening = self.day_wall(day, 8.5)
        for _ in range(count):
            at_village = self.rng.random() < AT_VILLAGE
            node = self.rng.choice(self.villages if at_village else self.townships)
            wall = opening + self.rng.randrange(510) * MINUTE  # 08:30 – 17:00
            self.at(wall, lambda w, node=node: self.intake(node, w))

    def day_wall(self, day: int, hours: float) -> int:
        """ms of ``hours`` (China time) on day ``day`` of the run."""
        midnight = dt.datetime.combine(self.start + dt.timedelta(days=day), dt.time(0), CHINA)
        return int((midnight + dt.timedelta(hours=hours)).timestamp() * 1000)

    def day_of(self, wall: int) -> dt.date:
        return dt.datetime.fromtimestamp(wall / 1000, CHINA).date()

    def _person(self, node: Node, wall: int) -> tuple[dict[str, str], bool]:
        if self.people and self.rng.random() > 0.32:
            return self.rng.choice(self.people[-5000:]), False
        birth = dt.date(1935, 1, 1) + dt.timedelta(days=self.rng.randrange(70 * 365))
        body = f"{node.code[:6]}{birth:%Y%m%d}{self.rng.randrange(1000):03d}"
        name = self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, self.rng.choice((1, 2))))
        person = {"id": new_uuid7(wall, self.rng.randbytes(10)), "name": name,
                  "number": body + citizen_id_check_char(body), "phone": f"138{self.rng.randrange(10**8):08d}"}  # fmt: skip
        self.people.append(person)
        return person, True

    def intake(self, node: Node, wall: int) -> None:
        township = node if node.level == "township" else self.by_code[node.parent]
        item = self.rng.choice(self.items)
        day = self.day_of(wall)
        key = (node.code, day)
        self.daily_numbers[key] = self.daily_numbers.get(key, 0) + 1
        number = case_number(
            implementation_code(township.code, item.code), day, f"S{node.code[-6:]}", self.daily_numbers[key]
        )
        person, new = self._person(node, wall)
        matter = Matter(new_uuid7(wall, self.rng.randbytes(10)), node if node is not township else None, township,
                        item, number, person, self.rng.random() < IMMEDIATE)  # fmt: skip
        self.matters += 1
        node.cases.add(matter.case_id)
        township.cases.add(matter.case_id)  # a village's folder is routed to its township from the start
        if new:
            lookup = hashlib.sha256(person["number"].encode()).hexdigest()
            self.emit(node, wall, "applicant_created", "applicant", person["id"], {
                "applicant_id": person["id"], "name": person["name"], "id_type": "111",
                "id_number_masked": mask_id_number(person["number"]), "id_lookup": lookup,
                "phone": person["phone"], "kind": "natural_person"})  # fmt: skip
        count = max(1, min(12, round(self.rng.gauss(MATERIALS, 1.4))))
        keys = [m.key for m in item.materials][:count]
        keys += self.rng.sample([k for k in self.material_keys if k not in keys], count - len(keys))
        self.step(matter, node, wall + MINUTE, "received", {
            "to": "village_received" if matter.village else "received", "case_no": number, "item_code": item.code,
            "item_version": item.version, "catalog_version": self.catalog_version, "applicant_id": person["id"],
            "station": node.code, "received_on": day.isoformat(), "channel": "village" if matter.village else "window",
            "materials": [{"key": k, "status": "received"} for k in keys], "idempotency_key": matter.case_id})  # fmt: skip
        if matter.village:
            if self.rng.random() < 0.5:
                self.rate(matter, node, wall + 3 * MINUTE, "acceptance", "village_tablet")
            dispatch = int(dt.datetime.combine(day, dt.time(16, 30), CHINA).timestamp() * 1000)
            self.at(max(dispatch, wall + 5 * MINUTE), lambda w: self.dispatch_up(matter, w))
        else:
            self.accept(matter, wall + 3 * MINUTE)

    def rate(self, matter: Matter, node: Node, wall: int, stage: str, channel: str) -> None:
        self.emit(node, wall, "rated", "case", matter.case_id, {
            "rating_id": new_uuid7(wall, self.rng.randbytes(10)), "level": self.rng.choice((5, 5, 5, 4, 3)),
            "stage": stage, "channel": channel, "rated_on": self.day_of(wall).isoformat(), "rater": "anonymous"})  # fmt: skip

    def _ts(self, wall: int) -> str:
        return dt.datetime.fromtimestamp(wall / 1000, CHINA).isoformat(timespec="seconds")

    def dispatch_up(self, matter: Matter, wall: int) -> None:
        village = matter.village
        assert village is not None
        manifest = f"M{village.code}-{self.day_of(wall):%Y%m%d}"
        self.step(matter, village, wall, "custody_dispatched", {
            "to": "in_transit", "manifest_id": manifest, "carrier": "agent", "to_station": matter.township.code,
            "at": self._ts(wall), "direction": "up"})  # fmt: skip
        arrival = self.next_morning(wall, 9.0)
        self.at(arrival, lambda w: self.receive_up(matter, manifest, w))

    def next_morning(self, wall: int, hours: float) -> int:
        day = dt.datetime.fromtimestamp(wall / 1000, CHINA).date() + dt.timedelta(days=1)
        base = dt.datetime.combine(day, dt.time(0), CHINA) + dt.timedelta(hours=hours)
        return int(base.timestamp() * 1000) + self.rng.randrange(60) * MINUTE

    def receive_up(self, matter: Matter, manifest: str, wall: int) -> None:
        self.step(matter, matter.township, wall, "custody_received", {
            "to": "received", "manifest_id": manifest, "received_by": "township", "at": self._ts(wall),
            "direction": "up"})  # fmt: skip
        self.accept(matter, wall + 5 * MINUTE)

    def accept(self, matter: Matter, wall: int) -> None:
        township = matter.township
        self.step(
            matter,
            township,
            wall,
            "accepted",
            {"to": "accepted", "accepted_on": self.day_of(wall).isoformat()},
        )
        reviews = sum(1 for _ in range(3) if self.rng.random() < EXTRA_STEPS / 3)
        if matter.immediate:
            for n in range(reviews):
                self.review(matter, wall + (n + 1) * 2 * MINUTE, n)
            self.decide(matter, wall + 10 * MINUTE)
            return
        days = self.rng.randint(1, 7)
        for n in range(reviews):
            self.at(self.next_morning(wall + (n * days // max(1, reviews)) * 86_400_000, 10.0),
                    lambda w, n=n: self.review(matter, w, n))  # fmt: skip
        self.at(self.next_morning(wall + (days - 1) * 86_400_000, 14.0), lambda w: self.decide(matter, w))

    def review(self, matter: Matter, wall: int, n: int) -> None:
        step, opinion = REVIEWS[n]
        self.step(
            matter,
            matter.township,
            wall,
            "review_note",
            {"to": matter.state, "step": step, "opinion": opinion},
        )

    def decide(self, matter: Matter, wall: int) -> None:
        township, on = matter.township, self.day_of(wall).isoformat()
        self.step(matter, township, wall, "decided", {"to": "decided_granted", "decided_on": on,
                                                      "outcome": "granted", "reasons": []})  # fmt: skip
        self.step(matter, township, wall + 2 * MINUTE, "result_ready", {"to": "result_ready", "ready_on": on,
                                                                        "notice_sent": True, "pickup": "window"})  # fmt: skip
        if matter.village is None:
            later = (
                wall + 5 * MINUTE
                if matter.immediate
                else self.next_morning(wall, 9.0 + self.rng.randrange(8))
            )
            self.at(later, lambda w: self.deliver(matter, township, w, "window_device"))
            return
        send = int(dt.datetime.combine(self.day_of(wall), dt.time(16, 0), CHINA).timestamp() * 1000)
        self.at(max(send, wall + 5 * MINUTE), lambda w: self.dispatch_down(matter, w))

    def dispatch_down(self, matter: Matter, wall: int) -> None:
        village = matter.village
        assert village is not None
        manifest = f"M{matter.township.code}-{village.code}-{self.day_of(wall):%Y%m%d}"
        self.step(matter, matter.township, wall, "custody_dispatched", {
            "to": "result_ready", "manifest_id": manifest, "carrier": "agent", "to_station": village.code,
            "at": self._ts(wall), "direction": "down"})  # fmt: skip

        def receive_down(w: int) -> None:
            self.step(matter, village, w, "custody_received", {
                "to": "result_ready", "manifest_id": manifest, "received_by": "village", "at": self._ts(w),
                "direction": "down"})  # fmt: skip
            self.at(
                w + self.rng.randrange(30, 300) * MINUTE,
                lambda d: self.deliver(matter, village, d, "village_tablet"),
            )

        self.at(self.next_morning(wall, 9.5), receive_down)

    def deliver(self, matter: Matter, node: Node, wall: int, channel: str) -> None:
        self.step(matter, node, wall, "delivered", {"to": "delivered", "delivered_on": self.day_of(wall).isoformat(),
                                                    "method": "window", "signed_by": matter.person["name"]})  # fmt: skip
        if self.rng.random() < 0.6:
            self.rate(matter, node, wall + MINUTE, "completion", channel)
        for station in (matter.village, matter.township):  # nothing more happens to it: no longer followed
            if station is not None:
                station.cases.discard(matter.case_id)
                station.seen.pop(matter.case_id, None)
