"""Strategies as plugins: the built-in library and a researcher's own, found the same way.

Two contracts:

* **backtrader**: any ``backtrader.Strategy`` subclass, unchanged, run by backtrader itself
  (its ``notify_order``, broker settings in ``start()``, analyzers, sizers); its ``params``
  are the strategy's parameters.
* **fast**: a :class:`FastStrategy` subclass (parameters + a numba-friendly signal function
  or a rule over indicator lines), run by the fast engine and, for comparison, by backtrader.

::

    from research_lab.core.strategies import get_strategy, discover, check_strategy

    ref = get_strategy("sma_cross")                      # registered name
    ref = get_strategy("strategies.sma_crossover.SMACrossover", paths=["~/platform"])
    ref = get_strategy("examples/strategies/pairs.py:PairsSpread")
    ref.kind, ref.space.defaults(), ref.code()           # code version: source-file hash
    discover().names()                                   # what is registered
    check_strategy("sma_cross").raise_for_failure()      # look-ahead (+ parity if fast)

See ``docs/strategies.md``.
"""

from __future__ import annotations

from ._base import Choice, FastStrategy, Float, Int
from ._ref import KINDS, StrategyError, StrategyRef, inspect
from .discovery import (
    Discovery,
    Sources,
    clear_cache,
    configured_sources,
    discover,
    get_strategy,
    load_reference,
)


def check_strategy(*args, **kwargs):
    """See :func:`research_lab.core.strategies.check.check_strategy`."""
    from .check import check_strategy as run

    return run(*args, **kwargs)


__all__ = [
    "KINDS", "Choice", "Discovery", "FastStrategy", "Float", "Int", "Sources", "StrategyError",
    "StrategyRef", "check_strategy", "clear_cache", "configured_sources", "discover",
    "get_strategy", "inspect", "load_reference",
]
