"""Benchmark of the sync wire (not a test): run ``.venv/bin/python bench/protocol.py``.

Measures, in one run on this machine:
  (a) the physical limits: raw SHA-256 and raw zlib throughput over the same bytes (a realistic batch container);
  (b) events/s to build + chain + checkpoint + compress + seal a 1,000-event batch, and to open + verify it;
      plus the age seal layer alone (MB/s) on incompressible data;
  (c) wire bytes per event for 1,000 realistic events, sealed and compressed (goal <= 200).

Each headline prints as ``RESULT <name> <value>``; ratios compare a pipeline's byte rate with (a).
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

from sync_protocol import batch, seal  # noqa: E402
from sync_protocol.events import Event, build_event, epoch_open_event, new_uuid7  # noqa: E402
from sync_protocol.hlc import HLC  # noqa: E402
from sync_protocol.keys import SigningKey  # noqa: E402

NETWORK = "bench-net"
STATION = "st-360781105201"
EVENTS_PER_BATCH = 1000
ROUNDS = 5

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "秀英桂兰玉梅建国志强海燕春花国华俊杰丽娟文斌明亮晓红永福金凤德胜淑珍子涵雨轩浩然"
VILLAGES = ["东坪村", "西岭村", "南塘村", "北山村", "上湾村", "下庄村", "石桥村", "枫林村"]
ITEMS = [
    ("000105001000", "城乡居民基本养老保险参保登记", ["居民身份证", "户口簿", "参保登记表"]),
    ("000105002000", "城乡居民基本养老保险待遇申领", ["居民身份证", "户口簿", "银行卡复印件", "待遇申领表"]),
    (
        "000112004000",
        "最低生活保障审核确认",
        ["居民身份证", "户口簿", "家庭收入证明", "低保申请书", "承诺书"],
    ),
    ("000112009000", "临时救助申请", ["居民身份证", "申请书", "困难情况说明", "医疗费用票据"]),
    ("000116003000", "残疾人两项补贴申请", ["居民身份证", "残疾人证", "户口簿", "补贴申请表"]),
    ("000103015000", "高龄津贴申领", ["居民身份证", "户口簿", "银行卡复印件"]),
]
TRANSITIONS = [
    ("received", "accepted"),
    ("accepted", "township_review"),
    ("township_review", "county_review"),
]


def person(rng: random.Random) -> dict[str, object]:
    birth = f"{rng.randint(1935, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    return {
        "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2))),
        "id_type": "resident_id",
        "id_number": f"360781{birth}{rng.randint(0, 999):03d}{rng.choice('0123456789X')}",
        "phone": f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}",
        "village": rng.choice(VILLAGES),
    }


def intake_payload(rng: random.Random, case_id: str, wall_ms: int) -> dict[str, object]:
    code, name, materials = rng.choice(ITEMS)
    return {
        "case_no": f"XZ{wall_ms // 1000 % 10**8:08d}{rng.randint(0, 9999):04d}",
        "item": {"code": code, "version": rng.randint(1, 14), "name": name},
        "applicant": person(rng),
        "agent": person(rng) if rng.random() < 0.3 else None,
        "channel": rng.choice(["village_window", "township_hall", "proxy_agent"]),
        "materials": [
            {
                "name": m,
                "received": rng.random() < 0.9,
                "original_checked": rng.random() < 0.7,
                "copies": rng.randint(1, 3),
                "deferred": False,
            }
            for m in materials
        ],
        "case_id": case_id,
        "division": "360781105201",
        "note": rng.choice(
            ["", "申请人行动不便，由村代办员上门收件", "材料齐全，当场受理", "容缺受理，户口簿三日内补齐"]
        ),
    }


def realistic_events(rng: random.Random, count: int, start_wall: int) -> list[Event]:
    """An epoch.open followed by a station's day of work: intakes, transitions and field edits on those cases."""
    clock = HLC(start_wall)
    clock = clock.tick(start_wall)
    events = [
        epoch_open_event(
            network=NETWORK,
            station_id=STATION,
            epoch=1,
            reason="install",
            previous_head=None,
            hlc=clock,
            wall_ms=start_wall,
            actor="staff-0001",
        )
    ]
    cases: list[str] = []
    wall = start_wall
    while len(events) < count:
        wall += rng.randint(500, 90_000)
        clock = clock.tick(wall)
        roll = rng.random()
        common = {
            "network": NETWORK,
            "station_id": STATION,
            "epoch": 1,
            "seq": len(events) + 1,
            "prev": events[-1].event_id,
            "hlc": clock,
            "wall_ms": wall,
            "actor": f"staff-{rng.randint(1, 6):04d}",
            "idempotency_key": new_uuid7(wall, rng.randbytes(10)),
            "schema_version": 1,
            "aggregate_kind": "case",
            "catalog_version": 12,
        }
        if not cases or roll < 0.4:
            case_id = new_uuid7(wall, rng.randbytes(10))
            cases.append(case_id)
            event = build_event(
                **common,
                type="case.intake",
                aggregate_id=case_id,
                payload=intake_payload(rng, case_id, wall),
            )
        elif roll < 0.75:
            old, new = rng.choice(TRANSITIONS)
            event = build_event(
                **common,
                type="case.transition",
                aggregate_id=rng.choice(cases),
                base_version=rng.randint(1, 5),
                payload={"from": old, "to": new, "reason": rng.choice(["", "材料齐全", "初审通过"])},
            )
        else:
            event = build_event(
                **common,
                type="case.field_edit",
                aggregate_id=rng.choice(cases),
                base_version=rng.randint(1, 5),
                payload={
                    "field": "applicant.phone",
                    "old": f"13{rng.randint(0, 999_999_999):09d}",
                    "new": f"15{rng.randint(0, 999_999_999):09d}",
                },
            )
        events.append(event)
    return events


