"""The calls most users need: :func:`run_backtest`, :func:`sweep`, and :func:`run_signal` for
a signal computed elsewhere (a learned policy's positions)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .costs import BrokerConfig
from . import fastmetrics
from .fastmetrics import PERIODS_PER_YEAR
from .params import ParameterError, get_space
from .prices import Prices, prices_from_bars
from .result import SWEEP_COLUMNS, BacktestResult, make_result, orders_frame
from .strategies import rule_for, strategy_rule

ENGINES = ("fast", "backtrader")


def _engine(engine: str):
    if engine == "fast":
        from .fast_engine import run_fast

        return run_fast
    if engine == "backtrader":
        from .bt_engine import run_backtrader

        return run_backtrader
    raise ParameterError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")


def _broker(settings: Mapping[str, Any]) -> BrokerConfig:
    """A :class:`BrokerConfig` from keyword settings; an unknown one is named."""
    valid = [f.name for f in dataclasses.fields(BrokerConfig)]
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise ParameterError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    return BrokerConfig(**settings)


def run_backtest(
    bars: pd.DataFrame | Prices,
    strategy: str,
    params: Mapping[str, Any] | None = None,
    *,
    engine: str = "fast",
    **broker: Any,
) -> BacktestResult:
    """Backtest ``strategy`` with ``params`` (defaults from ``config/strategies.yaml``) on
    one symbol's ``bars``; market orders fill at the next bar's open.

    ``broker``: :class:`~.costs.BrokerConfig` fields (``cash``, ``sizing``, ``stake``,
    ``percent``, ``commission``, ``mult``, ``margin``, ``allow_short``); unset ones keep
    :class:`~.costs.BrokerConfig`'s defaults, the lab's one broker (the use cases pass
    :func:`~.costs.load_broker`'s, which also reads ``config/research_lab.yaml``).
    ``sizing="fixed"`` trades ``stake`` units; ``sizing="percent"`` trades
    ``floor(value * percent / 100 / price)`` units (``/ margin`` when futures-like).
    ``commission`` is a fraction of traded value, or money per contract when ``margin`` is
    set (backtrader's futures-like scheme, with multiplier ``mult``). Any invalid argument
    raises :class:`~.params.ParameterError` (a ``ValueError``) naming it.
    """
    run = _engine(engine)
    broker = _broker(broker)
    resolved, rule = strategy_rule(strategy, params)
    return run(prices_from_bars(bars), strategy, resolved, rule, broker)


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
    space = get_space(strategy)
    if param_grid is None:
        param_grid = {p.name: p.values() for p in space.params}
    combos = space.grid(param_grid, constraints=constraints)
    config = _broker(broker)
    prices = prices_from_bars(bars)
    if not combos:
        return pd.DataFrame(columns=[*space.names, *SWEEP_COLUMNS])
    if engine == "fast":
        from .fast_engine import sweep_fast

        return sweep_fast(prices, strategy, combos, config, periods)
    run = _engine(engine)
    rows = []
    for combo in combos:
        result = run(prices, strategy, combo, rule_for(strategy, combo), config)
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
    config = _broker(broker)
    if engine not in ENGINES:
        raise ParameterError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
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
