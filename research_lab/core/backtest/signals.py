"""Signals: what a strategy wants to hold at each bar, shared by both engines.

A signal is one float per bar, computed from bars 0..t only:

====== =====================================================================================
value  meaning at the close of bar t
====== =====================================================================================
+1     be long
-1     be short (flat when the run does not allow shorts)
0      be flat
NaN    no instruction: keep whatever position there is
====== =====================================================================================

Both engines turn a signal into orders the same way: at bar t, if the signal is not NaN and
the position's direction differs from it, send a market order that moves the position to
``signal * units`` (units from the sizing rule); it fills at the open of bar t + 1. "Hold" is
what makes the classic crossover strategies exact: they act only on the bar of a cross, so an
order the broker rejects is not retried until the next cross, as in backtrader's own
``next()`` code. A rejected order under a level rule (RSI below 30) is retried on the next bar
that still satisfies it.

Every strategy is a :class:`Rule` comparing indicator lines (:mod:`.lines`):

=============== ===================================== ======================================
kind            +1 when                               -1 when
=============== ===================================== ======================================
``CROSS``       a crosses above b                     a crosses below b
``BELOW_ABOVE`` a < b  (e.g. RSI < lower)             a > c  (e.g. RSI > upper)
``ABOVE_BELOW`` a > b  (e.g. close > channel high)    a < c  (e.g. close < channel low)
=============== ===================================== ======================================

A cross is backtrader's ``CrossOver``: at bar t, up if the last non-zero ``a - b`` before t was
negative and ``a > b`` now, so below -> equal -> above is a cross (a strict
``prev < 0 < now`` test misses it). The first bar where both lines exist only seeds that
memory. A comparison with NaN is false, so no signal comes out before the lines exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .lines import Line, LineCache
from .prices import Prices, prices_from_bars

CROSS = 0
BELOW_ABOVE = 1
ABOVE_BELOW = 2
RULE_KINDS = {"CROSS": CROSS, "BELOW_ABOVE": BELOW_ABOVE, "ABOVE_BELOW": ABOVE_BELOW}


@dataclass(frozen=True)
class Rule:
    """A strategy's signal rule: ``kind`` applied to lines ``a``, ``b`` and (levels) ``c``."""

    kind: int
    a: Line
    b: Line
    c: Line | None = None

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS.values():
            raise ValueError(f"unknown rule kind {self.kind!r}; known: {RULE_KINDS}")
        if self.kind != CROSS and self.c is None:
            raise ValueError("a level rule needs line c (the -1 threshold)")

    @property
    def lines(self) -> tuple[Line, Line, Line]:
        """``(a, b, c)``; a cross uses ``b`` in place of the unused ``c``."""
        return (self.a, self.b, self.c if self.c is not None else self.b)


def rule_signal(cache: LineCache, rule: Rule) -> np.ndarray:
    """The signal array of ``rule`` on the cache's prices (runs the compiled rule kernel)."""
    from .kernels import rule_signal as kernel

    a, b, c = (np.ascontiguousarray(cache.get(line), dtype=np.float64) for line in rule.lines)
    out = np.empty(a.shape[0])
    kernel(rule.kind, a, b, c, out)
    return out


def strategy_signal(
    bars: pd.DataFrame | Prices, strategy: str, params: Mapping[str, Any] | None = None
) -> pd.Series:
    """The signal of fast ``strategy`` (+1/-1/0/NaN per bar) indexed by session."""
    from research_lab.core.strategies.signal import strategy_signal_array

    from .strategies import resolve_strategy

    prices = prices_from_bars(bars)
    ref = resolve_strategy(strategy)
    values = strategy_signal_array(ref, prices, ref.resolve(params))
    return pd.Series(values, index=prices.sessions, name=ref.name)


def target_positions(signal: pd.Series, allow_short: bool = False) -> pd.Series:
    """The direction held after each bar's close if every order filled: the signal with
    "hold" carried forward, shorts mapped to flat unless allowed, 0 before the first signal."""
    s = signal.copy()
    if not allow_short:
        s = s.where(~(s < 0), 0.0)
    return s.ffill().fillna(0.0)