def best_seconds(action: Callable[[], object], rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - started)
    return best


def result(name: str, value: float | int, note: str = "") -> None:
    text = f"{value:.0f}" if isinstance(value, int) or value >= 100 else f"{value:.3f}"
    print(f"RESULT {name} {text}" + (f"    # {note}" if note else ""))


def main() -> None:
    signing_key = SigningKey.generate()
    ingest, escrow = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    recipients = [ingest.public_key().public_bytes_raw(), escrow.public_key().public_bytes_raw()]
    start_wall = 1_795_000_000_000

    def build_events() -> list[Event]:
        return realistic_events(random.Random(7), EVENTS_PER_BATCH, start_wall)

    events = build_events()
    body_bytes = sum(len(e.body) for e in events)

    def build_sealed() -> batch.BatchFile:
        return batch.build_batch(
            events,
            network=NETWORK,
            station_id=STATION,
            signing_key=signing_key,
            recipient_keys=recipients,
            bundle_version=0,
            hlc=events[-1].hlc,
            wall_ms=events[-1].wall_ms,
        )

    sealed = build_sealed()
    _, compressed = batch.make_batch_plaintext(
        events,
        signing_key=signing_key,
        recipient_key_id=hashlib.sha256(recipients[0]).hexdigest(),
        bundle_version=0,
        hlc=events[-1].hlc,
        wall_ms=events[-1].wall_ms,
    )
    container = zlib.decompress(compressed)

    # (a) physical limits over the same bytes: the uncompressed container, repeated to ~16 MiB.
    sample = container * max(1, (16 * 1024 * 1024) // len(container))
    sha_rate = len(sample) / best_seconds(lambda: hashlib.sha256(sample).digest(), 3)
    # zlib compresses one container at a time, as a batch does (one long repeated stream would flatter or hurt it).
    repeats = max(1, len(sample) // len(container) // 4)

    def compress_each(level: int) -> None:
        for _ in range(repeats):
            zlib.compress(container, level)

    zlib_rate = repeats * len(container) / best_seconds(lambda: compress_each(batch.COMPRESSION_LEVEL), 2)
    zlib1_rate = repeats * len(container) / best_seconds(lambda: compress_each(1), 2)
    print(f"# {len(events)} events, {body_bytes} body bytes ({body_bytes / len(events):.0f} B/event)")
    result("sha256_mb_per_s", sha_rate / 1e6)
    result("zlib_level9_mb_per_s", zlib_rate / 1e6, "the level batch.py uses")
    result("zlib_level1_mb_per_s", zlib1_rate / 1e6)

    # (b) pipelines.
    build_time = best_seconds(lambda: (build_events(), build_sealed()))
    batch_only_time = best_seconds(build_sealed)
    public_raw = signing_key.public_raw
    identities = [ingest.private_bytes_raw()]

    def open_verify() -> batch.OpenedBatch:
        return batch.open_batch(
            sealed.data, identities, network=NETWORK, public_key_for=lambda _station, _kid: public_raw
        )

    assert len(open_verify().events) == len(events)
    open_time = best_seconds(open_verify)
    for name, seconds in (
        ("build_chain_checkpoint_seal_events_per_s", build_time),
        ("checkpoint_compress_seal_events_per_s", batch_only_time),
        ("open_verify_events_per_s", open_time),
    ):
        rate = len(events) / seconds
        result(name, rate)
        result(
            name.replace("_events_per_s", "_vs_sha256"),
            body_bytes / seconds / sha_rate,
            "body bytes/s ÷ SHA-256",
        )
        result(
            name.replace("_events_per_s", "_vs_zlib9"),
            body_bytes / seconds / zlib_rate,
            "body bytes/s ÷ zlib -9",
        )

    # The age layer alone, on incompressible bytes.
    payload = os.urandom(4 * 1024 * 1024)
    sealed_payload = seal.seal(payload, recipients)
    seal_rate = len(payload) / best_seconds(lambda: seal.seal(payload, recipients))
    open_rate = len(payload) / best_seconds(lambda: seal.open_sealed(sealed_payload, identities))
    result("seal_mb_per_s", seal_rate / 1e6)
    result("seal_vs_sha256", seal_rate / sha_rate)
    result("open_sealed_mb_per_s", open_rate / 1e6)
    result("open_sealed_vs_sha256", open_rate / sha_rate)
    tiny = best_seconds(lambda: seal.seal(b"x", recipients), 50)
    result("seal_fixed_cost_us", tiny * 1e6, "two X25519 stanzas, one chunk")

    # (c) wire size.
    result("wire_bytes_per_event", len(sealed.data) / len(events), "goal <= 200; sealed + zlib, 1,000 events")
    result("compression_ratio", len(container) / len(compressed))


if __name__ == "__main__":
    main()
