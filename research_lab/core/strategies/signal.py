"""A fast strategy's signal array, from its rule or its own signal function, checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._ref import StrategyError, StrategyRef


def strategy_signal_array(ref: StrategyRef, prices: Any, params: Mapping[str, Any],
                          cache: Any = None) -> np.ndarray:
    """One float per bar (+1 / -1 / 0 / NaN) of fast strategy ``ref`` on ``prices``; a
    :class:`StrategyError` naming the strategy and file when its code raises or returns
    something else."""
    from research_lab.core.backtest.lines import LineCache

    rule = ref.rule(params)
    if rule is not None:
        from research_lab.core.backtest.signals import rule_signal

        return rule_signal(cache or LineCache(prices), rule)
    try:
        raw = ref.fast().signal(prices, dict(params))
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        from .bt_runner import _in_user_code

        raise StrategyError(f"{ref.name} raised in signal(): {_in_user_code(exc, ref)}") from exc
    try:
        values = np.ascontiguousarray(np.asarray(raw, dtype=np.float64))
    except (TypeError, ValueError):
        values = np.empty(0)
    if values.shape != (len(prices),):
        raise StrategyError(f"{ref.name} ({ref.where}): signal() must return one float per bar "
                            f"({len(prices)}), got {getattr(raw, 'shape', type(raw).__name__)}")
    known = np.isnan(values) | np.isin(values, (-1.0, 0.0, 1.0))
    if not known.all():
        bad = int(np.flatnonzero(~known)[0])
        raise StrategyError(f"{ref.name} ({ref.where}): signal() values must be +1, -1, 0 or "
                            f"NaN; bar {bad} is {values[bad]!r}")
    return values
