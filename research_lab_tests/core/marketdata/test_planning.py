from datetime import date

from research_lab.core.marketdata.planning import (
    RangeRequest,
    group_requests,
    missing_ranges,
    plan_nightly,
    weekdays,
)


def test_weekdays_skip_weekends():
    days = weekdays(date(2024, 6, 7), date(2024, 6, 11))
    assert days == [date(2024, 6, 7), date(2024, 6, 10), date(2024, 6, 11)]
    assert weekdays(date(2024, 6, 8), date(2024, 6, 7)) == []


def test_missing_ranges_are_contiguous_runs():
    wanted = weekdays(date(2024, 6, 3), date(2024, 6, 14))
    have = {date(2024, 6, 3), date(2024, 6, 6), date(2024, 6, 7), date(2024, 6, 14)}
    assert missing_ranges(wanted, have) == [
        (date(2024, 6, 4), date(2024, 6, 5)),
        (date(2024, 6, 10), date(2024, 6, 13)),
    ]
    assert missing_ranges(wanted, wanted) == []


def test_group_requests_merges_only_whole_universe():
    gap = (date(2024, 6, 3), date(2024, 6, 4))
    merged = group_requests({"A": [gap], "B": [gap]}, ["A", "B"])
    assert merged == [RangeRequest(("A", "B"), *gap)]
    split = group_requests({"A": [gap], "C": [gap]}, ["A", "B", "C"])
    assert split == [RangeRequest(("A",), *gap), RangeRequest(("C",), *gap)]


def test_plan_nightly_on_a_weekend_targets_friday():
    plan = plan_nightly(date(2024, 6, 8), ["A"], {"A": weekdays(date(2023, 1, 2), date(2024, 6, 7))}, 20)
    assert plan == [RangeRequest(("A",), date(2024, 6, 7), date(2024, 6, 7))]


def test_plan_nightly_lookback_bounds_the_gap():
    plan = plan_nightly(date(2024, 6, 10), ["A"], {"A": []}, 5)
    assert plan[1] == RangeRequest(("A",), date(2024, 6, 3), date(2024, 6, 7))
