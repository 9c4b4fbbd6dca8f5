"""The calls most users need: :func:`run_backtest`, :func:`sweep`, and :func:`run_signal` for
a signal computed elsewhere (a learned policy's positions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .costs import BrokerConfig
from . import fastmetrics
from .fastmetrics import PERIODS_PER_YEAR
from .params import ParameterError
from .prices import Prices, prices_from_bars
from .result import SWEEP_COLUMNS, BacktestResult, make_result, orders_frame

ENGINES = ("fast", "backtrader")


def _engine(engine: str):
    if engine == "fast":
        from .fast_engine import run_fast

        return run_fast
    if engine == "backtrader":
        from .bt_engine import run_backtrader

        return run_backtrader
    raise ParameterError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")


def run_backtest(
    bars: pd.DataFrame | Prices,
    strategy: str | Any,
    params: Mapping[str, Any] | None = None,
    *,
    engine: str = "auto",
    cash: float = 10_000.0,
    sizing: str = "fixed",
    stake: float = 1.0,
    percent: float = 95.0,
    commission: float = 0.0,
    mult: float = 1.0,
    margin: float | None = None,
    allow_short: bool = False,
    feeds: Sequence[pd.DataFrame] = (),
) -> BacktestResult:
    """Backtest ``strategy`` with ``params`` (unset ones: the strategy's defaults) on one
    symbol's ``bars``; market orders fill at the next bar's open.

    ``strategy`` is a registered name (``sma_cross``), a reference (``pkg.mod.Class``,
    ``file.py:Class``) or a :class:`~research_lab.core.strategies.StrategyRef`.
    ``engine="auto"`` runs a fast strategy on the fast engine and a backtrader strategy on
    backtrader; ``"backtrader"`` also runs a fast strategy (for comparison). ``feeds``: more
    symbols' bars, given to a backtrader strategy as ``self.datas[1:]`` (sessions aligned on
    the ones all share).

    ``sizing="fixed"`` trades ``stake`` units; ``sizing="percent"`` trades
    ``floor(value * percent / 100 / price)`` units (``/ margin`` when futures-like).
    ``commission`` is a fraction of traded value, or money per contract when ``margin`` is
    set (backtrader's futures-like scheme, with multiplier ``mult``). Any invalid argument
    raises :class:`~.params.ParameterError` (a ``ValueError``) naming it.
    """
    from .strategies import resolve_strategy

    ref = resolve_strategy(strategy)
    engine = _pick_engine(ref, engine, feeds)
    broker = BrokerConfig(
        cash=cash, sizing=sizing, stake=stake, percent=percent, commission=commission,
        mult=mult, margin=margin, allow_short=allow_short,
    )
    resolved = ref.resolve(params)
    if ref.kind == "backtrader":
        from research_lab.core.strategies.bt_runner import run_backtrader_strategy

        named = [_named(bars), *(_named(f) for f in feeds)]
        return run_backtrader_strategy(ref, named, resolved, broker)
    prices = prices_from_bars(bars)
    rule = ref.rule(resolved)
    if rule is None:  # a fast strategy with its own signal function
        from research_lab.core.strategies.signal import strategy_signal_array

        signal = strategy_signal_array(ref, prices, resolved)
        return run_signal(prices, signal, engine=engine, name=ref.name, params=resolved,
                          **broker.to_dict())
    return _engine(engine)(prices, ref.name, resolved, rule, broker)


def _named(bars: pd.DataFrame | Prices) -> tuple[str, Any]:
    if isinstance(bars, Prices):
        return bars.symbol, bars
    symbol = str(bars["symbol"].iloc[0]) if "symbol" in bars.columns and len(bars) else "data"
    return symbol, bars


def _pick_engine(ref: Any, engine: str, feeds: Sequence[Any]) -> str:
    if engine not in (*ENGINES, "auto"):
        raise ParameterError(f"unknown engine {engine!r}; valid engines: auto, {', '.join(ENGINES)}")
    if ref.kind == "backtrader":
        if engine == "fast":
            raise ParameterError(f"{ref.name} is a backtrader strategy: it runs on the backtrader "
                                 "engine (engine auto or backtrader), not fast")
        return "backtrader"
    if feeds:
        raise ParameterError(f"{ref.name} is a fast strategy: it runs on one symbol; several "
                             "symbols together need a backtrader strategy")
    return "fast" if engine == "auto" else engine


def sweep(
    bars: pd.DataFrame | Prices,
    strategy: str,
    param_grid: Mapping[str, Iterable[Any]] | None = None,
    *,
    engine: str = "fast",
    constraints: bool = True,
    periods: int = PERIODS_PER_YEAR,
    **broker: Any,
) -> pd.DataFrame:
    """Backtest every combination of ``param_grid`` (name -> candidate values; a missing
    name keeps its default; ``None`` = the space's own grid from its steps).

    Returns one row per combination: the parameters, ``final_value``, ``final_cash``,
    ``total_return``, ``sharpe``, ``max_drawdown``, ``fills``, ``rejected``. Combinations
    that break a constraint (``fast < slow``) are dropped unless ``constraints=False``.
    ``engine="backtrader"`` loops over :func:`run_backtest` (~0.4 s per 5,000-bar run) and
    returns the same table. ``broker`` takes :func:`run_backtest`'s keyword settings.
    """
    from .strategies import resolve_strategy

    ref = resolve_strategy(strategy)
    space = ref.space
    if param_grid is None:
        param_grid = {p.name: p.values() for p in space.params}
    combos = space.grid(param_grid, constraints=constraints)
    valid = [f.name for f in dataclasses.fields(BrokerConfig)]
    unknown = sorted(set(broker) - set(valid))
    if unknown:
        raise ParameterError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    config = BrokerConfig(**broker)
    prices = prices_from_bars(bars)
    if not combos:
        return pd.DataFrame(columns=[*space.names, *SWEEP_COLUMNS])
    if engine == "fast" and ref.kind == "fast" and ref.fast().has_rule():
        from .fast_engine import sweep_fast

        return sweep_fast(prices, ref.name, combos, config, periods)
    rows = []
    for combo in combos:
        result = run_backtest(prices, ref, combo, engine=engine, **config.to_dict())
        s = fastmetrics.summary(result.equity.to_numpy(), config.cash, periods)
        rows.append({
            **combo, "final_value": result.final_value, "final_cash": result.final_cash,
            "total_return": s["total_return"], "sharpe": s["sharpe"],
            "max_drawdown": s["max_drawdown"], "fills": len(result.orders),
            "rejected": result.rejected_orders,
        })
    return pd.DataFrame(rows)


def run_signal(
    bars: pd.DataFrame | Prices,
    signal: pd.Series | np.ndarray | Iterable[float],
    *,
    engine: str = "fast",
    name: str = "signal",
    params: Mapping[str, Any] | None = None,
    **broker: Any,
) -> BacktestResult:
    """Backtest a precomputed ``signal`` (a learned policy's actions, a signal built in a
    notebook) exactly as a strategy's signal is backtested: same engines, same broker.

    ``signal`` has one value per bar with the meaning of :mod:`.signals` (+1 long, -1 short or
    flat, 0 flat, NaN hold): an array of ``len(bars)`` values, or a ``pd.Series`` indexed by
    session (sessions it lacks are NaN, "hold"; a session the bars lack is an error). The
    value at bar t is acted on at bar t + 1's open. ``name`` and ``params`` label the result
    (its ``strategy`` and ``params``); ``broker`` takes :func:`run_backtest`'s keyword
    settings (``cash``, ``sizing``, ``commission``, ...).
    """
    valid = [f.name for f in dataclasses.fields(BrokerConfig)]
    unknown = sorted(set(broker) - set(valid))
    if unknown:
        raise ParameterError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    if engine not in ENGINES:
        raise ParameterError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
    config = BrokerConfig(**broker)
    prices = prices_from_bars(bars)
    values = _signal_values(signal, prices)
    runner = _signal_fast if engine == "fast" else _signal_backtrader
    return runner(prices, values, config, name, dict(params or {}))


def _signal_values(signal: Any, prices: Prices) -> np.ndarray:
    if isinstance(signal, pd.Series):
        index = pd.DatetimeIndex(signal.index)
        extra = index.difference(prices.sessions)
        if len(extra):
            raise ParameterError(
                f"signal: {len(extra)} session(s) not in the bars, first {extra[0].date()}"
            )
        signal = signal.set_axis(index).reindex(prices.sessions)
    values = np.ascontiguousarray(np.asarray(signal, dtype=np.float64))
    if values.shape != (len(prices),):
        raise ParameterError(f"signal: need {len(prices)} values (one per bar), got {values.shape}")
    known = np.isnan(values) | np.isin(values, (-1.0, 0.0, 1.0))
    if not known.all():
        bad = int(np.flatnonzero(~known)[0])
        raise ParameterError(
            f"signal: values must be +1, -1, 0 or NaN; bar {bad} "
            f"({prices.sessions[bad].date()}) is {values[bad]!r}"
        )
    return values


def _signal_fast(
    prices: Prices, signal: np.ndarray, broker: BrokerConfig, name: str, params: dict
) -> BacktestResult:
    from .kernels import simulate

    n = len(prices)
    equity, fill_size, fill_price, fill_comm = (np.empty(n) for _ in range(4))
    fill_bar = np.empty(n, dtype=np.int64)
    cash, fills, rejected, _, _, _ = simulate(
        prices.open, prices.close, signal, *broker.kernel_args(),
        equity, fill_bar, fill_size, fill_price, fill_comm,
    )
    orders = orders_frame(prices.sessions, fill_bar[:fills], fill_size[:fills],
                          fill_price[:fills], fill_comm[:fills])
    return make_result(
        strategy=name, params=params, engine="fast", broker=broker.to_dict(),
        sessions=prices.sessions, equity=equity, final_cash=cash,
        final_position=float(fill_size[:fills].sum()), orders=orders, rejected=rejected,
    )


def _signal_backtrader(
    prices: Prices, signal: np.ndarray, broker: BrokerConfig, name: str, params: dict
) -> BacktestResult:
    # the engine's own Cerebro set-up (bt_engine.run_backtrader), fed this signal
    import backtrader as bt

    from .bt_engine import _classes, bars_frame

    feed_cls, strategy_cls = _classes()
    cerebro = bt.Cerebro(stdstats=False, maxcpus=1)
    cerebro.adddata(feed_cls(dataname=bars_frame(prices, signal)))
    cerebro.broker.setcash(broker.cash)
    cerebro.broker.setcommission(commission=broker.commission, margin=broker.margin,
                                 mult=broker.mult)
    cerebro.addstrategy(
        strategy_cls, fixed=broker.sizing == "fixed", stake=float(broker.stake),
        fraction=float(broker.percent) / 100.0, stocklike=broker.stocklike,
        margin=float(broker.margin) if broker.margin is not None else 1.0,
        allow_short=broker.allow_short,
    )
    strat = cerebro.run()[0]
    fills = np.array(strat.fills, dtype=np.float64).reshape(-1, 4)
    return make_result(
        strategy=name, params=params, engine="backtrader", broker=broker.to_dict(),
        sessions=prices.sessions, equity=np.array(strat.equity, dtype=np.float64),
        final_cash=float(cerebro.broker.getcash()), final_position=float(strat.position.size),
        orders=orders_frame(prices.sessions, fills[:, 0], fills[:, 1], fills[:, 2], fills[:, 3]),
        rejected=strat.rejected,
    )
