"""The home page's custody holdings (``held_here``) read each held case's newest event id and parse events only of a
case with a new one: what they answer always equals the holdings computed from every event of the case in the log —
through hand-overs down and up, and after a backup is restored over a store that went further."""

from __future__ import annotations

from click.testing import CliRunner

from casework.custody import holdings_from_events
from casework.wire import case_event
from station import db as dbmod
from station.cli import main
from station.services import custody
from station.services.backup import backup_database
from station.services.cases import CASE
from station.services.custody import issues
from station.services.custody.manifests import folder_here, folder_here_in
from station.services.log import check_against_ack, events_of
from sync_protocol import receipts
from sync_protocol.events import REHOME

from .conftest import TOWNSHIP_CODE, VILLAGE_CODE
from .test_custody import (
    COUNTY_CODE,
    ID_NUMBERS,
    ITEM,
    VILLAGE_ACTOR,
    dispatched_manifest,
    in_,
    install_registry,
    node_of,
    receive_case,
    registry_for,
    township_app,
)


def from_every_event(cases) -> list:
    """The holdings as the whole log of each case gives them (every event parsed, in log order)."""
    found = []
    for case in cases:
        events = events_of(CASE, case.id)
        if folder_here_in(events, VILLAGE_CODE):
            found += holdings_from_events(case.id, [case_event(e) for e in events], case.number)
    return found


def held(cases) -> list:
    return issues.held_here([(c.id, c.number) for c in cases], VILLAGE_CODE)


class Parses:
    """Counts the events ``held_here`` parses."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        real = issues.parse_event

        def counting(body):
            self.count += 1
            return real(body)

        monkeypatch.setattr(issues, "parse_event", counting)


def result_back_down(village, township, case) -> None:
    """The agent brings the case's result folder back from the township; the village registers its label."""
    key = node_of(township).keys.signing_key
    fields = {
        "case_id": case.id, "case_number": case.number, "item_code": ITEM, "sending_station": TOWNSHIP_CODE,
        "masked_applicant": "张*明", "material_count": 2, "manifest_id": f"{TOWNSHIP_CODE}-20261120-M01",
    }  # fmt: skip
    label = receipts.sign_qr_payload("c", fields, key.private_bytes(), key.key_id)
    with in_(village):
        registered = custody.receive_folder(node_of(village).keys.signing_key, VILLAGE_ACTOR, label)
    assert registered.created


def test_held_here_equals_the_holdings_of_every_event_through_hand_overs(app, tmp_path, monkeypatch):
    village = app
    township = township_app(tmp_path)
    install_registry(village, registry_for((township, TOWNSHIP_CODE, "township", COUNTY_CODE)))
    first, second, third = (receive_case(village, name, number) for name, number in
                            zip(("张晓明", "李四", "王五"), ID_NUMBERS, strict=False))  # fmt: skip
    cases = [first, second, third]
    parses = Parses(monkeypatch)
    with in_(village):
        assert held(cases) == from_every_event(cases)
        assert {h.case_id for h in held(cases)} == {c.id for c in cases}  # all three wait for an agent
        assert [h.kind.value for h in held(cases)] == ["village_forwarding"] * 3
        parses.count = 0
        held(cases)
        assert parses.count == 0  # nothing new on the cases: nothing parsed again
    dispatched_manifest(village, [second, third])  # the folders leave with the agent
    with in_(village):
        assert held(cases) == from_every_event(cases)
        assert [h.case_id for h in held(cases)] == [first.id]
    result_back_down(village, township, third)  # its result comes back to the village to be handed out
    with in_(village):
        parses.count = 0
        now = held(cases)
        assert parses.count == 3  # the changed case alone: received, dispatched, received back
        assert now == from_every_event(cases)
        assert [(h.case_id, h.kind.value) for h in now] == [
            (first.id, "village_forwarding"), (third.id, "result_delivery")
        ]  # fmt: skip


def test_held_here_after_a_backup_is_restored_over_a_store_that_went_further(app, instance):
    cases = [receive_case(app), receive_case(app, "李四", ID_NUMBERS[1])]
    backup = backup_database(instance / "station.db", instance / "backups")
    dispatched_manifest(app, cases[:1])
    node = node_of(app)
    with in_(app):
        assert [h.case_id for h in held(cases)] == [cases[1].id]  # known with the dispatch
    node.database.close()
    result = CliRunner().invoke(main, ["restore", "--instance", str(instance), "--backup", str(backup)])
    assert result.exit_code == 0, result.output
    with dbmod.bound(node.database):
        assert held(cases) == from_every_event(cases)
        assert {h.case_id for h in held(cases)} == {c.id for c in cases}  # the backup never saw the dispatch
    third = receive_case(app, "王五", ID_NUMBERS[2])
    with dbmod.bound(node.database):
        both = [*cases, third]
        assert held(both) == from_every_event(both)
        assert len(held(both)) == 3


def test_a_dispatch_re_issued_by_fork_recovery_still_counts_as_the_folder_leaving(app, instance):
    """Fork recovery re-issues the dispatch as a ``rehome`` event in a new epoch: the folder is still gone with the
    agent — counted once while the original is in the log, and counted as the rehome alone when the store only has
    what central sent back (the original was the forked event central never took)."""
    village = app
    kept, sent = receive_case(village, "张晓明", ID_NUMBERS[0]), receive_case(village, "李四", ID_NUMBERS[1])
    dispatched_manifest(village, [sent])
    with in_(village):
        [dispatch] = [e for e in events_of(CASE, sent.id) if e.type == "case.custody_dispatched"]
        assert check_against_ack({1: dispatch.seq - 1}, forks={1: dispatch.seq}) is True
    node_of(village).database.close()
    restored = CliRunner().invoke(main, ["restore", "--instance", str(instance)])
    assert restored.exit_code == 0, restored.output
    with in_(village):
        [rehome] = [e for e in events_of(CASE, sent.id) if e.type == REHOME]
        assert (
            rehome.effective_type == "case.custody_dispatched" and rehome.rehomed_from[2] == dispatch.event_id
        )
        assert not folder_here(sent.id) and folder_here(kept.id)
        assert [h.case_id for h in held([kept, sent])] == [kept.id]
        # Without the original (central's copy of the log holds only the rehome), the rehome alone says the same.
        only_rehome = [e for e in events_of(CASE, sent.id) if e.event_id != dispatch.event_id]
        assert not folder_here_in(only_rehome, VILLAGE_CODE)
        assert holdings_from_events(sent.id, [case_event(e) for e in only_rehome], sent.number) == []
        with_received_only = [e for e in only_rehome if e.type != REHOME]
        assert folder_here_in(with_received_only, VILLAGE_CODE), "the rehome is what moves the folder"
        assert holdings_from_events(sent.id, [case_event(e) for e in with_received_only], sent.number), (
            "the folder would be held here without the rehome"
        )
