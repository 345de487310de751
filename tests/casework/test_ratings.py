"""DOMAIN.md §3: 好差评 levels, the proxy rule and bad-rating follow-ups."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.calendar import default_calendar
from casework.errors import RatingError
from casework.ratings import (
    DEFAULT_RECTIFICATION_DAYS,
    FollowUpStep,
    Rater,
    RatingChannel,
    RatingLevel,
    RatingStage,
    Verdict,
    advance_followup,
    channel_for_absent_applicant,
    open_followup,
    record_rating,
)

D = dt.date
CAL = default_calendar()


@pytest.mark.parametrize(
    ("level", "zh", "bad"),
    [
        (5, "非常满意", False),
        (4, "满意", False),
        (3, "基本满意", False),
        (2, "不满意", True),
        (1, "非常不满意", True),
    ],
)
def test_five_levels(level, zh, bad):
    assert RatingLevel(level).zh == zh
    assert RatingLevel(level).is_bad is bad


def test_a_proxy_agent_may_not_rate_for_the_applicant():
    for rater in (Rater.PROXY_AGENT, Rater.STAFF):
        with pytest.raises(RatingError) as raised:
            record_rating(
                5, RatingStage.COMPLETION, RatingChannel.VILLAGE_TABLET, D(2026, 11, 23), rater=rater
            )
        assert raised.value.code == "proxy_may_not_rate"
    assert channel_for_absent_applicant() is RatingChannel.PHONE_FOLLOWUP


def test_rating_level_out_of_range():
    with pytest.raises(RatingError) as raised:
        record_rating(
            0, RatingStage.ACCEPTANCE, RatingChannel.QR_CODE, D(2026, 11, 23), rater=Rater.APPLICANT
        )
    assert raised.value.code == "rating_level_range"


def test_bad_named_rating_opens_a_followup_due_in_15_working_days():
    rating = record_rating(
        2, RatingStage.COMPLETION, RatingChannel.PAPER_CARD, D(2026, 11, 2), rater=Rater.APPLICANT
    )
    assert rating.opens_followup
    followup = open_followup(rating, CAL)
    assert DEFAULT_RECTIFICATION_DAYS == 15
    assert followup.due_on == D(2026, 11, 23)
    assert CAL.working_days_between(followup.opened_on, followup.due_on) == 15
    local = open_followup(rating, CAL, rectification_days=5)
    assert local.due_on == D(2026, 11, 9)


def test_good_or_anonymous_ratings_open_no_followup():
    good = record_rating(
        3, RatingStage.ACCEPTANCE, RatingChannel.WINDOW_DEVICE, D(2026, 11, 2), rater=Rater.APPLICANT
    )
    anonymous = record_rating(
        1, RatingStage.ACCEPTANCE, RatingChannel.QR_CODE, D(2026, 11, 2), rater=Rater.ANONYMOUS
    )
    for rating in (good, anonymous):
        assert not rating.opens_followup
        with pytest.raises(RatingError):
            open_followup(rating, CAL)


def _bad_followup():
    rating = record_rating(
        1, RatingStage.COMPLETION, RatingChannel.SMS, D(2026, 11, 2), rater=Rater.APPLICANT
    )
    return open_followup(rating, CAL)


def test_followup_reasonable_complaint_must_be_rectified_before_closing():
    f = _bad_followup()
    f = advance_followup(f, FollowUpStep.VISITED, D(2026, 11, 3))
    f = advance_followup(f, FollowUpStep.VERDICT, D(2026, 11, 4), verdict=Verdict.REASONABLE)
    with pytest.raises(RatingError) as raised:
        advance_followup(f, FollowUpStep.CLOSED, D(2026, 11, 5))
    assert raised.value.code == "followup_step_not_allowed"
    f = advance_followup(f, FollowUpStep.RECTIFIED, D(2026, 11, 10))
    f = advance_followup(f, FollowUpStep.CLOSED, D(2026, 11, 11))
    assert f.rectified and not f.closed_late and not f.is_overdue(D(2026, 12, 31))


def test_followup_unreasonable_complaint_closes_with_an_explanation():
    f = _bad_followup()
    f = advance_followup(f, FollowUpStep.VISITED, D(2026, 11, 3))
    f = advance_followup(f, FollowUpStep.VERDICT, D(2026, 11, 4), verdict=Verdict.MALICIOUS)
    f = advance_followup(f, FollowUpStep.CLOSED, D(2026, 11, 5))
    assert f.rectified  # nothing to rectify: counts as handled


def test_followup_steps_in_order_and_overdue():
    f = _bad_followup()
    with pytest.raises(RatingError):
        advance_followup(f, FollowUpStep.RECTIFIED, D(2026, 11, 3))
    with pytest.raises(RatingError):
        advance_followup(
            advance_followup(f, FollowUpStep.VISITED, D(2026, 11, 3)), FollowUpStep.VERDICT, D(2026, 11, 4)
        )
    assert not f.is_overdue(D(2026, 11, 23)) and f.is_overdue(D(2026, 11, 24))


def test_indicator_scores_beside_the_overall_level():
    from casework.ratings import OFFLINE_INDICATORS, RATING_INDICATORS

    scores = {key: 4 for key in OFFLINE_INDICATORS}
    rating = record_rating(
        4,
        RatingStage.COMPLETION,
        RatingChannel.WINDOW_DEVICE,
        D(2026, 11, 2),
        rater=Rater.APPLICANT,
        indicators=scores,
    )
    assert rating.indicators == scores
    assert RATING_INDICATORS["attitude"][0] == "服务态度"
    for bad, code in (({"attitude": 6}, "rating_level_range"), ({"speed": 3}, "unknown_indicator")):
        with pytest.raises(RatingError) as raised:
            record_rating(
                4,
                RatingStage.COMPLETION,
                RatingChannel.QR_CODE,
                D(2026, 11, 2),
                rater=Rater.APPLICANT,
                indicators=bad,
            )
        assert raised.value.code == code
