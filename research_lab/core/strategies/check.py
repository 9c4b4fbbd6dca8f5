"""Checks a researcher runs on their own strategy: look-ahead, and (fast) engine parity.

Look-ahead
    A strategy must decide at bar t from bars 0..t only. The check runs it on all the bars,
    then again on bars ``0..t`` for several cut points t, and asks that what it decided at
    bars 0..t be identical whether or not the bars after t exist: the orders a backtrader
    strategy places (bar, data, side, size; recorded by a subclass that wraps ``buy`` and
    ``sell``, the strategy's own code unchanged), a fast strategy's signal. Decisions, not
    fills: the order placed at the last bar t has no bar t + 1 to fill on.
    A strategy that peeks (``close[t + 1]`` in a signal function, ``self.data.close[1]`` in
    backtrader) fails with the first bar where the orders differ, or with the error it raised
    when the bars after t were missing.
Parity (fast strategies)
    The fast engine and backtrader's broker must give the same orders and the same final
    value (relative tolerance 1e-9) under percent sizing, a commission and shorts.

::

    from research_lab.core.strategies import check_strategy

    def test_my_strategy_does_not_peek(bars):
        check_strategy("my_pkg.mod.MyStrategy", bars).raise_for_failure()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._ref import StrategyError

PARITY_BROKER = {"sizing": "percent", "percent": 95.0, "commission": 0.001, "allow_short": True}
RTOL = 1e-9


@dataclass(frozen=True)
class Outcome:
    check: str
    ok: bool
    detail: str


@dataclass
class StrategyCheck:
    """What :func:`check_strategy` found; ``ok`` when every check passed."""

    strategy: str
    kind: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    def lines(self) -> list[str]:
        return [f"{'PASS' if o.ok else 'FAIL'} {o.check}: {o.detail}" for o in self.outcomes]

    def raise_for_failure(self) -> None:
        """``AssertionError`` listing the failed checks (for a researcher's own tests)."""
        failed = [line for line in self.lines() if line.startswith("FAIL")]
        if failed:
            raise AssertionError(f"{self.strategy}: " + "; ".join(failed))


def default_bars(symbols: Sequence[str] = ("ACME",)) -> list[pd.DataFrame]:
    """Four years of the synthetic source's bars per symbol (no store, no network)."""
    from research_lab.core.marketdata.sources import make_source

    source = make_source("synthetic")
    return [source.fetch(s, dt.date(2019, 1, 1), dt.date(2022, 12, 31)) for s in symbols]


def _first_difference(a: pd.DataFrame, b: pd.DataFrame) -> int | None:
    """Position of the first fill that differs (date, side, data, size, price), or None."""
    cols = [c for c in ("date", "side", "data") if c in a.columns]
    for k in range(max(len(a), len(b))):
        if k >= len(a) or k >= len(b):
            return k
        ra, rb = a.iloc[k], b.iloc[k]
        if any(ra[c] != rb[c] for c in cols) or not np.allclose(
                [ra["size"], ra["price"]], [rb["size"], rb["price"]], rtol=1e-12, atol=0):
            return k
    return None


def _describe(orders: pd.DataFrame, k: int) -> str:
    if k >= len(orders):
        return "no order"
    r = orders.iloc[k]
    return f"{r['side']} {r['size']:g} @ {r['price']:.6g} on {pd.Timestamp(r['date']).date()}"


def _first_signal_difference(a: np.ndarray, b: np.ndarray) -> int | None:
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return None if same.all() else int(np.flatnonzero(~same)[0])


def _recording(ref):
    """``ref`` with its class subclassed to record every order it places: (bar, data, side,
    size) at the bar it is placed. The strategy's own code runs unchanged."""
    import dataclasses

    placed: list[tuple[int, int, str, float]] = []

    def note(strategy, order, side):
        if order is not None:
            data = strategy.datas.index(order.data)
            placed.append((len(strategy.datas[0]) - 1, data, side, float(order.created.size)))
        return order

    class Recording(ref.cls):
        def buy(self, *args, **kwargs):
            return note(self, super().buy(*args, **kwargs), "buy")

        def sell(self, *args, **kwargs):
            return note(self, super().sell(*args, **kwargs), "sell")

    Recording.__name__ = ref.cls.__name__
    return dataclasses.replace(ref, cls=Recording, _instance=[]), placed


def _decisions(ref, resolved, settings):
    """``decide(bars, feeds) -> list`` of what the strategy decided at each bar."""
    from research_lab.core.backtest.api import run_backtest
    from research_lab.core.backtest.prices import prices_from_bars

    from .signal import strategy_signal_array

    if ref.kind == "fast":
        return lambda b, f: strategy_signal_array(ref, prices_from_bars(b), resolved)

    def decide(b, f):
        probe, placed = _recording(ref)
        run_backtest(b, probe, resolved, feeds=f, **settings)
        return placed
    return decide


def _first_order_difference(a: list, b: list, last: int) -> tuple[int, str, str] | None:
    a = [x for x in a if x[0] <= last]
    b = [x for x in b if x[0] <= last]
    for k in range(max(len(a), len(b))):
        if k >= len(a) or k >= len(b) or a[k] != b[k]:
            row = a[k] if k < len(a) else b[k]

            def text(rows):
                return "no order" if k >= len(rows) else f"{rows[k][2]} {rows[k][3]:g} (data {rows[k][1]})"
            return row[0], text(a), text(b)
    return None


def _cuts(n: int, count: int) -> list[int]:
    first = max(2, n // 4)
    return sorted({int(t) for t in np.linspace(first, n - 2, count)})


def lookahead(ref, resolved, settings, bars: pd.DataFrame, feeds: Sequence[pd.DataFrame],
              cuts: int) -> Outcome:
    """What the strategy decides at bars 0..t is the same with and without the bars after t
    (a fast strategy's signal; a backtrader strategy's orders placed), at ``cuts`` points."""
    decide = _decisions(ref, resolved, settings)
    full = decide(bars, feeds)
    sessions = pd.DatetimeIndex(bars["session"])
    points = _cuts(len(bars), cuts)
    for t in points:
        last = sessions[t]
        heads = [f.loc[pd.DatetimeIndex(f["session"]) <= last] for f in feeds]
        try:
            cut = decide(bars.iloc[: t + 1], heads)
        except StrategyError as exc:
            return Outcome("look-ahead", False, f"fails when the bars after bar {t} ({last.date()}) "
                           f"are removed (does it read a later bar?): {exc}")
        if ref.kind == "fast":
            k = _first_signal_difference(full[: t + 1], cut)
            if k is not None:
                return Outcome("look-ahead", False,
                               f"signal differs at bar {k} ({sessions[k].date()}) when the bars "
                               f"after bar {t} are removed: {full[k]!r} with them, {cut[k]!r} "
                               "without: the strategy uses data from after the bar")
            continue
        diff = _first_order_difference(full, cut, t)
        if diff is not None:
            bar, with_, without = diff
            return Outcome("look-ahead", False,
                           f"orders differ at bar {bar} ({sessions[bar].date()}) when the bars "
                           f"after bar {t} are removed: with them {with_}, without them {without}: "
                           "the strategy uses data from after the bar")
    what = "signal" if ref.kind == "fast" else f"orders ({len(full)} placed)"
    return Outcome("look-ahead", True, f"{what} identical with and without later bars at "
                   f"{len(points)} cut points over {len(bars)} bars")


def parity(ref, bars: pd.DataFrame, params: Mapping[str, Any],
           broker: Mapping[str, Any]) -> Outcome:
    from research_lab.core.backtest.api import run_backtest

    fast = run_backtest(bars, ref, params, engine="fast", **broker)
    ref_run = run_backtest(bars, ref, params, engine="backtrader", **broker)
    k = _first_difference(fast.orders, ref_run.orders)
    if k is not None:
        return Outcome("parity", False, f"orders differ at order {k}: fast {_describe(fast.orders, k)}"
                       f", backtrader {_describe(ref_run.orders, k)}")
    if not np.isclose(fast.final_value, ref_run.final_value, rtol=RTOL, atol=0):
        return Outcome("parity", False, f"final value fast {fast.final_value!r} != backtrader "
                       f"{ref_run.final_value!r}")
    return Outcome("parity", True, f"fast and backtrader: same {len(fast.orders)} orders, same "
                   f"final value {fast.final_value:,.2f} ({', '.join(f'{k}={v}' for k, v in broker.items())})")


def check_strategy(
    strategy: Any,
    bars: pd.DataFrame | None = None,
    feeds: Sequence[pd.DataFrame] = (),
    params: Mapping[str, Any] | None = None,
    *,
    cuts: int = 8,
    broker: Mapping[str, Any] | None = None,
    paths: Sequence[str] = (),
) -> StrategyCheck:
    """Run the checks on ``strategy`` (a name, a reference or a StrategyRef) over ``bars``
    (default: synthetic ACME bars) and ``feeds`` (more symbols for a backtrader strategy)."""
    from research_lab.core.backtest.strategies import resolve_strategy

    from .discovery import get_strategy

    ref = strategy if not isinstance(strategy, str) else get_strategy(strategy, paths)
    ref = resolve_strategy(ref)
    resolved = ref.resolve(params)
    if bars is None:
        bars = default_bars()[0]
    bars = bars.reset_index(drop=True)
    settings = dict(broker or {})

    report = StrategyCheck(ref.name, ref.kind)
    report.outcomes.append(lookahead(ref, resolved, settings, bars, list(feeds), cuts))
    if ref.kind == "fast":
        report.outcomes.append(parity(ref, bars, resolved, {**PARITY_BROKER, **settings}))
    return report
