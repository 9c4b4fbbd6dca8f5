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


def broker_from(settings: Mapping[str, Any]) -> BrokerConfig:
    """A :class:`BrokerConfig` from keyword settings; an unknown name raises, listing the
    valid ones."""
    valid = [f.name for f in dataclasses.fields(BrokerConfig)]
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise ParameterError(f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    return BrokerConfig(**settings)


def prepare_prices(bars: pd.DataFrame | Prices, broker: BrokerConfig) -> Prices:
    """The prices a run uses: the gap check (:mod:`.gaps`) and the price basis applied.

    A :class:`Prices` given directly keeps its own basis (it must equal the setting) and
    gap outcome; one that was never checked is checked here (``fill`` needs a bar frame)."""
    from .gaps import check_gaps, find_gaps

    if isinstance(bars, Prices):
        prices = prices_from_bars(bars, broker.price_basis)
        if prices.gaps is not None:
            return prices
        found = find_gaps(prices.sessions)
        if found["missing_sessions"] and broker.gaps != "ignore":
            raise ParameterError(
                f"{prices.symbol}: {found['missing_sessions']} calendar session(s) missing "
                f"(first {', '.join(found['first_missing'])}); gaps={broker.gaps!r} needs the "
                "bar frame (or set gaps='ignore')"
            )
        found.pop("_missing")
        return dataclasses.replace(prices, gaps={"policy": broker.gaps, **found})
    if not isinstance(bars, pd.DataFrame):
        return prices_from_bars(bars, broker.price_basis)  # raises, naming what was given
    symbol = str(bars["symbol"].iloc[0]) if "symbol" in bars.columns and len(bars) else "bars"
    if len(bars) >= 2 and "session" in bars.columns:
        bars, outcome = check_gaps(bars, broker.gaps, symbol)
    else:
        outcome = None
    prices = prices_from_bars(bars, broker.price_basis)
    return dataclasses.replace(prices, gaps=outcome)


def run_backtest(
    bars: pd.DataFrame | Prices,
    strategy: str | Any,
    params: Mapping[str, Any] | None = None,
    *,
    engine: str = "auto",
    feeds: Sequence[pd.DataFrame] = (),
    **broker: Any,
) -> BacktestResult:
    """Backtest ``strategy`` with ``params`` (unset ones: the strategy's defaults) on one
    symbol's ``bars``; market orders fill at the next bar's open.

    ``strategy`` is a registered name (``sma_cross``), a reference (``pkg.mod.Class``,
    ``file.py:Class``) or a :class:`~research_lab.core.strategies.StrategyRef`.
    ``engine="auto"`` runs a fast strategy on the fast engine and a backtrader strategy on
    backtrader; ``"backtrader"`` also runs a fast strategy (for comparison). ``feeds``: more
    symbols' bars, given to a backtrader strategy as ``self.datas[1:]`` (sessions aligned on
    the ones all share).

    ``broker`` takes the fields of :class:`~.costs.BrokerConfig` (``cash``, ``sizing``,
    ``stake``, ``percent``, ``commission``, ``mult``, ``margin``, ``allow_short``, slippage,
    spread, margins, ``price_basis``, ``gaps``, ``risk_free_rate``; see :mod:`.costs`).
    ``sizing="fixed"`` trades ``stake`` units; ``sizing="percent"`` trades
    ``floor(value * percent / 100 / price)`` units (``/ margin`` when futures-like).
    ``commission`` is a fraction of traded value, or money per contract when ``margin`` is
    set (backtrader's futures-like scheme, with multiplier ``mult``). Any invalid argument
    raises :class:`~.params.ParameterError` (a ``ValueError``) naming it.
    """
    from .strategies import resolve_strategy

    ref = resolve_strategy(strategy)
    engine = _pick_engine(ref, engine, feeds)
    broker = broker_from(broker)
    resolved = ref.resolve(params)
    if ref.kind == "backtrader":
        from research_lab.core.strategies.bt_runner import run_backtrader_strategy

        named = [_named(bars), *(_named(f) for f in feeds)]
        return run_backtrader_strategy(ref, named, resolved, broker)
    prices = prepare_prices(bars, broker)
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
    config = broker_from(broker)
    prices = prepare_prices(bars, config)
    if not combos:
        return pd.DataFrame(columns=[*space.names, *SWEEP_COLUMNS])
    if engine == "fast" and ref.kind == "fast" and ref.fast().has_rule():
        from .fast_engine import sweep_fast

        return sweep_fast(prices, ref, combos, config, periods)
    rows = []
    for combo in combos:
        result = run_backtest(prices, ref, combo, engine=engine, **config.to_dict())
        s = fastmetrics.summary(result.equity.to_numpy(), config.cash, periods)
        rows.append({
            **combo, "final_value": result.final_value, "final_cash": result.final_cash,
            "total_return": s["total_return"], "sharpe": s["sharpe"],
            "max_drawdown": s["max_drawdown"], "fills": len(result.orders),
            "rejected": result.rejected_orders, "margin_calls": result.margin_calls,
            "bankrupt": result.bankrupt_session is not None,
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
    config = broker_from(broker)
    if engine not in ENGINES:
        raise ParameterError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
    prices = prepare_prices(bars, config)
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
    from .fast_engine import run_fast_signal

    return run_fast_signal(prices, signal, broker, name, params)


def _signal_backtrader(
    prices: Prices, signal: np.ndarray, broker: BrokerConfig, name: str, params: dict
) -> BacktestResult:
    from .bt_engine import run_backtrader_signal

    return run_backtrader_signal(prices, signal, broker, name, params)
