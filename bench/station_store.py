"""The bench store of bench/station.py: ten years of a busy township hall, built once and cached.

The newest ``SAMPLE_CASES`` cases go through the station's real services (``receive_application``,
``perform_action``, ``rate_case``); the ten years before them are BULK-LOADED: events built with
``sync_protocol.events.build_event`` into one valid hash chain, payloads of the same shape the services write
(checked against the sample), applicants encrypted with the instance's own field cipher, and every case's rows
projected by the real ``project_case``. The store is cached under ``$TMPDIR/yiciban-bench/`` keyed by a hash of the
code that shapes its rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))

from casework.catalog import demo_catalog  # noqa: E402
from casework.divisions import case_number, implementation_code  # noqa: E402
from casework.events import validate_payload  # noqa: E402
from casework.identifiers import citizen_id_check_char, mask_id_number  # noqa: E402
from station import db as dbmod  # noqa: E402
from station import open_node  # noqa: E402
from station.auth import create_user  # noqa: E402
from station.models import Applicant, CaseRecord, EventLog, NodeState  # noqa: E402
from station.services import actions, cases, ratings  # noqa: E402
from station.services.identity import set_identity  # noqa: E402
from station.services.log import HLC_KEY  # noqa: E402
from station.services.reference import today, working_days_after  # noqa: E402
from station.services.setup import initialise_instance  # noqa: E402
from station.settings import load_settings  # noqa: E402
from sync_protocol.events import build_event, epoch_open_event, new_uuid7, parse_event, verify_chain  # noqa: E402
from sync_protocol.hlc import HLC  # noqa: E402
from sync_protocol.schema import ZERO_ID  # noqa: E402

NETWORK = "bench-net"
STATION_CODE = "990101101000"
PARENT_CODE = "990101000000"
CLERK = "clerk"
PASSWORD = "bench-pass-1234"
STORE_CASES = 50_000
STORE_EVENTS = 500_000
SAMPLE_CASES = 100
SAMPLE_EVENTS_PER_CASE = (
    10  # applicant, received, accepted, 2 ratings, 2 review notes, decided, ready, delivered
)
YEARS = 10
STORE_FORMAT = "2"  # bump when the builder below writes different rows
# The code that decides what the store's rows hold; later migrations are applied to each copy instead.
SHAPING_CODE = (
    "station/services/cases.py",
    "station/services/search.py",
    "sync_protocol/events.py",
    "casework/caseview.py",
    "casework/events.py",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "秀英桂兰玉梅建国志强海燕春花国华俊杰丽娟文斌明亮晓红永福金凤德胜淑珍子涵雨轩浩然"
REVIEW_STEPS = (
    ("初审", "材料齐全，符合条件"),
    ("复核", "同意初审意见"),
    ("现场核查", "经入户核查，情况属实"),
)
CHINA = dt.timezone(dt.timedelta(hours=8))


def code_version() -> str:
    digest = hashlib.sha256(STORE_FORMAT.encode())
    for name in SHAPING_CODE:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:12]


def citizen_id(rng: random.Random, used: set[str]) -> str:
    while True:
        birth = dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(70 * 365))
        body = f"990101{birth:%Y%m%d}{rng.randrange(1000):03d}"
        if body not in used:
            used.add(body)
            return body + citizen_id_check_char(body)


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


# --- the store ----------------------------------------------------------------------------------------------------


@dataclass
class PlannedCase:
    case_id: str
    number: str
    item: Any
    applicant: dict[str, Any]
    new_applicant: bool
    token: str
    received: dt.date
    steps: list[tuple[int, str, dt.date]] = field(default_factory=list)  # (wall ms, step, day)


def _wall(day: dt.date, rng: random.Random, hour: int = 9) -> int:
    moment = dt.datetime.combine(day, dt.time(hour), CHINA) + dt.timedelta(minutes=rng.randrange(8 * 60))
    return int(moment.timestamp() * 1000)


def plan_history(rng: random.Random, n_cases: int, n_events: int, end: dt.date) -> list[PlannedCase]:
    """Cases spread over ten years up to ``end``, each with its lifecycle steps (of the items the township accepts
    and decides, as it does them all here); then extra review notes so the log holds exactly ``n_events`` events
    (epoch.open included)."""
    catalog = demo_catalog()
    items = [
        it
        for it in catalog.items
        if it.materials and it.acceptance_level.value == it.decision_level.value == "township"
    ]
    start = end - dt.timedelta(days=YEARS * 365)
    used_ids: set[str] = set()
    people: list[dict[str, Any]] = []
    daily: dict[dt.date, int] = {}
    planned: list[PlannedCase] = []
    now_ms = int(time.time() * 1000)
    for index in range(n_cases):
        day = start + dt.timedelta(days=index * (end - start).days // n_cases)
        new = not people or rng.random() < 0.32
        if new:
            people.append({"id": new_uuid7(_wall(day, rng)), "name": person_name(rng),
                           "number": citizen_id(rng, used_ids), "phone": f"138{rng.randrange(10**8):08d}"})  # fmt: skip
        item = rng.choice(items)
        daily[day] = daily.get(day, 0) + 1
        number = case_number(
            implementation_code(STATION_CODE, item.code), day, "T" + STATION_CODE[-6:], daily[day]
        )
        case = PlannedCase(new_uuid7(_wall(day, rng)), number, item, people[-1] if new else rng.choice(people),
                           new, rng.randbytes(16).hex(), day)  # fmt: skip
        at = _wall(day, rng)
        gaps = rng.random() < 0.1 and any(m.deferrable for m in item.materials)
        decided = day + dt.timedelta(days=rng.randint(2, max(3, item.promised_limit_days)))
        delivered = decided + dt.timedelta(days=rng.randint(1, 5))
        steps = [(at, "received", day), (at + 60_000, "accepted_with_gaps" if gaps else "accepted", day),
                 (at + 120_000, "rated_acceptance", day)]  # fmt: skip
        if gaps:
            supplied = day + dt.timedelta(days=rng.randint(1, 3))
            steps.append((_wall(supplied, rng), "gap_supplied", supplied))
        for offset, step in ((1, "review_0"), (2, "review_1")):
            review_day = min(day + dt.timedelta(days=offset), decided)
            steps.append((_wall(review_day, rng), step, review_day))
        steps += [(_wall(decided, rng, 14), "decided", decided), (_wall(decided, rng, 15), "result_ready", decided),
                  (_wall(delivered, rng), "delivered", delivered), (_wall(delivered, rng) + 1, "rated_completion", delivered)]  # fmt: skip
        # Steps after now have not happened yet: recent cases are still open, some of them late.
        case.steps = sorted(s for s in steps if s[0] < now_ms)
        planned.append(case)
    total = 1 + sum(c.new_applicant for c in planned) + sum(len(c.steps) for c in planned)
    if total > n_events:
        raise SystemExit(f"the plan has {total} events, more than {n_events}: fewer cases per event")
    reviewable = [c for c in planned if any(s[1] == "decided" for s in c.steps)]
    for extra in range(n_events - total):
        case = reviewable[extra % len(reviewable)]
        decided_at = next(s for s in case.steps if s[1] == "decided")
        case.steps.append((decided_at[0] - 1000 - extra % 977, "review_2", decided_at[2]))
        case.steps.sort()
    return planned


def step_payload(case: PlannedCase, step: str, day: dt.date, state: str | None, rng: random.Random) -> tuple[str, dict[str, Any], str]:  # fmt: skip
    """(casework event type, payload, idempotency key) of one step — the shapes the station's services write."""
    on = day.isoformat()
    item = case.item
    if step == "received":
        deferred = step_payload.gaps.get(case.case_id, set())  # type: ignore[attr-defined]
        materials = [
            {"key": m.key, "status": "deferred" if m.key in deferred else "received"} for m in item.materials
        ]
        return "received", {"from": None, "to": "received", "case_no": case.number, "item_code": item.code,
                            "item_version": item.version, "catalog_version": demo_catalog().catalog_version,
                            "applicant_id": case.applicant["id"], "agent_id": None, "station": STATION_CODE, "received_on": on,
                            "channel": "window", "materials": materials, "idempotency_key": case.token}, case.token  # fmt: skip
    if step == "accepted":
        return "accepted", {"from": state, "to": "accepted", "accepted_on": on}, f"{case.token}.accept"
    if step == "accepted_with_gaps":
        material = next(m for m in item.materials if m.key in step_payload.gaps[case.case_id])  # type: ignore[attr-defined]
        days = min(
            material.supply_days or demo_catalog().default_supply_days, max(item.promised_limit_days, 1)
        )
        gap = {"material": material.key, "supply_by": working_days_after(day, days).isoformat()}
        payload = {"from": state, "to": "accepted_with_gaps", "accepted_on": on, "gaps": [gap]}
        return "accepted_with_gaps", payload, f"{case.token}.accept_with_gaps"
    token = rng.randbytes(16).hex()
    if step == "gap_supplied":
        material = sorted(step_payload.gaps[case.case_id])[0]  # type: ignore[attr-defined]
        return "gap_supplied", {"from": state, "to": "accepted_with_gaps", "material": material, "supplied_on": on}, token  # fmt: skip
    if step.startswith("review_"):
        name, opinion = REVIEW_STEPS[int(step[-1])]
        return "review_note", {"from": state, "to": state, "step": name, "opinion": opinion}, token
    if step == "decided":
        return "decided", {"from": state, "to": "decided_granted", "decided_on": on, "outcome": "granted", "reasons": []}, token  # fmt: skip
    if step == "result_ready":
        return "result_ready", {"from": state, "to": "result_ready", "ready_on": on, "notice_sent": True, "pickup": "window"}, token  # fmt: skip
    if step == "delivered":
        return "delivered", {"from": state, "to": "delivered", "delivered_on": on, "method": "window",
                             "signed_by": case.applicant["name"]}, token  # fmt: skip
    stage = step.split("_")[1]
    level = rng.choice((5, 5, 5, 5, 4, 4, 3))
    return "rated", {"rating_id": new_uuid7(), "level": level, "stage": stage, "channel": "window_device",
                     "rated_on": on, "rater": "anonymous"}, token  # fmt: skip


