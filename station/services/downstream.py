"""Applying a verified downstream bundle (下行包) in one transaction: trust roots, catalog, calendar, acks,
registry, certificate, custody and epoch authorization parts; parts this station cannot apply yet are kept
verbatim, never dropped."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import UTC, datetime

from casework.errors import CaseworkError
from casework.wire import wire_type
from sync_protocol.bundles import BundleState, VerifiedBundle
from sync_protocol.errors import ProtocolError
from sync_protocol.fieldcrypt import FieldCipher

from ..db import write_transaction
from ..models import CentralCaseEvent, DownstreamPart, EventLog, NodeState, StationIdentity
from .epochs import apply_authorizations_part
from .reference import CALENDAR_YEARS_KEY, CATALOG_KEY, calendar_years

log = logging.getLogger(__name__)
BUNDLE_STATE_KEY = "bundle_state"
NETWORK_KEY = "network_duplicate_key"
NETKEY_CONTEXT = "network.duplicate_key"
REGISTRY_KEY = "registry"
APPLIED_HERE = frozenset(
    {"catalog", "calendar", "acks", "registry", "certificate", "decisions", "events", "custody"}
)


def bundle_state() -> BundleState:
    raw = NodeState.read(BUNDLE_STATE_KEY)
    if not raw:
        return BundleState()
    return BundleState(
        version=raw["version"],
        bundle_id=raw["bundle_id"],
        part_versions=dict(raw["part_versions"]),
        trusted_time_ms=raw["trusted_time_ms"],
    )


def _apply_case_events(data: bytes, version: int = 0) -> bool:
    """Keep other stations' events on the cases central routes to us (one per line) and re-project those cases:
    our own cases, and a village's case this township serves (代办), which becomes a local case from them. They
    are stored apart from our log (they are not ours). Returns False when a line does not parse (the part is kept
    unapplied for a human).

    ``version`` (an ``events`` part's version: the newest central log position in it) becomes the central version
    of every case or applicant another station's event in the part is about: central puts in the part every
    other-station event on the aggregates it routes to us, so all of them up to that position are now here. Our
    next event on such an aggregate declares it as its base (``log.base_of``)."""
    from sync_protocol.events import parse_event

    from ..models import Applicant
    from .cases import case_view, project_case

    try:
        events = [parse_event(line) for line in data.split(b"\n") if line]
    except ProtocolError as e:
        log.warning("downstream events part not applied: %s", e)
        return False
    touched = set()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    identity = StationIdentity.current()
    own = [e for e in events if identity is not None and e.station_id == identity.station_code]
    for event in sorted(own, key=lambda e: e.position):
        if _restore_own_event(event) and event.aggregate_kind == "case":
            touched.add(event.aggregate_id)
    events = [e for e in events if e not in own]
    if events:
        from .log import observe_remote_clock

        # What we do next on these cases must fold after what the other stations did, even when their clocks
        # run ahead of ours (causal order: our clock moves past every clock we learn).
        observe_remote_clock(max(e.hlc for e in events))
    if version > 0:
        from .log import learn_central_versions

        learn_central_versions(
            version, {(e.aggregate_kind, e.aggregate_id) for e in events if e.station_id != "central"}
        )
    for event in events:
        if event.aggregate_kind == "applicant" and event.type == wire_type("applicant_created"):
            # The applicant of a case another station received: name and masked ID, the full ID sealed away.
            _restore_applicant_row(event)
            continue
        if event.aggregate_kind != "case":
            continue
        CentralCaseEvent.insert(
            event_id=event.event_id, case_id=event.aggregate_id, event_type=event.type, hlc=event.hlc,
            body=event.body, received_at=now,
        ).on_conflict_ignore().execute()  # fmt: skip
        touched.add(event.aggregate_id)
    for case_id in sorted(touched):
        view = case_view(case_id)
        # A case whose 'received' event is here (ours, restored or routed) and whose applicant we know.
        if view.case_no and Applicant.get_or_none(Applicant.id == view.applicant_id) is not None:
            project_case(case_id)
    return True


def _restore_own_event(event) -> bool:
    """Put back one of our own events that central holds and this store lost (restored from a backup): only
    where it continues our chain exactly (its predecessor is here with the id it names)."""
    from .log import store_event

    if EventLog.select().where(EventLog.event_id == event.event_id).exists():
        return False
    if EventLog.select().where((EventLog.epoch == event.epoch) & (EventLog.seq == event.seq)).exists():
        log.warning(
            "central sent our event %s:%s but a different one is stored there", event.epoch, event.seq
        )
        return False
    if event.seq > 1:
        before = EventLog.get_or_none((EventLog.epoch == event.epoch) & (EventLog.seq == event.seq - 1))
        if before is None or before.event_id != event.prev:
            return False
    store_event(event)
    if event.type == wire_type("applicant_created"):
        _restore_applicant_row(event)
    return True


def _restore_applicant_row(event) -> None:
    """A restored ``applicant.created`` event brings its applicant row back. The full ID number was sealed to
    central only, so the row keeps the lookup hash and the masked number (all the window ever shows) and an empty
    local ciphertext."""
    from ..models import Applicant

    payload = event.payload
    if Applicant.get_or_none(Applicant.id == payload["applicant_id"]) is not None:
        return
    Applicant.create(
        id=payload["applicant_id"],
        name=payload["name"],
        id_type=payload["id_type"],
        id_cipher=b"",
        id_lookup=payload["id_lookup"],
        id_masked=payload["id_number_masked"],
        phone=payload.get("phone", ""),
        address=payload.get("address", ""),
        created_at=datetime.fromtimestamp(event.wall_ms / 1000, UTC).isoformat(timespec="seconds"),
    )


def _apply_part(part_type: str, data: bytes, version: int = 0) -> bool:
    """Apply one part; False keeps it stored but unapplied. Content is validated before it replaces anything, so
    a bad part can never break the window's pages."""
    from casework.calendar import load_year_calendar
    from casework.catalog import load_catalog

    try:
        if part_type == "catalog":
            document = json.loads(data.decode("utf-8"))
            load_catalog(document)
            NodeState.write(CATALOG_KEY, document)
            return True
        if part_type == "calendar":
            years = calendar_years(json.loads(data.decode("utf-8")))
            by_year = {load_year_calendar(y).year: y for y in years}
            for known in NodeState.read(CALENDAR_YEARS_KEY, []):
                by_year.setdefault(load_year_calendar(known).year, known)
            NodeState.write(CALENDAR_YEARS_KEY, [by_year[y] for y in sorted(by_year)])
            return True
    except (ValueError, UnicodeDecodeError, CaseworkError) as e:
        log.warning("downstream %s part not applied: %s", part_type, e)
        return False
    if part_type == "events":
        return _apply_case_events(data, version)
    if part_type == "decisions":
        return _apply_case_events(data)
    if part_type == "custody":
        from .custody import apply_custody_part

        try:
            apply_custody_part(data)
        # Another station's part, or a malformed one: kept stored, unapplied.
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("downstream custody part not applied: %s", e)
            return False
        return True
    if part_type == "acks":
        from .sync import receive_ack

        receive_ack(data)
        return True
    if part_type == "registry":
        NodeState.write(REGISTRY_KEY, data.decode("ascii"))
        return True
    if part_type == "certificate":
        identity = StationIdentity.current()
        if identity is not None:
            identity.certificate = data
            identity.save()
        return True
    return False


def _apply_netkey(data: bytes, cipher: FieldCipher | None) -> bytes | None:
    """Keep the network duplicate key (class C tokens, ADR 0006) encrypted under the station's field key, like an
    ID number: the database alone never holds it in the clear. Returns what to store as the part's body (the
    ciphertext), or None when the part is not a valid netkey part or there is no cipher to keep it with."""
    try:
        document = json.loads(data.decode("utf-8"))
        key = base64.b64decode(document["duplicate"], validate=True)
        if document.get("format") != "yiciban.netkey/1" or len(key) != 32 or cipher is None:
            raise ValueError("not a netkey part this station can keep")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, binascii.Error) as e:
        log.warning("downstream netkey part not applied: %s", e)
        return None
    sealed = cipher.encrypt(base64.b64encode(key).decode("ascii"), NETKEY_CONTEXT)
    NodeState.write(
        NETWORK_KEY, {"id": str(document.get("id", "")), "cipher": base64.b64encode(sealed).decode()}
    )
    return sealed


