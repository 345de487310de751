"""Which level does what to a case (DOMAIN.md §2.2): the lifecycle table's check for one action at this station,
the actions a page offers, where an item is decided, and whether the paper result is here.
"""

from __future__ import annotations

from casework.caseview import CaseView
from casework.catalog import Item, Level
from casework.lifecycle import Role, allowed_actions, check_transition

from .action_forms import FORM_ACTIONS
from .cases import Actor, station
from .reference import current_catalog

# Acts on the paper result: only where the folder is (a village waits for the result its agent brings back).
NEEDS_PAPER = frozenset({"mark_result_ready", "deliver"})


def paper_here(case_id: str) -> bool:
    """Is the case's folder at this station (never handed to an agent, or signed for since)?"""
    from .custody.manifests import folder_here

    return folder_here(case_id)


def available_actions(view: CaseView, level: str, role: str | None, *, paper: bool = True) -> list[str]:
    """Form actions the lifecycle table allows this role at this level for the case's item (accepted only at its
    acceptance level, decided only at its decision level), in the table's order; ``paper``: whether the case's folder is here (see :func:`paper_here`)."""
    if role is None or view.state is None:
        return []
    item = current_catalog().item(view.item_code, view.item_version)
    allowed = set(allowed_actions(view.state, Level(level), Role(role), acceptance_level=item.acceptance_level,
                                  decision_level=item.decision_level))  # fmt: skip
    # Guards the table leaves to check_transition, applied here so the page offers only what can succeed.
    hidden = {"resume"} if not view.paused else {"pause"}
    if not paper:
        hidden.update(NEEDS_PAPER)
    if view.extended:
        hidden.add("extend")
    if not view.open_gaps:
        hidden.add("supply_gap")
    elif view.state is not None:
        hidden.update({"decide_grant", "mark_result_ready"} if view.decision != "refused" else set())
    return [a for a in FORM_ACTIONS if a in allowed and a not in hidden]


def check_action(view: CaseView, action: str, actor: Actor, item: Item):
    """The lifecycle table's check of ``action`` on the case by this actor at this station (raises
    ``TransitionError`` with the reason when it is not allowed)."""
    return check_transition(
        view.state,
        action,
        Level(station().level),
        Role(actor.role),
        open_gaps=len(view.open_gaps),
        granted=None if view.decision is None else view.decision == "granted",
        already_extended=view.extended,
        acceptance_level=item.acceptance_level,
        decision_level=item.decision_level,
    )


LEVEL_ZH = {"village": "村", "township": "乡镇", "county": "县"}


def completes_here(item: Item, level: str) -> bool:
    """即办件 done at this window in one go (accept, grant, hand over): only where the item is accepted and
    decided."""
    return item.is_immediate and item.decision_level is Level(level) and item.acceptance_level is Level(level)