def bulk_load(database, keys, planned: list[PlannedCase], rng: random.Random) -> int:
    """Write the planned history as the services would: one chain, applicants encrypted, cases projected."""
    step_payload.gaps = {c.case_id: {next(m.key for m in c.item.materials if m.deferrable)}  # type: ignore[attr-defined]
                         for c in planned if any(s[1] == "accepted_with_gaps" for s in c.steps)}  # fmt: skip
    queue: list[tuple[int, int, int, str, dt.date]] = []
    for index, case in enumerate(planned):
        if case.new_applicant:
            queue.append((case.steps[0][0] - 1, 0, index, "applicant", case.received))
        queue.extend((at, order + 1, index, step, day) for order, (at, step, day) in enumerate(case.steps))
    heapq.heapify(queue)
    first_ms = queue[0][0] - 60_000
    clock = HLC.zero().tick(first_ms)
    head = epoch_open_event(network=NETWORK, station_id=STATION_CODE, epoch=1, reason="install", previous_head=None,
                            hlc=clock, wall_ms=first_ms, actor=CLERK)  # fmt: skip
    rows = [_row(head)]
    states: dict[str, str | None] = {}
    written = 1
    cipher = keys.field_cipher
    conn = database.connection()
    while queue:
        at, _, index, step, day = heapq.heappop(queue)
        case = planned[index]
        clock = clock.tick(at)
        if step == "applicant":
            person = case.applicant
            payload = {"applicant_id": person["id"], "name": person["name"], "id_type": "111",
                       "id_number_masked": mask_id_number(person["number"]),
                       "id_lookup": cipher.lookup_hash(person["number"], cases.ID_LOOKUP_CONTEXT),
                       "phone": person["phone"], "kind": "natural_person"}  # fmt: skip
            local_type, kind, aggregate, key = (
                "applicant_created",
                cases.APPLICANT,
                person["id"],
                f"{case.token}.applicant",
            )
            conn.execute("INSERT INTO applicant (id, name, id_type, id_cipher, id_lookup, id_masked, phone, address, "
                         "created_at) VALUES (?, ?, '111', ?, ?, ?, ?, '', ?)",
                         (person["id"], person["name"], cipher.encrypt(person["number"], cases.ID_CONTEXT),
                          payload["id_lookup"], payload["id_number_masked"], person["phone"], _iso(at)))  # fmt: skip
        else:
            local_type, payload, key = step_payload(case, step, day, states.get(case.case_id), rng)
            kind, aggregate = cases.CASE, case.case_id
            if "to" in payload:
                states[case.case_id] = payload["to"]
        validate_payload(local_type, payload)
        head = build_event(network=NETWORK, station_id=STATION_CODE, epoch=1, seq=head.seq + 1, prev=head.event_id,
                           hlc=clock, wall_ms=at, actor=CLERK, idempotency_key=key, type=cases.wire_type(local_type),
                           schema_version=1, aggregate_kind=kind, aggregate_id=aggregate, payload=payload,
                           catalog_version=payload.get("catalog_version", 0) if step == "received" else 0)  # fmt: skip
        rows.append(_row(head))
        written += 1
        if len(rows) >= 20_000:
            _flush(database, rows)
            print(f"  bulk: {written:,} events", flush=True)
    _flush(database, rows)
    with dbmod.write_transaction():
        NodeState.write(HLC_KEY, clock.to_string())
    _project(database, planned)
    return written