def network_duplicate_key(cipher: FieldCipher) -> bytes | None:
    """The network duplicate key central sent in a ``netkey`` part, or None before the first such bundle."""
    held = NodeState.read(NETWORK_KEY)
    if not held:
        return None
    return base64.b64decode(cipher.decrypt(base64.b64decode(held["cipher"]), NETKEY_CONTEXT))


def apply_bundle(verified: VerifiedBundle, cipher: FieldCipher | None = None) -> None:
    """Apply every part and record the new bundle state, all or nothing. ``cipher`` (the station's field cipher)
    keeps the network duplicate key encrypted at rest."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with write_transaction():
        if verified.roots:
            identity = StationIdentity.current()
            info = json.loads(identity.central_info) if identity and identity.central_info else {}
            known = list(info.get("roots", []))
            for raw in verified.roots:
                text = raw.decode("ascii")
                if text not in known:
                    known.append(text)
            info["roots"] = known
            if identity is not None:
                identity.central_info = json.dumps(info, ensure_ascii=False, sort_keys=True)
                identity.save()
        for part in verified.parts:
            body = part.data
            if part.type == "authorizations":  # checked under the root this bundle was verified with
                applied = apply_authorizations_part(part.data, verified.root)
            elif part.type == "netkey":  # a secret: never stored in the clear, not even as the part's body
                kept = _apply_netkey(part.data, cipher)
                applied, body = kept is not None, kept or b""
            else:
                applied = (
                    _apply_part(part.type, part.data, part.version) if part.type in APPLIED_HERE else False
                )
            DownstreamPart.create(
                bundle_version=verified.manifest.version,
                part_type=part.type,
                part_version=part.version,
                body=body,
                applied=applied,
                received_at=now,
            )
        state = verified.state
        NodeState.write(
            BUNDLE_STATE_KEY,
            {
                "version": state.version,
                "bundle_id": state.bundle_id,
                "part_versions": dict(state.part_versions),
                "trusted_time_ms": state.trusted_time_ms,
            },
        )
