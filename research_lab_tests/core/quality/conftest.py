"""Fixtures for the sentinel's pure tests: deterministic synthetic bars and fast configs."""

from datetime import date

import pytest

from research_lab.core.quality.config import SentinelConfig

# Prophet costs ~0.1 s per fit; tests that are not about it leave it out
NO_PROPHET = SentinelConfig(use_prophet=False)
SMALL_PROPHET = SentinelConfig(prophet_window=160, prophet_min_train=80)


@pytest.fixture(scope="session")
def calendar():
    from research_lab.core.marketdata.calendar import TradingCalendar

    return TradingCalendar("XNYS")


@pytest.fixture(scope="session")
def synthetic_bars(calendar):
    """ACME, 2016-2020 (~1,260 sessions) from the deterministic synthetic source."""
    from research_lab.core.marketdata.sources import SyntheticSource

    src = SyntheticSource(seed=3, symbols=("ACME",), start="2016-01-04", end="2020-12-31",
                          calendar=calendar)
    return src.fetch("ACME", date(2016, 1, 4), date(2020, 12, 31))
