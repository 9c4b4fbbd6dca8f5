"""Trade statistics: computed here from the closed trades an engine reports.

quantstats has no notion of a trade (its win rate, payoff ratio and profit factor count *bars*;
see :mod:`.performance`), so these are implemented directly and tested against hand computations.

Trades come in as any of: a ``DataFrame`` with one row per closed trade, a sequence of mappings,
or a sequence of objects (dataclasses, named tuples, plain objects). :func:`trades_frame` reads
the fields below, accepting a few common spellings:

============= =========================================== ===========================================================================
name                definition
=================== ===========================================================================
num_trades          number of closed trades
trade_win_rate      trades with pnl > 0 / all trades (breakeven trades count as not won)
avg_trade_pnl       mean pnl per trade, account currency ("average trade")
expectancy          p_win * mean win return - p_loss * |mean loss return|, wins and losses told
                    apart by pnl, p over all trades: a fraction per trade, which equals the
                    mean trade return when each trade's return has the sign of its pnl
trade_profit_factor sum of winning pnl / |sum of losing pnl|; inf with no losing trade
trade_payoff_ratio  mean winning pnl / |mean losing pnl|
sqn                 Van Tharp's System Quality Number: sqrt(N) * mean(pnl) / std(pnl, ddof=1),
                    uncapped N (backtesting.py's convention); NaN below 2 trades
avg_holding_days    mean calendar days from entry to exit (NaN without dates, or with bar
                    numbers instead of dates)
=================== ===========================================================================

With no trades at all, ``num_trades`` is 0 and the others are NaN.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

DEFINITIONS: dict[str, str] = {
    "num_trades": "number of closed trades",
    "trade_win_rate": "trades with pnl > 0 / all trades",
    "avg_trade_pnl": "mean net pnl per trade, account currency",
    "expectancy": "p_win * mean win return - p_loss * |mean loss return| (mean trade return)",
    "trade_profit_factor": "sum of winning pnl / |sum of losing pnl|",
    "trade_payoff_ratio": "mean winning pnl / |mean losing pnl|",
    "sqn": "System Quality Number: sqrt(N) * mean(pnl) / std(pnl, ddof=1)",
    "avg_holding_days": "mean calendar days from entry to exit",
}
NAMES: tuple[str, ...] = tuple(DEFINITIONS)

_ALIASES: dict[str, tuple[str, ...]] = {
    "pnl": ("pnl", "pl", "profit"),
    "return": ("return", "return_", "ret", "return_pct"),
    "entry_date": ("entry_date", "entry_time", "entry_dt", "entry_bar", "entry"),
    "exit_date": ("exit_date", "exit_time", "exit_dt", "exit_bar", "exit"),
}
TradesLike = pd.DataFrame | Sequence[Any]


def _record(trade: Any) -> Mapping[str, Any]:
    if isinstance(trade, Mapping):
        return trade
    if dataclasses.is_dataclass(trade) and not isinstance(trade, type):
        return {f.name: getattr(trade, f.name) for f in dataclasses.fields(trade)}
    if hasattr(trade, "_asdict"):
        return trade._asdict()
    names = [n for aliases in _ALIASES.values() for n in aliases]
    return {n: getattr(trade, n) for n in names if hasattr(trade, n)}


def trades_frame(trades: TradesLike) -> pd.DataFrame:
    """Normalize closed trades to columns ``pnl``, ``return`` (+ ``entry_date``, ``exit_date``)."""
    raw = trades if isinstance(trades, pd.DataFrame) else pd.DataFrame([_record(t) for t in trades])
    out = pd.DataFrame(index=range(len(raw)))
    for field, aliases in _ALIASES.items():
        found = next((a for a in aliases if a in raw.columns), None)
        if found is not None:
            out[field] = raw[found].to_numpy()
        elif field in ("pnl", "return") and len(raw):
            raise ValueError(
                f"trades need a {field!r} field (any of {', '.join(aliases)}); "
                f"got {', '.join(map(str, raw.columns))}"
            )
    for field in ("pnl", "return"):
        out[field] = out[field].astype("float64") if field in out else pd.Series(dtype="float64")
    return out


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return math.inf if num > 0 else math.nan
    return num / den


def trade_metrics(trades: TradesLike) -> dict[str, float]:
    """The metrics of :data:`NAMES` for closed trades (see the module docstring)."""
    frame = trades_frame(trades)
    n = len(frame)
    nan = math.nan
    if n == 0:
        return {name: (0.0 if name == "num_trades" else nan) for name in NAMES}
    pnl = frame["pnl"].to_numpy()
    ret = frame["return"].to_numpy()
    won, lost = pnl > 0, pnl < 0
    p_win, p_loss = won.mean(), lost.mean()
    mean_win_ret = ret[won].mean() if won.any() else 0.0
    mean_loss_ret = ret[lost].mean() if lost.any() else 0.0
    std = pnl.std(ddof=1) if n > 1 else nan
    holding = nan
    if "entry_date" in frame and "exit_date" in frame:
        entry, exit_ = frame["entry_date"], frame["exit_date"]
        if pd.api.types.is_numeric_dtype(entry) and pd.api.types.is_numeric_dtype(exit_):
            holding = nan  # bar numbers, not dates: no calendar duration
        else:
            days = (pd.to_datetime(exit_) - pd.to_datetime(entry)).dt.days
            holding = float(days.mean())
    return {
        "num_trades": float(n),
        "trade_win_rate": float(p_win),
        "avg_trade_pnl": float(pnl.mean()),
        "expectancy": float(p_win * mean_win_ret + p_loss * mean_loss_ret),
        "trade_profit_factor": _ratio(float(pnl[won].sum()), float(abs(pnl[lost].sum()))),
        "trade_payoff_ratio": (
            _ratio(float(pnl[won].mean()), float(abs(pnl[lost].mean())))
            if won.any() and lost.any()
            else nan
        ),
        "sqn": float(np.sqrt(n) * pnl.mean() / std) if n > 1 and std > 0 else nan,
        "avg_holding_days": holding,
    }
