"""Human labels for stored codes (states, lights, material statuses), in the user's language."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flask import Flask, g, has_request_context
from flask_babel import get_locale, gettext, ngettext


def N_(text: str) -> str:
    """Mark a string for extraction; it is translated where it is shown."""
    return text


STATES = {
    "village_received": N_("received at the village"),
    "in_transit": N_("with an agent, in transit"),
    "received": N_("received"),
    "correction_requested": N_("waiting for corrections"),
    "not_accepted": N_("not accepted"),
    "accepted": N_("accepted"),
    "accepted_with_gaps": N_("accepted with gaps"),
    "forwarded": N_("forwarded for decision"),
    "decided_granted": N_("granted"),
    "decided_refused": N_("refused"),
    "result_ready": N_("result ready for pickup"),
    "delivered": N_("delivered"),
    "withdrawn": N_("withdrawn"),
    "terminated": N_("terminated"),
}
LIGHTS = {
    "green": N_("on time"),
    "yellow": N_("due soon"),
    "red": N_("overdue"),
    "grey": N_("paused"),
    "none": "",
}
CALENDAR_MISSING = N_("deadline unknown: calendar not imported")
SYNC_PHASES = {
    "push": N_("sending our events"),
    "ack": N_("reading central's acknowledgement"),
    "blobs": N_("sending scans"),
    "bundles": N_("receiving updates from central"),
    "done": N_("finished"),
}
MATERIAL_STATUSES = {
    "received": N_("Received"),
    "original_returned": N_("Original checked and returned"),
    "missing": N_("Missing"),
    "deferred": N_("Supply later (容缺)"),
    "promised": N_("Replaced by a signed promise"),
    "shared": N_("Obtained by data sharing"),
}
ACTIONS = {
    "accept": N_("Accept (受理)"),
    "accept_with_gaps": N_("Accept with gaps (容缺受理)"),
    "request_correction": N_("One-time correction notice (一次性告知)"),
    "refuse_acceptance": N_("Refuse to accept (不予受理)"),
    "supply_gap": N_("Deferred material supplied"),
    "forward": N_("Forward to the county for decision"),
    "pause": N_("Pause the clock (special procedure)"),
    "resume": N_("Resume the clock"),
    "extend": N_("Extend once (延期)"),
    "review_note": N_("Add a review note"),
    "decide_grant": N_("Decide: grant (准予)"),
    "decide_refuse": N_("Decide: refuse (不予)"),
    "mark_result_ready": N_("Result ready: notify the applicant"),
    "deliver": N_("Record delivery (送达)"),
    "withdraw": N_("Withdrawn by the applicant"),
}
CHANNELS = {
    "window_device": N_("window rating device"),
    "paper_card": N_("paper card"),
    "qr_code": N_("QR code"),
    "sms": N_("SMS"),
    "phone_followup": N_("phone follow-up"),
    "village_tablet": N_("village tablet"),
}
FOLLOWUP = {
    "opened": N_("opened"),
    "visited": N_("return visit made"),
    "verdict": N_("verdict recorded"),
    "rectified": N_("rectified"),
    "closed": N_("closed"),
    "reasonable": N_("reasonable"),
    "partly_reasonable": N_("partly reasonable"),
    "unreasonable": N_("unreasonable"),
    "malicious": N_("malicious"),
}
CHINA = timezone(timedelta(hours=8))


HANDLING_KINDS = {  # 办件类型
    "immediate": N_("Immediate item"),
    "promised": N_("Promised-time item"),
    "reported": N_("Item decided above"),
    "joint": N_("Joint item"),
}


def handling_kind_label(kind: str) -> str:
    return gettext(HANDLING_KINDS[kind]) if kind in HANDLING_KINDS else kind


def once_per_request(label: Callable[..., str]) -> Callable[..., str]:
    """A label that depends only on its arguments and the page's language, looked up once per request and
    language: a list repeats the same few on every row, and each translation lookup costs ~10 µs."""

    @functools.wraps(label)
    def memo(*args: Any) -> str:
        if not has_request_context():
            return label(*args)
        known: dict[tuple, str] = g.setdefault("labels_known", {})
        key = (label.__name__, str(get_locale()), *args)
        text = known.get(key)
        if text is None:
            text = known[key] = label(*args)
        return text

    return memo


@once_per_request
def state_label(state: str) -> str:
    return gettext(STATES[state]) if state in STATES else state


@once_per_request
def light_label(light: str, calendar_missing: bool = False) -> str:
    """The light in words; a clock stopped by a missing calendar year says so instead of "due soon"."""
    if calendar_missing:
        return gettext(CALENDAR_MISSING)
    return gettext(LIGHTS[light]) if LIGHTS.get(light) else ""


EPOCH_REASONS = {
    "install": N_("installation"),
    "restore": N_("restored from a backup"),
    "fork_recovery": N_("recovery after a restore"),
    "re_enroll": N_("re-enrollment"),
}


def epoch_reason_label(reason: str) -> str:
    return gettext(EPOCH_REASONS[reason]) if reason in EPOCH_REASONS else reason


def sync_phase_label(phase: str) -> str:
    return gettext(SYNC_PHASES[phase]) if phase in SYNC_PHASES else phase


def material_status_label(status: str) -> str:
    return gettext(MATERIAL_STATUSES[status]) if status in MATERIAL_STATUSES else status


def action_label(action: str) -> str:
    return gettext(ACTIONS[action]) if action in ACTIONS else action


def channel_label(channel: str) -> str:
    return gettext(CHANNELS[channel]) if channel in CHANNELS else channel


def followup_label(code: str) -> str:
    return gettext(FOLLOWUP[code]) if code in FOLLOWUP else code


def localized_name(entry: Any) -> str:
    """``name_zh`` or ``name_en`` of a catalog entry (item, material, special procedure) for the page's language."""
    from flask_babel import get_locale

    locale = get_locale()
    if locale is None or locale.language == "zh":
        return str(entry.name_zh)
    return str(entry.name_en or entry.name_zh)


