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
    nxt = calendar.next_open(start)  # during a session: the next session's open
    deadline = _utc(nxt) - pd.Timedelta(minutes=margin_minutes)
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
