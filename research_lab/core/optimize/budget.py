"""Studies run off market hours: the time budget of a study, from the exchange calendar.

:func:`plan_budget` is called when a study starts (wherever it was launched from: the CLI, a
Dagster schedule, the HTTP API) with the current instant ``now`` (injectable for tests):

* During a session (``TradingCalendar.is_open(now)``) the policy decides: ``refuse`` raises
  :class:`MarketHoursError` naming the session, its close and how to proceed; ``wait`` sleeps
  until the close, then plans from there; ``ignore`` plans from ``now`` (a deliberate manual
  run).
* The deadline is ``next_open(start) - margin`` (``market_hours.margin_minutes``), or
  ``start + timeout`` if earlier. Holidays and weekends need no special case: ``next_open``
  comes from the exchange calendar, so a Friday-evening study may run until Monday 09:00 and
  one before Good Friday until the Monday after.
* No time left (``deadline <= start``) raises :class:`MarketHoursError` too.

:func:`plan_tick` is the same rule for a scheduled tick (the Dagster schedule asks it whether
to start studies now, and until when): closed market, and at least ``min_budget_minutes``
before ``next_open - margin``. Both go through :func:`deadline_before_open`, the one place
that computes a study's deadline from the calendar.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

POLICIES = ("refuse", "wait", "ignore")


class MarketHoursError(RuntimeError):
    """A study may not start now; the message says why and when it could."""


@dataclass(frozen=True)
class TimeBudget:
    start: Any            # pd.Timestamp, tz-aware
    deadline: Any         # pd.Timestamp, tz-aware
    next_open: Any        # pd.Timestamp in the exchange's time zone
    reason: str           # what set the deadline

    @property
    def seconds(self) -> float:
        return max(0.0, (self.deadline - self.start).total_seconds())

    def remaining(self, now: Any = None) -> float:
        import pandas as pd

        now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
        return max(0.0, (self.deadline - now).total_seconds())


def _utc(ts: Any):
    import pandas as pd

    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def market_status(now: Any, calendar: Any) -> tuple[bool, Any, Any]:
    """(open?, the current session's close if open, the next open)."""
    now = _utc(now)
    is_open = calendar.is_open(now)
    close = calendar.next_close(now) if is_open else None
    return is_open, close, calendar.next_open(now)


def deadline_before_open(start: Any, calendar: Any, margin_minutes: float) -> tuple[Any, Any]:
    """(next open after ``start``, that open minus the margin), both UTC."""
    import pandas as pd

    nxt = _utc(calendar.next_open(_utc(start)))
    return nxt, nxt - pd.Timedelta(minutes=margin_minutes)


@dataclass(frozen=True)
class TickPlan:
    run: bool
    reason: str
    deadline: Any = None  # pd.Timestamp in the calendar's time zone


def plan_tick(now: Any, calendar: Any, margin_minutes: float,
              min_budget_minutes: float) -> TickPlan:
    """Whether a scheduled tick at ``now`` starts studies, and until when they may run."""
    now = _utc(now)
    is_open, close, _ = market_status(now, calendar)
    tz = calendar.tz
    place = tz.rsplit("/", 1)[-1].replace("_", " ")
    if is_open:
        return TickPlan(False, f"the market is open until {close.tz_convert(tz):%H:%M} "
                               f"{place}; studies run off market hours")
    nxt, deadline = deadline_before_open(now, calendar, margin_minutes)
    deadline = deadline.tz_convert(tz)
    minutes = (deadline - now).total_seconds() / 60
    if minutes < min_budget_minutes:
        return TickPlan(False, f"only {max(minutes, 0):.0f} min before the next open "
                               f"{nxt.tz_convert(tz):%Y-%m-%d %H:%M} (minus a "
                               f"{margin_minutes:g} min margin); need {min_budget_minutes:g}")
    closed_days = calendar.holidays(now.tz_convert(tz).date(), deadline.date())
    note = f"; exchange holiday(s) {', '.join(map(str, closed_days))}" if closed_days else ""
    return TickPlan(True, f"until {deadline:%Y-%m-%d %H:%M} {place} ({minutes / 60:.1f} h){note}",
                    deadline)


def plan_budget(now: Any = None, *, calendar: Any = None, timeout: float | None = None,
                margin_minutes: float = 30.0, policy: str = "refuse",
                sleep: Callable[[float], None] = time.sleep) -> TimeBudget:
    """The window a study may use, starting at ``now`` (default: the current instant)."""
    import pandas as pd

    if policy not in POLICIES:
        raise ValueError(f"market-hours policy {policy!r} is not one of {', '.join(POLICIES)}")
    if calendar is None:
        from research_lab.core.marketdata.calendar import TradingCalendar

        calendar = TradingCalendar("XNYS")
    start = _utc(pd.Timestamp.now(tz="UTC") if now is None else now)
    is_open, close, _ = market_status(start, calendar)
    if is_open and policy != "ignore":
        local_close = close.tz_convert(calendar.tz)
        if policy == "refuse":
            raise MarketHoursError(
                f"the {calendar.name} market is open (session {local_close.date()}, closes "
                f"{local_close:%H:%M} {calendar.tz}); optimization studies run off market hours: "
                f"start after the close, or use the market-hours policy 'wait' (or 'ignore' to "
                f"run anyway)")
        sleep(max(0.0, (close - start).total_seconds()))
        start = _utc(close)
    nxt, deadline = deadline_before_open(start, calendar, margin_minutes)
    reason = (f"{margin_minutes:g} min before the next {calendar.name} open "
              f"{nxt.tz_convert(calendar.tz):%Y-%m-%d %H:%M %Z}")
    if timeout is not None and start + pd.Timedelta(seconds=timeout) < deadline:
        deadline = start + pd.Timedelta(seconds=timeout)
        reason = f"timeout {timeout:g} s"
    if deadline <= start:
        raise MarketHoursError(
            f"no time left: the next {calendar.name} open is "
            f"{nxt.tz_convert(calendar.tz):%Y-%m-%d %H:%M %Z} and studies stop "
            f"{margin_minutes:g} min before it")
    return TimeBudget(start, deadline, nxt, reason)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
