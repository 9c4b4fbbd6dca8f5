"""Studies of a multi-data strategy: several symbols feed ONE backtrader strategy in every trial.

``research-lab optimize --strategy pairs.py:PairsSpread --symbols ACME GLOBEX --together``
runs one study whose trials hand all the symbols to the strategy as backtrader ``datas`` (in
the order given: ``self.datas[0]`` is the first), the way ``backtest --together`` does. The
first symbol is the study's ``symbol``; the others are its ``feeds``
(:class:`~.definition.StudyDefinition`), so the Dagster partition stays
``strategy|symbol`` and the asset's / API's ``feeds`` list names the others.

* **Limits**: 2 to :data:`MAX_FEEDS` symbols, no symbol twice (:func:`check_feed_symbols`;
  the CLI exits 2 naming the problem). Every feed is one more data in every fold's backtrader
  run (``benchmarks/strategy_study_speed.py``: the two-data PairsSpread runs at about half a
  one-data strategy's trials/s), and one more store query and gate per request: the bound
  keeps one request (CLI, asset, API) from asking for an unbounded amount of work.
* **Which strategies**: backtrader strategies only (a fast strategy's signal is a function of
  one symbol's bars).
* **Sessions**: every feed is quality-gated like the symbol, then all are cut to the sessions
  they share (:func:`research_lab.core.strategies.feeds.align_feeds`) before the walk-forward
  plan is made; the study's data version covers every feed's bars, so a worker on another
  machine searches the same data.
* **Buy-and-hold baseline** (:func:`buy_hold_returns`): equal weight over the feeds: the
  account's cash is split into one equal sleeve per feed and each sleeve is long from the
  fold's first bar through the lab's broker kernel (same sizing, commission, slippage as a
  single-symbol study's buy-and-hold, which is the one-feed case), on the same folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_FEEDS = 8


def check_feed_symbols(symbols: Sequence[str], where: str = "--symbols") -> tuple[str, ...]:
    """The symbols of a multi-feed study, validated: 2..MAX_FEEDS of them, each a valid symbol,
    none twice. Raises ``ValueError`` (an :class:`~research_lab.core.inputs.InputError`)."""
    from research_lab.core.inputs import InputError, symbol

    out = [symbol(s, where) for s in symbols]
    if len(out) < 2:
        raise InputError(f"{where}: symbols together need at least 2 symbols, got {len(out)}")
    if len(out) > MAX_FEEDS:
        raise InputError(f"{where}: {len(out)} symbols together; at most {MAX_FEEDS} feed one "
                         "strategy")
    twice = sorted({s for s in out if out.count(s) > 1})
    if twice:
        raise InputError(f"{where}: {', '.join(twice)} given twice")
    return tuple(out)


def require_backtrader(ref: Any) -> None:
    """Several feeds need a backtrader strategy (``ValueError`` otherwise)."""
    if ref.kind != "backtrader":
        raise ValueError(f"{ref.name} is a fast strategy: it runs on one symbol; several "
                         "symbols together need a backtrader strategy")


def label(symbol: str, feeds: Sequence[str] = ()) -> str:
    """``ACME`` or ``ACME+GLOBEX``: how reports and runs name what a study traded."""
    return "+".join([symbol, *feeds])


def feeds_data_version(bars: Any, feeds: Sequence[Any] = ()) -> str:
    """The data version of the symbol's bars and its feeds' together."""
    import pandas as pd

    from research_lab.core.marketdata.schema import data_version

    return data_version(pd.concat([bars, *feeds], ignore_index=True) if feeds else bars)


def load_in_sample_feeds(defn: Any, store_url: str | None = None) -> tuple[Any, list[Any]]:
    """A worker's in-sample bars of ``defn.symbol`` and of ``defn.feeds`` from its own store,
    aligned as when the study was created and checked against its data version."""
    import datetime as dt

    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.optimize.storage import StorageError, mask
    from research_lab.core.settings import load_settings
    from research_lab.core.strategies.feeds import align_feeds

    url = store_url or load_settings().resolved_store_url
    first, last = dt.date.fromisoformat(defn.start), dt.date.fromisoformat(defn.end)
    store = BarStore.from_url(url)
    try:
        frames = [store.read_bars(s, first, last) for s in (defn.symbol, *defn.feeds)]
    finally:
        store.close()
    names = label(defn.symbol, defn.feeds)
    try:
        bars, feeds, _ = align_feeds(frames[0], frames[1:])
        version = feeds_data_version(bars, feeds)
    except (ValueError, KeyError):
        version = "(none)"
    if version != defn.data_version:
        raise StorageError(
            f"the bars of {names} {defn.start}..{defn.end} in {mask(url)} have data version "
            f"{version}, the study was created on {defn.data_version}: this worker would "
            "search different data")
    return defn.plan.in_sample(bars), [defn.plan.in_sample(f) for f in feeds]


def buy_hold_returns(prices: Sequence[Any], broker: Any, start: int, stop: int) -> Any:
    """Per-bar simple returns of equal-weight buy-and-hold over ``prices`` (one
    :class:`~research_lab.core.backtest.prices.Prices` per feed) on bars ``start..stop-1``:
    a fresh account of ``broker.cash`` split in ``len(prices)`` equal sleeves, each long on
    every bar through the broker kernel; the first return is against the starting cash."""
    import numpy as np

    from research_lab.core.backtest.kernels import simulate

    n = stop - start
    args = list(broker.kernel_args())
    args[0] = float(broker.cash) / len(prices)          # one equal sleeve per feed
    long = np.ones(n, dtype=np.float64)
    total = np.zeros(n)
    for p in prices:
        equity, size, price, comm = (np.empty(n) for _ in range(4))
        bar = np.empty(n, dtype=np.int64)
        simulate(p.open[start:stop], p.close[start:stop], long, *args,
                 equity, bar, size, price, comm)
        total += equity
    out = np.empty(n)
    out[0] = total[0] / broker.cash - 1.0
    out[1:] = total[1:] / total[:-1] - 1.0
    return out


def buy_hold_value(evaluator: Any, plan: Any, score: Any) -> float:
    """The objective's first metric for equal-weight buy-and-hold over the evaluator's symbol
    and feeds, averaged over ``plan``'s folds (the study's in-sample folds and broker)."""
    import math

    prices = [evaluator.prices, *getattr(evaluator, "feeds", ())]
    values = [score(buy_hold_returns(prices, evaluator.broker, f.start, f.stop),
                    evaluator.sessions[f.start:f.stop])[0] for f in plan.folds]
    return float(sum(values) / len(values)) if values else math.nan
