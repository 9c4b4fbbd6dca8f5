"""Missing sessions: a hole in the bars is found against the exchange calendar, never bridged
silently.

A backtest walks its bars one after the other; a symbol whose history lacks five months would
otherwise be traded as if the hole were one bar (a position held "overnight" across it, a
return spanning it). :func:`check_gaps` compares the bars' sessions with the calendar's
sessions between the first and the last bar (:class:`~research_lab.core.marketdata.calendar.
TradingCalendar`, NYSE by default) and applies the run's ``gaps`` setting (:mod:`.costs`):

``refuse`` (default)
    any missing session raises :class:`~.params.ParameterError` naming how many, the first
    ones and the longest hole; nothing is computed.
``fill``
    every missing session gets a flat bar at the previous close (open = high = low = close,
    ``adj_close`` likewise scaled, volume 0). Indicators see these bars and an order due on
    such a day fills at that price: the hole is visible as flat equity, not hidden.
``ignore``
    the bars are used as they are (the old behaviour), and the hole is still reported.

Whatever the policy, the outcome goes into the result (``conditions["gaps"]``: policy,
number of missing sessions, first missing ones, longest hole) and into the report's notes.
Bars on days the calendar does not list (an exchange closure the data still has) are not
gaps and are kept; days outside the calendar's range are not checked (said in the outcome).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd

from .params import ParameterError

SHOWN = 3  # missing sessions named in a message


def _runs(missing: pd.DatetimeIndex, calendar_sessions: pd.DatetimeIndex) -> list[tuple]:
    """Consecutive runs of missing calendar sessions as (first, last, count)."""
    pos = calendar_sessions.get_indexer(missing)
    runs: list[tuple] = []
    start = 0
    for k in range(1, len(pos) + 1):
        if k == len(pos) or pos[k] != pos[k - 1] + 1:
            runs.append((missing[start], missing[k - 1], k - start))
            start = k
    return runs


_FOUND: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
_FOUND_KEPT = 32  # session sets whose outcome is remembered (a sweep, a study: the same bars)


def find_gaps(sessions: pd.DatetimeIndex, calendar: Any = None) -> dict[str, Any]:
    """The calendar sessions missing between the first and last of ``sessions``.

    The outcome of the last few session sets is remembered per calendar (the key is the
    sessions' exact values), so a sweep, a study or a loop of backtests over the same bars
    checks them against the calendar once, not once per run (the check cost ~1 ms a run,
    a third of a fast 5,000-bar backtest). Each call returns its own copy."""
    from research_lab.core.marketdata.calendar import TradingCalendar

    cal = calendar or TradingCalendar()
    index = pd.DatetimeIndex(sessions)
    try:
        key = (cal, str(index.dtype), index.asi8.tobytes())
        hash(key)
    except TypeError:  # a calendar object that cannot be a key: no memory
        return _find_gaps(index, cal)
    found = _FOUND.get(key)
    if found is None:
        found = _FOUND[key] = _find_gaps(index, cal)
        while len(_FOUND) > _FOUND_KEPT:
            _FOUND.popitem(last=False)
    else:
        _FOUND.move_to_end(key)
    longest = found["longest_gap"]
    return {**found, "first_missing": list(found["first_missing"]),
            "longest_gap": None if longest is None else dict(longest)}


def _find_gaps(sessions: pd.DatetimeIndex, cal: Any) -> dict[str, Any]:
    from research_lab.core.marketdata.calendar import calendar_bounds

    lo, hi = calendar_bounds()
    first = max(sessions[0].date(), lo)
    last = min(sessions[-1].date(), hi)
    unchecked = sessions[0].date() < lo or sessions[-1].date() > hi
    expected = cal.session_index(first, last) if first <= last else pd.DatetimeIndex([])
    missing = expected.difference(pd.DatetimeIndex(sessions).normalize())
    runs = _runs(missing, expected) if len(missing) else []
    longest = max(runs, key=lambda r: r[2]) if runs else None
    return {
        "missing_sessions": int(len(missing)),
        "first_missing": [d.date().isoformat() for d in missing[:SHOWN]],
        "longest_gap": None if longest is None else {
            "from": longest[0].date().isoformat(), "to": longest[1].date().isoformat(),
            "sessions": int(longest[2]),
        },
        "calendar": getattr(cal, "name", str(cal)),
        "unchecked_outside_calendar": bool(unchecked),
        "_missing": missing,
    }


def gap_note(outcome: dict[str, Any] | None) -> str | None:
    """The outcome in words, or None when nothing was missing."""
    if not outcome or not outcome.get("missing_sessions"):
        return None
    g = outcome["longest_gap"]
    action = {"fill": "filled with flat bars at the previous close",
              "ignore": "bridged (the bars were used as they are)"}[outcome["policy"]]
    return (f"{outcome['missing_sessions']} session(s) of the {outcome['calendar']} calendar "
            f"missing in the bars (longest: {g['sessions']} from {g['from']} to {g['to']}): "
            f"{action}")


def check_gaps(bars: pd.DataFrame, policy: str, symbol: str = "bars",
               calendar: Any = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(bars to run on, outcome) under ``policy`` (see the module docstring)."""
    sessions = pd.DatetimeIndex(pd.to_datetime(bars["session"]))
    found = find_gaps(sessions, calendar)
    missing = found.pop("_missing")
    outcome = {"policy": policy, **found}
    if not len(missing):
        return bars, outcome
    if policy == "refuse":
        g = outcome["longest_gap"]
        raise ParameterError(
            f"{symbol}: {len(missing)} session(s) of the {outcome['calendar']} calendar are "
            f"missing between {sessions[0].date()} and {sessions[-1].date()} (first: "
            f"{', '.join(outcome['first_missing'])}; longest hole {g['sessions']} session(s) "
            f"{g['from']}..{g['to']}); set gaps to 'fill' or 'ignore' to run anyway"
        )
    if policy == "ignore":
        return bars, outcome
    frame = bars.copy()
    frame["session"] = sessions
    full = frame.set_index("session").reindex(sessions.union(missing))
    added = full["close"].isna().to_numpy()
    prev_close = full["close"].ffill()
    for col in ("open", "high", "low", "close"):
        full[col] = full[col].where(~added, prev_close)
    if "volume" in full.columns:
        full.loc[added, "volume"] = 0.0
    for col in full.columns:
        if col not in ("open", "high", "low", "close", "volume"):
            full[col] = full[col].ffill()  # adj_close, symbol, ...: the previous bar's
    out = full.reset_index().rename(columns={"index": "session"})
    outcome["filled"] = int(np.count_nonzero(added))
    return out, outcome
