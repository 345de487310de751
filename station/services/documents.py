"""The documents a case can have (DOMAIN.md §5), built from the case as stored here, and their 文书编号.

Which documents a case offers follows its events: each document rests on one act recorded by THIS station (the
``basis`` event: the receipt on ``case.received``, the 受理通知书 on ``case.accepted`` …), and a village station never
offers what only the accepting organ may issue (受理通知书, 不予受理, 容缺受理, 特别程序, 延期, 不予许可) — except the
organ's own 补正 and 不予受理 notices on a case the village received, which it prints for the applicant under the
organ's name and number (``ORGAN_NOTICES``).

Issuing a numbered document is one write transaction: the next number of the kind and year is read from and written
to ``node_state`` and a ``document.issued`` event (aggregate ``document``, id = the case id) is appended to the log,
so the number travels to central and every later print of the same act shows the same number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from casework.caseview import CaseView
from casework.catalog import Item
from printing import DOCUMENT_KINDS, ItemRef, Person, format_doc_number
from sync_protocol import receipts
from sync_protocol.events import Event
from sync_protocol.keys import SigningKey

from ..db import write_transaction
from ..models import Applicant, CaseRecord, NodeState, StationIdentity, User
from . import cases as case_service
from .document_builders import BUILDERS, CaseFacts, issuer_of
from .log import append_event, events_of, find_by_idempotency_key
from .reference import current_catalog, today

DOCUMENT_AGGREGATE = "document"
ISSUED_EVENT = "document.issued"
SEQUENCE_KEY = "document_sequence:{kind}:{year}"

# Kinds only the accepting organ may issue (printing refuses them from a village as well).
LEGAL_ORGAN_KINDS = frozenset(
    {
        "acceptance_notice",
        "rejection_notice",
        "gap_acceptance_notice",
        "special_procedure_notice",
        "extension_notice",
        "refusal_decision",
    }
)
# kind → the case event (casework type) whose latest occurrence the document rests on, in display order.
CASE_KIND_BASIS: tuple[tuple[str, str], ...] = (
    ("materials_receipt", "received"),
    ("correction_notice", "correction_requested"),
    ("rejection_notice", "not_accepted"),
    ("acceptance_notice", "accepted"),
    ("gap_acceptance_notice", "accepted_with_gaps"),
    ("gap_commitment", "accepted_with_gaps"),
    ("proof_commitment", "accepted"),
    ("special_procedure_notice", "paused"),
    ("extension_notice", "extended"),
    ("result_ready_notice", "result_ready"),
    ("refusal_decision", "decided"),
    ("delivery_receipt", "delivered"),
    ("rating_card", "received"),
)
PRINTABLE_CASE_KINDS = frozenset(kind for kind, _ in CASE_KIND_BASIS)


@dataclass(frozen=True)
class IssuedDocument:
    """A 文书编号 given out: for which act, when, by whom."""

    kind: str
    doc_number: str
    issued_on: dt.date
    basis_event: str
    actor: str


@dataclass(frozen=True)
class AvailableDocument:
    """A document the case can have now; ``issued`` once it has been printed with its number."""

    kind: str
    title_zh: str
    title_en: str
    basis: Event
    issued: IssuedDocument | None

    @property
    def numbered(self) -> bool:
        return bool(DOCUMENT_KINDS[self.kind].number_code)


def _latest(events: list[Event], local_type: str, station_code: str) -> Event | None:
    wire = case_service.wire_type(local_type)
    mine = [e for e in events if e.type == wire and e.station_id == station_code]
    return mine[-1] if mine else None


def _basis(
    kind: str, local_type: str, events: list[Event], view: CaseView, station_code: str
) -> Event | None:
    if kind == "proof_commitment":
        if "promised" not in view.materials.values():
            return None
        return _latest(events, "accepted", station_code) or _latest(
            events, "accepted_with_gaps", station_code
        )
    if kind == "rating_card":
        return _latest(events, "received", station_code) or _latest(events, "accepted", station_code)
    event = _latest(events, local_type, station_code)
    if event is None:
        return None
    if kind == "refusal_decision" and event.payload.get("outcome") != "refused":
        return None
    if kind == "result_ready_notice" and view.decision is None:
        return None
    return event


# The accepting organ's notices a case received at another station (a village's 代收 case) needs there: the organ
# gives the number with the act and names itself in it (``notice_no``, ``issuer``), and the station where the
# applicant filed prints the notice for them — the organ's document, under the organ's name and number.
ORGAN_NOTICES = {"request_correction": "correction_notice", "refuse_acceptance": "rejection_notice"}


def _organ_act(events: list[Event], local_type: str, station_code: str) -> Event | None:
    wire = case_service.wire_type(local_type)
    acts = [
        e
        for e in events
        if e.type == wire
        and e.station_id not in (station_code, "central")
        and e.payload.get("notice_no")
        and e.payload.get("issuer")
    ]
    return acts[-1] if acts else None


def _organ_issued(kind: str, act: Event) -> IssuedDocument:
    p = act.payload
    on = p.get("notice_on") or p.get("decided_on")
    return IssuedDocument(kind, p["notice_no"], dt.date.fromisoformat(on), act.event_id, act.actor)


def _organ_identity(act: Event) -> StationIdentity:
    """The organ that did the act, as its own notice names it (the registry gives its level)."""
    from .custody import level_of_station

    level = level_of_station(case_service.station())(act.station_id) or "township"
    return StationIdentity(station_code=act.station_id, name=act.payload["issuer"], level=level)


def issued_documents(case_id: str) -> list[IssuedDocument]:
    """Every numbered document printed for the case, oldest first."""
    return [_issued_from(e) for e in events_of(DOCUMENT_AGGREGATE, case_id) if e.type == ISSUED_EVENT]


def _issued_from(event: Event) -> IssuedDocument:
    p = event.payload
    return IssuedDocument(
        p["kind"], p["doc_number"], dt.date.fromisoformat(p["issued_on"]), p["basis_event"], event.actor
    )


def available_documents(case_id: str) -> list[AvailableDocument]:
    """The documents the case can have at its state and this station's level, in the order a clerk needs them."""
    identity = case_service.station()
    events = events_of(case_service.CASE, case_id)
    if not events:
        return []
    view = case_service.case_view(case_id)
    issued = {(d.kind, d.basis_event): d for d in issued_documents(case_id)}
    routed = case_service.case_events(case_id)
    organ_kinds = set(ORGAN_NOTICES.values())
    found = []
    for kind, local_type in CASE_KIND_BASIS:
        act = _organ_act(routed, local_type, identity.station_code) if kind in organ_kinds else None
        if act is not None:
            registered = DOCUMENT_KINDS[kind]
            found.append(
                AvailableDocument(
                    kind, registered.title_zh, registered.title_en, act, _organ_issued(kind, act)
                )
            )
            continue
        if identity.level == "village" and kind in LEGAL_ORGAN_KINDS:
            continue
        basis = _basis(kind, local_type, events, view, identity.station_code)
        if basis is None:
            continue
        registered = DOCUMENT_KINDS[kind]
        found.append(
            AvailableDocument(
                kind, registered.title_zh, registered.title_en, basis, issued.get((kind, basis.event_id))
            )
        )
    return found


