"""Train / validation / test: by date, in order, never overlapping; each env sees its past only."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from research_lab.core.rl.config import SplitConfig
from research_lab.core.rl.splits import Splits, make_splits, period_env


def test_fractions_split_the_sessions_in_order_without_overlap(bars, tiny_config):
    s = make_splits(bars["session"], SplitConfig(train=0.6, validation=0.2))
    assert s.train[1] < s.validation[0] <= s.validation[1] < s.test[0] <= s.test[1]
    days = pd.DatetimeIndex(bars["session"]).date
    counts = [((days >= a) & (days <= b)).sum() for a, b in (s.train, s.validation, s.test)]
    assert sum(counts) == len(days)
    assert counts[0] == int(len(days) * 0.6) and counts[1] == int(len(days) * 0.2)
    assert s.to_dict()["test_end"] == days[-1].isoformat()


def test_explicit_dates(bars):
    s = make_splits(bars["session"], SplitConfig(train_end=dt.date(2023, 6, 30),
                                                 validation_end=dt.date(2024, 3, 28)))
    assert s.train[1] == dt.date(2023, 6, 30) and s.validation[0] == dt.date(2023, 7, 3)
    assert s.validation[1] == dt.date(2024, 3, 28) and s.test[0] == dt.date(2024, 4, 1)


def test_overlapping_or_short_periods_are_refused(bars):
    d = dt.date
    with pytest.raises(ValueError, match="overlaps"):
        Splits((d(2021, 1, 4), d(2022, 1, 3)), (d(2022, 1, 3), d(2023, 1, 3)),
               (d(2023, 1, 4), d(2024, 1, 3)))
    with pytest.raises(ValueError, match="need at least"):
        make_splits(bars["session"], SplitConfig(train_end=d(2024, 11, 1),
                                                 validation_end=d(2024, 12, 20)))


def test_each_environment_trades_its_period_and_sees_no_later_bar(bars, tiny_config):
    s = make_splits(bars["session"], tiny_config.splits)
    for period in ("train", "validation", "test"):
        env = period_env(bars, s, period, tiny_config)
        start, end = getattr(s, period)
        assert env.sessions[-1].date() == end, "no bar after the period reaches the env"
        assert env.period[1] == end
        assert env.period[0] == start if period != "train" else env.period[0] > start
    assert period_env(bars, s, "train", tiny_config).random_start
    assert not period_env(bars, s, "test", tiny_config).random_start
