"""The fast-strategy contract: a class with parameters and one signal function.

A fast strategy is a subclass of :class:`FastStrategy` with

``name``
    the name it is run by (``research-lab backtest --strategy NAME``), its Dagster partition
    and the strategy part of its MLflow experiment: letters, digits, ``_`` and ``-``.
``description``
    one line shown by ``research-lab strategy list``.
``params``
    ``{name: Int(default, low, high) | Float(default, low, high, step) | Choice(default,
    choices)}``: bounds are what a search may explore and what a run accepts.
``constraints``
    optional, e.g. ``("fast < slow",)``: ``a op b`` with op one of ``< <= > >=``.

and **one** of

``signal(self, bars, p) -> np.ndarray``
    ``bars`` has float64 arrays ``open``, ``high``, ``low``, ``close`` (and ``sessions``); ``p``
    the resolved parameters. Return one float per bar, from bars ``0..t`` only: ``+1`` long,
    ``-1`` short (flat unless shorts are allowed), ``0`` flat, ``NaN`` keep the position. The
    order for bar t's signal fills at bar t + 1's open. Put the loop in a ``@numba.njit``
    function of arrays and call it from here: that is the fast path.
``rule(self, p) -> Rule``
    the signal as a :class:`~research_lab.core.backtest.signals.Rule` over named indicator
    lines (:mod:`research_lab.core.backtest.lines`): lines are computed once per series and
    shared by every parameter set of a sweep or study. The eight built-in strategies use it.

Both engines run a fast strategy: the numba fill loop (``engine="fast"``) and backtrader's
broker (``engine="backtrader"``), with the same orders and final value; ``research-lab
strategy check NAME`` verifies it on your strategy.

Example (``examples/strategies/fast_breakout.py`` in the repository)::

    import numba
    import numpy as np
    from research_lab.core.strategies import FastStrategy, Int

    @numba.njit
    def _breakout(close, period):
        out = np.full(close.shape[0], np.nan)
        for t in range(period, close.shape[0]):
            hi = close[t - period:t].max()
            lo = close[t - period:t].min()
            if close[t] > hi:
                out[t] = 1.0
            elif close[t] < lo:
                out[t] = 0.0
        return out

    class CloseBreakout(FastStrategy):
        name = "close_breakout"
        description = "long above the highest close of `period` bars, flat below the lowest"
        params = {"period": Int(20, 2, 250)}

        def signal(self, bars, p):
            return _breakout(bars.close, p["period"])
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # an MLflow experiment part


def Int(default: int, low: int, high: int, step: int = 1) -> dict[str, Any]:  # noqa: N802
    """An integer parameter: ``default`` within ``[low, high]``, searched by ``step``."""
    return {"type": "int", "default": default, "low": low, "high": high, "step": step}


def Float(default: float, low: float, high: float,  # noqa: N802
          step: float | None = None) -> dict[str, Any]:
    """A float parameter within ``[low, high]`` (``step``: the grid of a sweep, optional)."""
    return {"type": "float", "default": default, "low": low, "high": high,
            **({"step": step} if step is not None else {})}


def Choice(default: Any, choices: Sequence[Any]) -> dict[str, Any]:  # noqa: N802
    """A categorical parameter: one of ``choices``."""
    return {"type": "categorical", "default": default, "choices": list(choices)}


class FastStrategy:
    """Base class of fast strategies (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    constraints: ClassVar[Sequence[str]] = ()

    def rule(self, p: Mapping[str, Any]) -> Any:
        """The signal as a Rule over indicator lines, or None (then :meth:`signal` is used)."""
        return None

    def signal(self, bars: Any, p: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    @classmethod
    def has_rule(cls) -> bool:
        return cls.rule is not FastStrategy.rule

    @classmethod
    def contract_problem(cls) -> str | None:
        """Why this class breaks the contract, or None."""
        if not isinstance(cls.name, str) or not NAME.match(cls.name or ""):
            return (f"name {cls.name!r} is missing or invalid (letters, digits, _ and -, "
                    "starting with a letter or digit, at most 64)")
        overrides = [m for m in ("rule", "signal") if getattr(cls, m) is not getattr(FastStrategy, m)]
        if len(overrides) != 1:
            return "define exactly one of signal(self, bars, p) and rule(self, p)"
        if not isinstance(cls.params, Mapping):
            return "params must be a mapping {name: Int(...) | Float(...) | Choice(...)}"
        return None
