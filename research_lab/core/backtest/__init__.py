"""Backtesting: one strategy library, two engines that agree order for order.

Quick start::

    from research_lab.core.backtest import run_backtest, sweep

    result = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 30})   # engine="fast"
    result.final_value, result.orders, result.trades, result.equity, result.summary()

    ref = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 30}, engine="backtrader")
    # same orders (dates, sides, sizes, prices), same final value and cash

    table = sweep(bars, "sma_cross", {"fast": range(5, 55, 5), "slow": range(20, 220, 20)})
    table.sort_values("sharpe", ascending=False).head()

``bars`` is one symbol's bar frame (:mod:`research_lab.core.marketdata.schema`).

How the pieces fit
    * Strategies are plugins (:mod:`research_lab.core.strategies`): the eight built-ins are
      fast strategies, each a :class:`~.signals.Rule` over indicator :mod:`.lines` (SMA, EMA,
      RSI, ...) computed bit-identically to backtrader's indicators (:mod:`.indicators`); a
      user's backtrader strategy runs unchanged on the backtrader engine.
    * :mod:`.params` holds parameter spaces (bounds, steps, defaults, constraints such as
      ``fast < slow``) and validates what a user passes.
    * :mod:`.signals` turns a rule into a per-bar signal: +1 long, -1 short (or flat), 0 flat,
      NaN "hold", computed from bars up to and including t (no look-ahead; tested).
    * Engines act on the signal with backtrader's default broker semantics
      (:mod:`.costs`): market orders at the next open, fixed or percent sizing, percentage or
      futures-like commission, orders checked against cash.
      ``"backtrader"`` (:mod:`.bt_engine`) runs backtrader itself; ``"fast"``
      (:mod:`.fast_engine`) runs a numba loop (:mod:`.kernels`) ~1,000x faster, and sweeps
      many parameter sets per compiled call.
    * :class:`~.result.BacktestResult` is the same for both; :mod:`.fastmetrics` has the
      sweep's Sharpe / return / drawdown.

Importing this package is light: numba and backtrader load only when an engine runs.
"""

from __future__ import annotations

from .api import ENGINES, run_backtest, run_signal, sweep
from .costs import BrokerConfig
from .params import ParameterError, StrategySpace, get_space, load_spaces
from .prices import Prices, prices_from_bars
from .result import BacktestResult
from .signals import Rule, strategy_signal, target_positions


def __getattr__(name: str):
    # the strategy library loads through research_lab.core.strategies, which imports this
    # package's modules: resolved on first use so that either package can be imported first
    if name in ("STRATEGIES", "strategy_rule"):
        from . import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ENGINES",
    "STRATEGIES",
    "BacktestResult",
    "BrokerConfig",
    "ParameterError",
    "Prices",
    "Rule",
    "StrategySpace",
    "get_space",
    "load_spaces",
    "prices_from_bars",
    "run_backtest",
    "run_signal",
    "strategy_rule",
    "strategy_signal",
    "sweep",
    "target_positions",
]
