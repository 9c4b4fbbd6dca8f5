"""What a trial scores, and the hot path that scores it.

Metrics
    Any returns-based metric of :mod:`research_lab.core.metrics` (the 32 of its performance and
    risk groups; trade and benchmark metrics need inputs a trial does not produce). Six of them
    (:data:`FAST`: ``total_return``, ``cagr``, ``volatility``, ``sharpe_ratio``,
    ``sortino_ratio``, ``max_drawdown``) come from :func:`~research_lab.core.metrics.fast_metrics`
    in ~50 us; the others go through the full report (~0.1 s per fold, quantstats), which is
    fine for a backtrader-speed study and slow for a 1 ms one. Sharpe is the default.

Directions
    Each metric has a natural direction (:func:`natural_direction`): ``maximize`` for returns
    and ratios and for ``max_drawdown`` (a negative number: closer to 0 is better),
    ``minimize`` for volatility, ulcer index, drawdown duration and losing streaks. A study may
    override it.

Drawdown-penalised Sharpe, user loss, minimum trades (:mod:`.losses`)
    ``sharpe_dd`` (Sharpe x (1 + max drawdown)) is a metric like the others; a user's loss
    function (``loss``: ``module:function``) replaces the metrics with one value to minimize
    (metric name ``custom_loss``). ``min_trades`` > 0 asks each trial for at least that many
    trades over its folds (see :mod:`.worker`: an Optuna constraint for the samplers that
    support them, else the trial is pruned as ``too_few_trades``).
    :func:`objective_from_config` is the one place the CLI, the Dagster asset and the HTTP
    API turn their settings into an :class:`ObjectiveSpec`.

Multi-objective
    :class:`ObjectiveSpec` takes one or more metrics, e.g. ``("sharpe_ratio", "max_drawdown")``
    with ``("maximize", "maximize")``: the study then returns a Pareto front (``best_trials``)
    instead of one best trial. Pruning is single-objective only (see :mod:`.sampler`).

Scores that are not numbers
    A flat equity curve (no trade) has an undefined Sharpe ratio (0 / 0). Such a fold scores
    ``nan_score`` (0.0 by default: no risk, no reward) so that the trial still informs the
    sampler; infinities are clipped to +-1e6.

:class:`Evaluator` holds one symbol's prices and the strategy's indicator cache for the
whole study (an SMA of length 20 is computed once, then reused by every trial that asks for
it) and returns a trial's per-bar returns over any slice of sessions: the compiled signal and
fill kernels of :mod:`research_lab.core.backtest`, with no pandas in the loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FAST = ("total_return", "cagr", "volatility", "sharpe_ratio", "sortino_ratio", "max_drawdown")
MINIMIZE = ("volatility", "ulcer_index", "max_drawdown_duration_days", "max_consecutive_losses")
DIRECTIONS = ("maximize", "minimize")
CLIP = 1e6


def returns_metrics() -> tuple[str, ...]:
    """The metric names a trial can be scored by (returns-based)."""
    from research_lab.core.metrics import performance, risk

    return tuple(dict.fromkeys([*performance.DEFINITIONS, *risk.DEFINITIONS]))


def natural_direction(metric: str) -> str:
    from research_lab.core.optimize.losses import DERIVED_DIRECTIONS, LOSS_METRIC

    if metric == LOSS_METRIC:
        return "minimize"
    return DERIVED_DIRECTIONS.get(metric, "minimize" if metric in MINIMIZE else "maximize")


@dataclass(frozen=True)
class ObjectiveSpec:
    """The metric(s) a study optimizes and their directions."""

    metrics: tuple[str, ...] = ("sharpe_ratio",)
    directions: tuple[str, ...] = ("maximize",)
    nan_score: float = 0.0
    periods: int = 252
    loss: str | None = None        # module:function of a user's loss (metric custom_loss)
    min_trades: int = 0            # trades a trial needs over its folds (0: no minimum)

    @property
    def multi(self) -> bool:
        return len(self.metrics) > 1

    @property
    def primary(self) -> str:
        return self.metrics[0]

    def to_dict(self) -> dict[str, Any]:
        out = {"metrics": list(self.metrics), "directions": list(self.directions),
               "nan_score": self.nan_score, "periods": self.periods}
        if self.loss is not None:  # only when set: definitions of older studies still match
            out["loss"] = self.loss
        if self.min_trades:
            out["min_trades"] = self.min_trades
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectiveSpec:
        if data.get("loss"):
            return ObjectiveSpec(tuple(data["metrics"]), tuple(data["directions"]),
                                 float(data.get("nan_score", 0.0)), int(data.get("periods", 252)),
                                 data["loss"], int(data.get("min_trades", 0)))
        return objective_spec(list(data["metrics"]), list(data["directions"]),
                              nan_score=data.get("nan_score", 0.0), periods=data.get("periods", 252),
                              min_trades=int(data.get("min_trades", 0)))

    def scorer(self) -> Callable[[np.ndarray, Any], tuple[float, ...]]:
        """``f(returns, sessions) -> one score per metric`` (clean floats)."""
        from research_lab.core.optimize.losses import DERIVED, load_loss

        fast = all(m in FAST or m in DERIVED for m in self.metrics)
        metrics, nan_score, periods = self.metrics, self.nan_score, self.periods

        def clean(v: float) -> float:
            v = float(v)
            if math.isnan(v):
                return nan_score
            return max(-CLIP, min(CLIP, v))

        if self.loss is not None:
            fn = load_loss(self.loss)

            def loss(r: np.ndarray, sessions: Any = None) -> tuple[float, ...]:
                return (clean(fn(r)),)
            return loss

        if fast:
            from research_lab.core.metrics.fast import fast_metrics

            def score(r: np.ndarray, sessions: Any = None) -> tuple[float, ...]:
                if r.size < 2:
                    return tuple(nan_score for _ in metrics)
                out = fast_metrics(r, periods=periods)
                return tuple(clean(DERIVED[m](out) if m in DERIVED else out[m])
                             for m in metrics)
            return score

        def full(r: np.ndarray, sessions: Any = None) -> tuple[float, ...]:
            import pandas as pd

            from research_lab.core.metrics import performance_report

            if r.size < 2:
                return tuple(nan_score for _ in metrics)
            index = sessions if sessions is not None else pd.RangeIndex(r.size)
            out = performance_report(pd.Series(r, index=index), periods=periods)
            return tuple(clean(DERIVED[m](out) if m in DERIVED else out[m]) for m in metrics)
        return full


def objective_spec(metrics: str | Sequence[str] = "sharpe_ratio",
                   directions: str | Sequence[str | None] | None = None, *,
                   nan_score: float = 0.0, periods: int = 252,
                   min_trades: int = 0) -> ObjectiveSpec:
    """Validated :class:`ObjectiveSpec`; ``directions`` default to each metric's natural one.
    Raises ``ValueError`` naming a bad metric (with the valid ones) or direction."""
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise ValueError("an objective needs at least one metric")
    from research_lab.core.optimize.losses import DERIVED

    valid = (*returns_metrics(), *DERIVED)
    for m in names:
        if m not in valid:
            raise ValueError(f"unknown metric {m!r} for an objective; valid: {', '.join(valid)}")
    if len(set(names)) != len(names):
        raise ValueError(f"metric listed twice in {names}")
    if directions is None or isinstance(directions, str):
        directions = [directions] * len(names) if len(names) == 1 or directions is None else None
        if directions is None:
            raise ValueError("give one direction per metric")
    dirs = list(directions)
    if len(dirs) != len(names):
        raise ValueError(f"{len(names)} metric(s) but {len(dirs)} direction(s)")
    out = []
    for m, d in zip(names, dirs):
        d = d or natural_direction(m)
        if d not in DIRECTIONS:
            raise ValueError(f"direction {d!r} for {m} is not one of {', '.join(DIRECTIONS)}")
        out.append(d)
    if isinstance(min_trades, bool) or not isinstance(min_trades, int) or min_trades < 0:
        raise ValueError(f"min_trades must be an integer >= 0, got {min_trades!r}")
    return ObjectiveSpec(tuple(names), tuple(out), float(nan_score), int(periods),
                         min_trades=min_trades)


def objective_from_config(config: Any, metrics: str | Sequence[str] | None = None,
                          directions: str | Sequence[str | None] | None = None, *,
                          loss: str | None = None, min_trades: int | None = None,
                          option_prefix: str = "--") -> ObjectiveSpec:
    """The study's objective from ``config`` (an :class:`~.config.OptimizeConfig`) and the
    caller's overrides (CLI flags, Dagster config, API fields; ``None``: the config's).
    The one code path of the CLI, the asset and the API. A ``loss`` reference is loaded here
    (``ValueError`` naming it when it does not load), and excludes ``metrics``.
    ``option_prefix`` is how the caller's options are named in messages: ``--`` for CLI flags
    (``--loss``), ``config.`` for the Dagster run config (``config.loss``); a loss taken from
    the config file is named ``study.loss``."""
    from research_lab.core.optimize.losses import LOSS_METRIC, load_loss, normalize_reference

    study = config.study
    trades = study.min_trades if min_trades is None else min_trades
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(directions, str):
        directions = [directions]
    source = f"{option_prefix}loss"
    if loss is None and not metrics:
        loss, source = study.loss, "study.loss"
    if loss:
        if metrics:
            raise ValueError("give a metric or a loss function, not both")
        load_loss(loss, source)
        if directions and any(d not in (None, "minimize") for d in directions):
            raise ValueError(f"a loss function is minimized: {option_prefix}direction must be "
                             "minimize")
        base = objective_spec("sharpe_ratio", min_trades=trades)  # validates min_trades
        return ObjectiveSpec((LOSS_METRIC,), ("minimize",), base.nan_score, base.periods,
                             normalize_reference(loss), trades)
    names = list(metrics) if metrics else [study.metric]
    if not directions:
        directions = [study.direction] if not metrics else None
    return objective_spec(names, directions, min_trades=trades)


def count_trades(fill_sizes: np.ndarray) -> int:
    """Trades opened by a sequence of signed fills: a fill that opens a position from flat,
    or reverses one (long to short or back). Closing fills are not trades of their own."""
    pos = np.cumsum(fill_sizes)
    prev = pos - fill_sizes
    eps = 1e-12
    opened = (np.abs(prev) <= eps) & (np.abs(pos) > eps)
    flipped = prev * pos < -eps
    return int(np.count_nonzero(opened | flipped))


class Evaluator:
    """A strategy's per-bar returns on one symbol's prices, for any parameter set and slice.

    ``returns(params, start, stop)``: a fresh account (the broker's starting cash) trades the
    strategy's signal over bars ``start..stop-1`` and the per-bar simple returns come back
    (the first against the starting cash). The signal is computed once over all the prices
    the evaluator holds (no bar sees a later one), and the position the strategy would hold
    when the slice opens is carried in: a crossover strategy that has been long since before
    ``start`` buys at the slice's second open instead of waiting for the next cross.

    ``engine="backtrader"`` simulates each slice with the reference engine instead (the same
    signal and broker through :func:`research_lab.core.backtest.run_signal`): the same returns
    (identical on the 1,000-point ORCL grid of the benchmark) at ~400x the cost, for
    cross-checking a study and for benchmarks that need a reference-speed objective.

    ``feeds``: more symbols' bars (aligned on the same sessions) that a backtrader strategy
    gets as ``self.datas[1:]`` in every slice (a multi-feed study: :mod:`.feeds`).
    """

    def __init__(self, prices: Any, strategy: str, broker: Mapping[str, Any] | None = None,
                 engine: str = "fast", feeds: Sequence[Any] = ()) -> None:
        from research_lab.core.backtest.costs import BrokerConfig
        from research_lab.core.backtest.lines import LineCache
        from research_lab.core.backtest.params import get_space
        from research_lab.core.backtest.prices import prices_from_bars

        from research_lab.core.backtest.api import ENGINES

        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
        self.prices = prices_from_bars(prices)
        self.strategy = strategy
        self.engine = engine
        self.space = get_space(strategy)
        from research_lab.core.backtest.strategies import resolve_strategy

        self.ref = resolve_strategy(strategy)  # fast: signals here; backtrader: folds on bt
        self.feeds = tuple(prices_from_bars(f) for f in feeds)
        if self.feeds:
            from research_lab.core.optimize.feeds import require_backtrader

            require_backtrader(self.ref)
            if any(len(f) != len(self.prices) for f in self.feeds):
                raise ValueError("the feeds of a study must be aligned on the same sessions")
        self.broker = BrokerConfig(**dict(broker or {}))
        self._args = self.broker.kernel_args()
        self._cache = LineCache(self.prices)
        n = len(self.prices)
        self._fills: int | None = None
        self._buffers = tuple(np.empty(n) for _ in range(4)) + (np.empty(n, dtype=np.int64),)

    def __len__(self) -> int:
        return len(self.prices)

    @property
    def last_trades(self) -> int | None:
        """Trades of the last :meth:`returns` call (fast engine only; else None): counted
        on demand from the fill buffer, which the next call overwrites, so only studies with
        ``min_trades`` pay for it (about 20 us a fold, a third of a fast evaluation)."""
        if self._fills is None:
            return None
        return count_trades(self._buffers[1][:self._fills])

    @property
    def sessions(self):
        return self.prices.sessions

    def signal(self, params: Mapping[str, Any]) -> np.ndarray:
        """The strategy's signal over every bar (+1 / -1 / 0 / NaN hold), cached lines."""
        from research_lab.core.strategies.signal import strategy_signal_array

        if self.ref.kind == "backtrader":  # no separable signal: each fold runs its code
            return None
        return strategy_signal_array(self.ref, self.prices, params, self._cache)

    def returns(self, params: Mapping[str, Any], start: int = 0, stop: int | None = None,
                signal: np.ndarray | None = None) -> np.ndarray:
        from research_lab.core.backtest.kernels import simulate

        stop = len(self) if stop is None else stop
        self._fills = None  # fills of this call (fast engine only): see last_trades
        if self.ref.kind == "backtrader":  # the strategy's own code, on backtrader, per fold
            from research_lab.core.strategies.folds import backtrader_fold_returns

            return backtrader_fold_returns(self.ref, self.prices, params, start, stop, self.broker,
                                           feeds=self.feeds)
        sig = self.signal(params) if signal is None else signal
        part = np.array(sig[start:stop], dtype=np.float64)
        if start > 0 and math.isnan(part[0]):
            known = sig[:start + 1][~np.isnan(sig[:start + 1])]
            part[0] = known[-1] if known.size else math.nan
        n = stop - start
        if self.engine == "backtrader":
            from research_lab.core.backtest import run_signal

            equity = run_signal(self.prices.window(start, stop), part, engine="backtrader",
                                **self.broker.to_dict()).equity.to_numpy()
        else:
            equity, size, price, comm, bar = (b[:n] for b in self._buffers)
            p = self.prices
            fills = simulate(p.open[start:stop], p.close[start:stop], part, *self._args,
                             equity, bar, size, price, comm)[1]
            self._fills = int(fills)
        out = np.empty(n)
        out[0] = equity[0] / self.broker.cash - 1.0
        np.divide(equity[1:], equity[:-1], out=out[1:])
        out[1:] -= 1.0
        return out
