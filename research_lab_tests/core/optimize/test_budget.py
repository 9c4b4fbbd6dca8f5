"""Studies run off market hours: refuse / wait during a session, stop before the next open."""

import pandas as pd
import pytest

from research_lab.core.marketdata.calendar import TradingCalendar
from research_lab.core.optimize import StudyRequest, load_space, run_study
from research_lab.core.optimize import storage as S
from research_lab.core.optimize.budget import MarketHoursError, plan_budget, plan_tick
from research_lab.core.backtest.params import DEFAULT_SPACES_PATH

NY = "America/New_York"
CAL = TradingCalendar("XNYS")


def ny(text):
    return pd.Timestamp(text, tz=NY)


def test_during_a_session_refuse_names_the_close():
    with pytest.raises(MarketHoursError, match=r"market is open \(session 2024-05-06, closes 16:00"):
        plan_budget(ny("2024-05-06 11:00"), calendar=CAL)


def test_during_a_session_wait_sleeps_until_the_close():
    slept = []
    b = plan_budget(ny("2024-05-06 11:00"), calendar=CAL, policy="wait", sleep=slept.append)
    assert slept == [5 * 3600.0]
    assert b.start == ny("2024-05-06 16:00") and b.deadline == ny("2024-05-07 09:00")
    early = plan_budget(ny("2024-11-29 12:00"), calendar=CAL, policy="wait", sleep=slept.append)
    assert early.start == ny("2024-11-29 13:00")                      # early close


@pytest.mark.parametrize("now, deadline", [
    ("2024-05-06 18:30", "2024-05-07 09:00"),     # weekday evening -> next morning
    ("2024-05-10 18:30", "2024-05-13 09:00"),     # Friday evening -> Monday
    ("2024-03-28 18:30", "2024-04-01 09:00"),     # before Good Friday -> Monday after
    ("2024-05-11 08:00", "2024-05-13 09:00"),     # Saturday morning
])
def test_the_budget_ends_a_margin_before_the_next_open(now, deadline):
    b = plan_budget(ny(now), calendar=CAL, margin_minutes=30)
    assert b.deadline == ny(deadline)
    assert "before the next XNYS open" in b.reason


def test_timeout_and_no_time_left():
    b = plan_budget(ny("2024-05-06 18:30"), calendar=CAL, timeout=600)
    assert b.seconds == 600 and b.reason == "timeout 600 s"
    with pytest.raises(MarketHoursError, match="no time left"):
        plan_budget(ny("2024-05-07 09:10"), calendar=CAL)
    ignored = plan_budget(ny("2024-05-06 11:00"), calendar=CAL, policy="ignore")
    assert ignored.deadline == ny("2024-05-07 09:00")


def test_a_study_launched_during_market_hours_writes_nothing(bars, cfg):
    refuse = cfg.override("market_hours", policy="refuse")
    space = load_space(DEFAULT_SPACES_PATH.parent / "param_spaces" / "sma_cross.yaml")
    with pytest.raises(MarketHoursError):
        run_study(StudyRequest("sma_cross", "ACME", bars, space, "daytime", n_trials=3,
                               config=refuse), now=ny("2024-05-06 11:00"))
    assert "daytime" not in S.list_studies(S.resolve_storage_url(None))
    # the same study in the evening runs, and stores the deadline for its workers
    rep = run_study(StudyRequest("sma_cross", "ACME", bars, space, "evening", n_trials=3,
                                 config=refuse), now=ny("2024-05-06 18:30"))
    assert rep.deadline is not None and rep.stopped == "deadline"


@pytest.mark.parametrize("when, run, reason", [
    ("2024-05-06 18:30", True, "until 2024-05-07 09:00 New York"),
    ("2024-03-28 18:30", True, "exchange holiday(s) 2024-03-29"),
    ("2024-05-11 08:00", True, "until 2024-05-13 09:00"),
    ("2024-05-06 11:00", False, "the market is open until 16:00"),
    ("2024-05-07 08:55", False, "only 5 min before the next open"),
])
def test_plan_tick(when, run, reason):
    tick = plan_tick(pd.Timestamp(when, tz=NY), CAL, 30, 10)
    assert tick.run is run and reason in tick.reason
