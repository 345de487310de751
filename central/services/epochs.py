"""Epoch authorizations (开新纪元授权): a person lets a station's new epoch (restore from a backup, re-enrollment)
open at central. Central signs an authorization (sync_protocol.authorization), keeps it verbatim, and the batches
that waited are ingested again — their epoch.open now opens, the events behind it follow from the held table.
"""

from __future__ import annotations

import time

from sync_protocol.authorization import (
    EpochAuthorization,
    issue_epoch_authorization,
    parse_epoch_authorization,
)
from sync_protocol.events import EPOCH_OPEN, parse_event

from ..db import write_transaction
from ..errors import NotFoundError
from ..models import Batch, HeldEvent, QuarantinedEvent, TrustDocument, utcnow
from .audit import record_audit

KIND_PREFIX = "epoch_auth:"


def authorizations_for(station_code: str) -> tuple[EpochAuthorization, ...]:
    rows = TrustDocument.select(TrustDocument.body).where(TrustDocument.kind == KIND_PREFIX + station_code)
    return tuple(parse_epoch_authorization(bytes(r.body)) for r in rows)


def authorize_quarantined_epoch(runtime, quarantined_event_id: str, actor: str) -> list[str]:
    """Authorize the epoch whose ``epoch.open`` waits in quarantine; returns the batch names to ingest again."""
    with write_transaction():
        row = QuarantinedEvent.get_or_none(QuarantinedEvent.event_id == quarantined_event_id)
        if row is None:
            raise NotFoundError("no quarantined event with this id")
        event = parse_event(bytes(row.body))
        if event.type != EPOCH_OPEN:
            raise NotFoundError("only a new epoch's opening event can be authorized")
        prev_epoch = event.payload["prev_epoch"]
        previous = (prev_epoch, event.payload["prev_seq"], event.prev) if prev_epoch else None
        kind = KIND_PREFIX + event.station_id
        if (
            not TrustDocument.select()
            .where(TrustDocument.kind == kind, TrustDocument.version == event.epoch)
            .exists()
        ):
            authorization = issue_epoch_authorization(
                network=runtime.network_id,
                station_id=event.station_id,
                epoch=event.epoch,
                reason=event.payload["reason"],
                previous_head=previous,
                issued_ms=int(time.time() * 1000),
                central_key=runtime.keys.central,
            )
            TrustDocument.create(kind=kind, version=event.epoch, body=authorization.raw)
            record_audit(
                actor,
                "resolution",
                event.station_id,
                {"epoch_authorized": event.epoch, "reason": event.payload["reason"]},
            )
        waiting = QuarantinedEvent.select().where(
            QuarantinedEvent.station_code == event.station_id,
            QuarantinedEvent.epoch == event.epoch,
            QuarantinedEvent.released_at.is_null(),
        )
        batch_ids = {r.batch_id for r in waiting} | {
            r.batch_id
            for r in HeldEvent.select(HeldEvent.batch_id).where(
                HeldEvent.station_code == event.station_id, HeldEvent.epoch == event.epoch
            )
        }
        QuarantinedEvent.update(released_at=utcnow()).where(
            QuarantinedEvent.id.in_([r.id for r in waiting])
        ).execute()
        # The held copies are decided again with the batches that carried them.
        HeldEvent.delete().where(
            HeldEvent.station_code == event.station_id, HeldEvent.epoch == event.epoch
        ).execute()
        names = [
            b.name for b in Batch.select(Batch.name).where(Batch.id.in_(list(batch_ids))).order_by(Batch.id)
        ]
        Batch.update(status="stored", reason="").where(Batch.id.in_(list(batch_ids))).execute()
    return names
