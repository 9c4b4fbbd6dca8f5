"""A backtrader strategy scored on one fold of a study: its own code, on backtrader.

A fast strategy's trials reuse one signal and the compiled fill loop; a backtrader strategy
has no separable signal, so each fold is a fresh ``Cerebro`` over the fold's bars (a fresh
account with the broker's cash; the strategy's indicators warm up inside the fold, as they
would if the strategy were started on the fold's first day). That costs what backtrader
costs: ~0.1-0.4 s per fold of 1,000-5,000 bars, so a study of a backtrader strategy runs a
few trials per second per worker (``benchmarks/strategy_study_speed.py``); add workers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._ref import StrategyRef


def backtrader_fold_returns(ref: StrategyRef, prices: Any, params: Mapping[str, Any],
                            start: int, stop: int, broker: Any,
                            feeds: Sequence[Any] = ()) -> np.ndarray:
    """Per-bar simple returns of ``ref`` run on bars ``start..stop-1`` (the first against the
    starting cash), like :meth:`research_lab.core.optimize.objective.Evaluator.returns`.
    ``feeds``: more symbols' prices on the same sessions, ``self.datas[1:]`` of the run."""
    from .bt_runner import run_backtrader_strategy

    windows = [p.window(start, stop) for p in (prices, *feeds)]
    result = run_backtrader_strategy(ref, [(w.symbol, w) for w in windows], ref.resolve(params),
                                     broker)
    equity = result.equity.to_numpy()
    out = np.empty(equity.shape[0])
    out[0] = equity[0] / broker.cash - 1.0
    out[1:] = equity[1:] / equity[:-1] - 1.0
    return out
