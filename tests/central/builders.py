"""A simulated station for central's tests: real keys, real enrollment requests, real events and sealed batches
built with sync_protocol exactly as a station builds them (no station code is imported)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sync_protocol.batch import BatchFile, build_batch
from sync_protocol.events import Event, build_event, epoch_open_event, new_uuid7
from sync_protocol.hlc import HLC
from sync_protocol.keys import BoxKey, SigningKey
from sync_protocol.seal import decode_recipient
from sync_protocol.trust import make_enrollment_request

WALL = 1_790_000_000_000


@dataclass
class SimStation:
    code: str
    network: str
    signing: SigningKey = field(default_factory=SigningKey.generate)
    box: BoxKey = field(default_factory=BoxKey.generate)
    events: list[Event] = field(default_factory=list)
    epoch: int = 1
    clock: HLC = field(default_factory=lambda: HLC(WALL, 0))
    _ik: itertools.count = field(default_factory=itertools.count)

    def enrollment_request(self, code: str) -> bytes:
        return make_enrollment_request(
            network=self.network,
            station_id=self.code,
            signing_key=self.signing,
            box_public=self.box.public_raw,
            code=code,
            wall_ms=WALL,
        )

    def _tick(self) -> HLC:
        self.clock = self.clock.tick(self.clock.wall_ms + 1000)
        return self.clock

    def open_epoch(self, reason: str = "install", previous_head: tuple[int, int, str] | None = None) -> Event:
        event = epoch_open_event(
            network=self.network,
            station_id=self.code,
            epoch=self.epoch,
            reason=reason,
            previous_head=previous_head,
            hlc=self._tick(),
            wall_ms=self.clock.wall_ms,
            actor="system",
        )
        self.events.append(event)
        return event

    def append(
        self,
        event_type: str,
        aggregate_id: str,
        payload: dict,
        *,
        events: list[Event] | None = None,
        base_version: int = 0,
        catalog_version: int = 0,
        aggregate_kind: str = "case",
    ) -> Event:
        log = self.events if events is None else events
        last = log[-1]
        hlc = self._tick()
        event = build_event(
            network=self.network,
            station_id=self.code,
            epoch=last.epoch,
            seq=last.seq + 1,
            prev=last.event_id,
            hlc=hlc,
            wall_ms=hlc.wall_ms,
            actor="village",
            idempotency_key=f"op-{next(self._ik)}",
            type=event_type,
            schema_version=1,
            aggregate_kind=aggregate_kind,
            aggregate_id=aggregate_id,
            payload=payload,
            base_version=base_version,
            catalog_version=catalog_version,
        )
        log.append(event)
        return event

    def create_applicant(self, name: str, id_number_masked: str) -> str:
        """An ``applicant.created`` event as a station logs it (the full ID number stays sealed to central)."""
        applicant_id = new_uuid7(WALL)
        payload = {"applicant_id": applicant_id, "name": name, "id_type": "111", "kind": "natural_person",
                   "id_number_masked": id_number_masked, "id_lookup": "0" * 64}  # fmt: skip
        self.append("applicant.created", applicant_id, payload, aggregate_kind="applicant")
        return applicant_id

    def receive_case(
        self,
        case_no: str = "990101101201-20260301-0001",
        *,
        item_code: str = "GF00301000",
        catalog_version: int = 0,
        applicant_id: str | None = None,
    ) -> str:
        case_id = new_uuid7(WALL)
        self.append(
            "received",
            case_id,
            {
                "from": None,
                "to": "village_received",
                "case_no": case_no,
                "item_code": item_code,
                "item_version": 1,
                "applicant_id": applicant_id or new_uuid7(WALL),
                "station": self.code,
                "received_on": "2026-03-02",
                "channel": "village",
                "materials": [{"key": "application_form", "status": "received"}],
            },
            catalog_version=catalog_version,
        )
        return case_id

    def batch(self, events: list[Event], central_info: dict) -> BatchFile:
        return build_batch(
            events,
            network=self.network,
            station_id=self.code,
            signing_key=self.signing,
            recipient_keys=[
                decode_recipient(central_info["ingest_recipient"]),
                decode_recipient(central_info["escrow_recipient"]),
            ],
            bundle_version=0,
            hlc=events[-1].hlc,
            wall_ms=events[-1].wall_ms,
        )