def _iso(wall_ms: int) -> str:
    return dt.datetime.fromtimestamp(wall_ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def _row(event) -> tuple[Any, ...]:
    return (event.station_id, event.epoch, event.seq, event.event_id, event.prev, event.type, event.aggregate_kind,
            event.aggregate_id, event.idempotency_key, event.body, _iso(event.wall_ms))  # fmt: skip


def _flush(database, rows: list[tuple[Any, ...]]) -> None:
    with dbmod.write_transaction():
        database.connection().executemany(
            "INSERT INTO event_log (station, epoch, seq, event_id, prev_id, event_type, aggregate_kind, aggregate_id,"
            " idempotency_key, body, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    rows.clear()


def _project(database, planned: list[PlannedCase]) -> None:
    """Every case's rows by the real ``project_case``, then its timestamps set to when it really happened."""
    started = time.perf_counter()
    for first in range(0, len(planned), 1000):
        chunk = planned[first : first + 1000]
        with dbmod.write_transaction():
            for case in chunk:
                cases.project_case(case.case_id, CLERK)
            database.connection().executemany(
                "UPDATE case_record SET created_at = ?, updated_at = ? WHERE id = ?",
                [(_iso(c.steps[0][0])[:19] + "+00:00", _iso(c.steps[-1][0])[:19] + "+00:00", c.case_id) for c in chunk],
            )  # fmt: skip
        if first % 10_000 == 0:
            print(
                f"  projected {first + len(chunk):,} cases ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )


def run_sample(keys, n_cases: int, rng: random.Random) -> int:
    """The newest cases through the real services, the way the window records them."""
    actor = cases.Actor(CLERK, "township_clerk")
    item = demo_catalog().item("GF00203000")  # 临时救助: the township accepts and decides it
    used: set[str] = set()
    for _ in range(n_cases):
        form = cases.IntakeForm(token=actions.new_token(), item_code=item.code, applicant_name=person_name(rng),
                                id_number=citizen_id(rng, used), phone="13800138000",
                                materials={m.key: "received" for m in item.materials}, decision="accept")  # fmt: skip
        record = cases.receive_application(keys.field_cipher, actor, form)
        rating = {"level": "5", "stage": "acceptance", "channel": "window_device"}
        ratings.rate_case(actor, record.id, rating, actions.new_token())
        for step, opinion in REVIEW_STEPS[:2]:
            actions.perform_action(actor, record.id, "review_note", {"step": step, "opinion": opinion}, actions.new_token())  # fmt: skip
        for action, form_fields in (("decide_grant", {}), ("mark_result_ready", {"pickup": "window"}),
                                    ("deliver", {"method": "window", "signed_by": form.applicant_name})):  # fmt: skip
            _, problems = actions.perform_action(actor, record.id, action, form_fields, actions.new_token())
            assert not problems, problems
        ratings.rate_case(actor, record.id, {**rating, "stage": "completion"}, actions.new_token())
    return n_cases * SAMPLE_EVENTS_PER_CASE


def check_store(database, sample_events: int) -> None:
    """The whole log verifies as one chain, and bulk payloads have exactly the keys the real services write."""
    prev, last, count = ZERO_ID, 0, 0
    while True:
        rows = database.execute_sql(
            "SELECT seq, body FROM event_log WHERE epoch = 1 AND seq > ? ORDER BY seq LIMIT 20000", (last,)
        ).fetchall()
        if not rows:
            break
        prev = verify_chain([parse_event(bytes(body)) for _, body in rows], prev)
        last, count = rows[-1][0], count + len(rows)
    bulk: dict[str, set[frozenset[str]]] = {}
    real: dict[str, set[frozenset[str]]] = {}
    query = "SELECT seq, event_type, body FROM event_log WHERE seq % 53 = 0 OR seq > ?"
    for seq, event_type, body in database.execute_sql(query, (last - sample_events,)):
        shapes = real if seq > last - sample_events else bulk
        shapes.setdefault(event_type, set()).add(frozenset(json.loads(bytes(body))["p"]))
    shared = sorted(set(bulk) & set(real))
    for event_type in shared:
        assert bulk[event_type] <= real[event_type], (event_type, bulk[event_type], real[event_type])
    print(
        f"store check: {count:,} events verify as one chain from seq 1; bulk payload keys equal the real "
        f"services' for {', '.join(shared)}; bulk only: {', '.join(sorted(set(bulk) - set(real)))}",
        flush=True,
    )


def build_store(folder: Path, n_cases: int, n_events: int) -> Path:
    rng = random.Random(20261123)
    instance = folder / "station"
    _, _, database = initialise_instance(instance)
    node = open_node(load_settings({"INSTANCE_PATH": str(instance)}))
    started = time.perf_counter()
    with dbmod.bound(node.database):
        set_identity(STATION_CODE, "示范镇便民服务中心", "township", PARENT_CODE, NETWORK)
        create_user(CLERK, PASSWORD, ["township_clerk"], "Bench Clerk")
        sample = min(SAMPLE_CASES, n_cases // 10)
        planned = plan_history(rng, n_cases - sample, n_events - sample * SAMPLE_EVENTS_PER_CASE, today() - dt.timedelta(days=1))  # fmt: skip
        bulk = bulk_load(node.database, node.keys, planned, rng)
        print(
            f"bulk-loaded {len(planned):,} cases / {bulk:,} events in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        run_sample(node.keys, sample, rng)
        total_cases, total_events = CaseRecord.select().count(), EventLog.select().count()
        print(f"through the real services: {sample} cases / {sample * SAMPLE_EVENTS_PER_CASE} events; "
              f"store: {total_cases:,} cases, {total_events:,} events, {Applicant.select().count():,} applicants", flush=True)  # fmt: skip
        check_store(node.database, sample * SAMPLE_EVENTS_PER_CASE)
    node.database.close()
    return instance


def cached_store(n_cases: int, n_events: int, rebuild: bool) -> Path:
    cache = Path(tempfile.gettempdir()) / "yiciban-bench" / f"station-{code_version()}-{n_cases}-{n_events}"
    ready = cache / "READY"
    if rebuild or not ready.exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        print(f"building the store in {cache} (cached for later runs of this code version)", flush=True)
        build_store(cache, n_cases, n_events)
        ready.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
    else:
        print(f"using the cached store {cache}", flush=True)
    return cache / "station"