def find_available(case_id: str, kind: str) -> AvailableDocument | None:
    return next((d for d in available_documents(case_id) if d.kind == kind), None)


def short_code(identity: StationIdentity) -> str:
    """The station's short name in 文书编号 (青山镇便民服务中心 → 青山便民, 青山镇石桥村便民服务站 → 石桥)."""
    name = str(identity.name)
    for suffix in ("便民服务中心", "便民服务站", "政务服务中心", "服务中心", "服务站"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if identity.level == "village":
        for marker in ("街道", "镇", "乡"):
            if marker in name:
                name = name.rsplit(marker, 1)[1] or name
                break
    for ending in ("社区", "街道", "村", "镇", "乡", "县", "区", "市"):
        if name.endswith(ending) and len(name) > len(ending) + 1:
            name = name[: -len(ending)]
            break
    name = name or str(identity.station_code)
    return name if identity.level == "village" else name + "便民"


def _issue_key(case_id: str, kind: str, basis_event: str) -> str:
    # One number per act and kind: reprints find this key and show the number already given.
    return "document-" + hashlib.sha256(f"{case_id}|{kind}|{basis_event}".encode()).hexdigest()[:48]


def issue_number(
    case_id: str, document: AvailableDocument, actor: str, on: dt.date | None = None
) -> IssuedDocument:
    """Give the document its 文书编号 (or return the one already given), in one transaction with its log event.

    A notice of another station's act (the organ's, printed here for the applicant) keeps the organ's number."""
    if document.issued is not None and document.basis.station_id != case_service.station().station_code:
        return document.issued
    on = on or today()
    key = _issue_key(case_id, document.kind, document.basis.event_id)
    with write_transaction():
        existing = find_by_idempotency_key(key)
        if existing is not None:
            return _issued_from(existing)
        number, sequence = reserve_number(document.kind, on)
        return record_issued(case_id, document.kind, document.basis.event_id, number, sequence, on, actor)


def reserve_number(kind: str, on: dt.date) -> tuple[str, int]:
    """The next 文书编号 of ``kind`` in ``on``'s year at this station (inside the caller's transaction)."""
    sequence_key = SEQUENCE_KEY.format(kind=kind, year=on.year)
    sequence = int(NodeState.read(sequence_key, 0)) + 1
    NodeState.write(sequence_key, sequence)
    return format_doc_number(short_code(case_service.station()), kind, on.year, sequence), sequence


def record_issued(
    case_id: str, kind: str, basis_event: str, number: str, sequence: int, on: dt.date, actor: str
) -> IssuedDocument:
    """The ``document.issued`` event of a reserved number (inside the caller's transaction)."""
    payload = {
        "case_id": case_id,
        "kind": kind,
        "doc_number": number,
        "year": on.year,
        "sequence": sequence,
        "issued_on": on.isoformat(),
        "basis_event": basis_event,
    }
    appended = append_event(
        actor=actor,
        event_type=ISSUED_EVENT,
        aggregate_kind=DOCUMENT_AGGREGATE,
        aggregate_id=case_id,
        payload=payload,
        idempotency_key=_issue_key(case_id, kind, basis_event),
    )
    return _issued_from(appended.event)


def display_name(username: str) -> str:
    user = User.get_or_none(User.username == username)
    return str(user.display_name) if user is not None else username


def implementation_code_of(case_number: str) -> str:
    """The 实施编码 at the head of a 办件编号 ({实施编码}-{yyyyMMdd}-{station}-{seq})."""
    return case_number.rsplit("-", 3)[0]


def receipt_payload(record: CaseRecord, kind: str, issued_on: dt.date, signing_key: SigningKey) -> str:
    """The signed QR text (sync_protocol.receipts kind ``r``) a county clerk or central can verify offline."""
    fields = {
        "case_id": record.id,
        "case_number": record.number,
        "item_code": implementation_code_of(record.number),
        "station_id": case_service.station().station_code,
        "issued_on": issued_on.isoformat(),
        "doc_type": kind,
    }
    return receipts.sign_qr_payload(receipts.RECEIPT, fields, signing_key.private_bytes(), signing_key.key_id)


def _person(applicant: Applicant) -> Person:
    # Only the masked number ever reaches a document: the raw one stays encrypted in the store.
    return Person(
        name=applicant.name, id_number=applicant.id_masked, phone=applicant.phone, address=applicant.address
    )


def case_facts(record: CaseRecord, item: Item | None = None) -> CaseFacts:
    view = case_service.case_view(record.id)
    item = item or current_catalog().item(record.item_code, record.item_version)
    agent = Applicant.get_or_none(Applicant.id == view.agent_id) if view.agent_id else None
    return CaseFacts(
        record=record,
        view=view,
        item=item,
        item_ref=ItemRef(item.name_zh, implementation_code_of(record.number), item.version),
        applicant=_person(Applicant.get_by_id(record.applicant_id)),
        agent=_person(agent) if agent is not None else None,
        identity=case_service.station(),
        clock=case_service.clock_of(view, item, today()),
        events=events_of(case_service.CASE, record.id),
    )


def build_document(
    record: CaseRecord, document: AvailableDocument, issued: IssuedDocument | None, signing_key: SigningKey,
    acting_user: str,
) -> Any:  # fmt: skip
    """The printing dataclass of one available document, numbered and signed when it is a numbered one."""
    facts = case_facts(record)
    if document.basis.station_id != facts.identity.station_code:
        facts = replace(facts, identity=_organ_identity(document.basis))  # the organ's notice, printed here
    issued_on = issued.issued_on if issued is not None else today()
    handler = display_name(document.basis.actor or acting_user)
    common: dict[str, Any] = {
        "case_number": record.number,
        "item": facts.item_ref,
        "applicant": facts.applicant,
        "issuer": issuer_of(facts.identity),
        "issued_on": issued_on,
        "handler": handler,
        "agent": facts.agent,
    }
    if issued is not None:
        common["doc_number"] = issued.doc_number
        common["qr_payload"] = receipt_payload(record, document.kind, issued_on, signing_key)
    return BUILDERS[document.kind](facts, document.basis, common, handler, acting_user)