def item_label(item_code: str, name_zh: str) -> str:
    """A catalog item's name in the page's language; the stored Chinese name when the catalog lacks the item."""
    from flask_babel import get_locale

    from casework.errors import UnknownItemError

    from .services.reference import current_catalog

    locale = get_locale()
    if locale is None or locale.language == "zh":
        return name_zh
    try:
        return current_catalog().item(item_code).name_en or name_zh
    except UnknownItemError:
        return name_zh


def format_ms(value: int | str) -> str:
    """Event time for people: China time to the minute."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=UTC).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return str(value)


def time_ago(delta: timedelta) -> str:
    """How long ago, in words: "just now", "12 minutes ago", "3 hours ago", "2 days ago"."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:  # also a stored time ahead of this PC's clock
        return gettext("just now")
    if minutes < 60:
        return ngettext("%(num)d minute ago", "%(num)d minutes ago", minutes)
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(num)d hour ago", "%(num)d hours ago", hours)
    return ngettext("%(num)d day ago", "%(num)d days ago", hours // 24)


def format_when(value: str | None, now: datetime | None = None) -> str:
    """A stored UTC ISO time for people: the station's local time (China, UTC+8) to the minute, and how long ago."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return f"{local} ({time_ago((now or datetime.now(UTC)) - moment)})"


def when_datetime(value: str | None) -> str:
    """A stored UTC ISO time for machines: the ``datetime`` of the ``<time>`` element that shows
    :func:`format_when`, to the second, in China time ("" when unreadable)."""
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


CONFLICT_CLASSES = {
    "A": N_("concurrent state changes"),
    "B": N_("concurrent edits of the same detail"),
    "C": N_("possible duplicate application"),
    "D": N_("custody"),
    "E": N_("older catalog version"),
    "F": N_("late change to a closed or merged case"),
    "G": N_("integrity problem"),
}
RESOLUTIONS = {
    "apply_incoming": N_("the later action applies"),
    "keep_applied": N_("the earlier action stands; the later one is kept on record but not applied"),
    "apply_both": N_("both actions apply"),
    "last_writer_wins": N_("the later change applies; the other value is kept on record"),
    "same_value": N_("both made the same change"),
    "union": N_("both changes kept"),
    "human_review": N_("waiting for central"),
    "flag_both": N_("both cases flagged for review"),
    "dedup": N_("the same submission twice: merged"),
    "merge": N_("merged into the earlier case"),
    "mark_distinct": N_("not a duplicate: both cases go on"),
    "redirect": N_("case merged: the change goes to the surviving case"),
    "annotate": N_("case closed: kept as a note"),
    "evaluate_under_declared_version": N_("handled under the catalog version in force when it was received"),
    "dismiss": N_("closed without applying"),
    "authorize_epoch": N_("the restored store was authorized"),
    "quarantine": N_("set aside for review"),
}


def conflict_class_label(letter: str) -> str:
    return gettext(CONFLICT_CLASSES[letter]) if letter in CONFLICT_CLASSES else letter


def resolution_label(outcome: str) -> str:
    return gettext(RESOLUTIONS[outcome]) if outcome in RESOLUTIONS else outcome


def install_labels(app: Flask) -> None:
    app.jinja_env.globals.update(
        state_label=state_label,
        action_label=action_label,
        channel_label=channel_label,
        followup_label=followup_label,
        light_label=light_label,
        material_status_label=material_status_label,
        sync_phase_label=sync_phase_label,
        epoch_reason_label=epoch_reason_label,
        format_ms=format_ms,
        format_when=format_when,
        when_datetime=when_datetime,
        item_label=item_label,
        localized_name=localized_name,
        handling_kind_label=handling_kind_label,
        conflict_class_label=conflict_class_label,
        resolution_label=resolution_label,
    )
