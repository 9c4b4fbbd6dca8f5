"""Walk-forward evaluation: in-sample folds that the pruner watches, and a held-out period.

The sessions of a study are cut once, before any trial runs::

    |<------------------------- in-sample (IS) ------------------------->|embargo|<-- OOS -->|
    |  fold 0       |  fold 1       |  fold 2       |  fold 3             |       |  held out |

* The last ``oos_fraction`` of the sessions (after an optional ``embargo_bars`` gap) is the
  out-of-sample (OOS) period. The study never sees it: workers get only the in-sample prices
  (:meth:`WalkForwardPlan.in_sample`), so no trial can read an OOS bar by construction.
* The in-sample period is split into ``folds`` consecutive, non-overlapping folds of (nearly)
  equal length. A trial backtests each fold in time order with a fresh account (indicators
  warmed up on the earlier bars, position carried in: :class:`~.objective.Evaluator`) and
  reports the fold's score as intermediate value ``step = fold``; the pruner may stop the
  trial there. The trial's value is the mean of its fold scores.
* When the study ends, the best parameters run once on the OOS period (warm-up on the
  in-sample history, which a trader would have had), and :func:`walk_forward_efficiency` is
  OOS / IS: the user's target is >= 0.7 (OOS within 70 % of IS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class WalkForwardError(ValueError):
    """Too few sessions for the folds and the out-of-sample period asked for."""


@dataclass(frozen=True)
class Fold:
    index: int
    start: int  # first bar (inclusive)
    stop: int   # last bar + 1

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class WalkForwardPlan:
    """Bar indices of the folds and of the held-out period over one symbol's sessions."""

    n_bars: int
    folds: tuple[Fold, ...]
    is_stop: int      # in-sample bars are 0 .. is_stop - 1
    oos_start: int    # out-of-sample bars are oos_start .. n_bars - 1
    sessions: tuple[str, ...] = ()  # ISO dates of the boundaries, for reports
    scheme: str = "walk_forward"    # walk_forward | calendar | cpcv (see .folds)
    cv: dict[str, Any] = field(default_factory=dict)  # cpcv: groups, test groups, purge, embargo

    @property
    def oos_bars(self) -> int:
        return self.n_bars - self.oos_start

    def in_sample(self, frame_or_prices: Any) -> Any:
        """The in-sample rows of a bar frame (or :class:`Prices`): what workers receive."""
        from research_lab.core.backtest.prices import Prices

        if isinstance(frame_or_prices, Prices):
            return frame_or_prices.head(self.is_stop)
        return frame_or_prices.iloc[: self.is_stop].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        out = {"n_bars": self.n_bars, "is_stop": self.is_stop, "oos_start": self.oos_start,
               "folds": [[f.start, f.stop] for f in self.folds], "sessions": list(self.sessions)}
        if self.scheme != "walk_forward":  # older studies' definitions still match
            out.update(scheme=self.scheme, cv=dict(self.cv))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WalkForwardPlan:
        folds = tuple(Fold(i, int(a), int(b)) for i, (a, b) in enumerate(data["folds"]))
        return cls(int(data["n_bars"]), folds, int(data["is_stop"]), int(data["oos_start"]),
                   tuple(data.get("sessions", ())), data.get("scheme", "walk_forward"),
                   dict(data.get("cv", {})))

    def describe(self) -> str:
        s = self.sessions
        kind = {"walk_forward": "folds", "calendar": f"{self.cv.get('freq', '')} calendar folds",
                "cpcv": (f"CPCV groups, {self.cv.get('n_test_folds')} test groups per split"
                         )}.get(self.scheme, "folds")
        if len(s) == 4:
            return (f"IS {s[0]}..{s[1]} ({self.is_stop} bars, {len(self.folds)} {kind}), "
                    f"OOS {s[2]}..{s[3]} ({self.oos_bars} bars)")
        return f"IS {self.is_stop} bars in {len(self.folds)} {kind}, OOS {self.oos_bars} bars"


def plan_walkforward(sessions: Any, *, folds: int = 4, oos_fraction: float = 0.2,
                     embargo_bars: int = 0, min_fold_bars: int = 20,
                     min_oos_bars: int = 20) -> WalkForwardPlan:
    """Cut ``sessions`` (anything with a length; dates for the report) into folds + OOS."""
    n = len(sessions)
    if folds < 1:
        raise WalkForwardError(f"folds must be >= 1, got {folds}")
    if not 0 < oos_fraction < 1:
        raise WalkForwardError(f"oos_fraction must be in (0, 1), got {oos_fraction}")
    oos = int(math.floor(n * oos_fraction))
    is_stop = n - oos - embargo_bars
    if oos < min_oos_bars or is_stop < folds * min_fold_bars:
        need = folds * min_fold_bars + embargo_bars + min_oos_bars
        raise WalkForwardError(
            f"{n} sessions are too few for {folds} fold(s) of >= {min_fold_bars} bars, an "
            f"embargo of {embargo_bars} and >= {min_oos_bars} out-of-sample bars (OOS fraction "
            f"{oos_fraction}); need about {max(need, int(need / (1 - oos_fraction)) + 1)}"
        )
    edges = np.linspace(0, is_stop, folds + 1).round().astype(int)
    plan_folds = tuple(Fold(i, int(edges[i]), int(edges[i + 1])) for i in range(folds))
    labels: tuple[str, ...] = ()
    try:
        iso = [str(getattr(s, "date", lambda: s)()) for s in
               (sessions[0], sessions[is_stop - 1], sessions[n - oos], sessions[n - 1])]
        labels = tuple(x[:10] for x in iso)
    except (TypeError, IndexError, AttributeError):
        pass
    return WalkForwardPlan(n, plan_folds, is_stop, n - oos, labels)


def evaluate_folds(evaluator: Any, params: Mapping[str, Any], plan: WalkForwardPlan,
                   score: Any, on_fold: Any = None,
                   trades: list[int | None] | None = None) -> list[tuple[float, ...]]:
    """Score each fold in order; ``on_fold(k, scores)`` may raise to stop early (pruning);
    each fold's trade count (``evaluator.last_trades``) is appended to ``trades`` if given."""
    signal = evaluator.signal(params)
    out = []
    for fold in plan.folds:
        r = evaluator.returns(params, fold.start, fold.stop, signal=signal)
        s = score(r, evaluator.sessions[fold.start:fold.stop])
        out.append(s)
        if trades is not None:
            trades.append(getattr(evaluator, "last_trades", None))
        if on_fold is not None:
            on_fold(fold.index, s)
    return out


def walk_forward_efficiency(oos: float, is_: float) -> float:
    """OOS / IS of the primary metric; NaN when IS is not positive (the ratio means nothing)."""
    if not (math.isfinite(oos) and math.isfinite(is_)) or is_ <= 0:
        return math.nan
    return oos / is_


@dataclass(frozen=True)
class OutOfSample:
    """The best parameters on the held-out period."""

    params: dict[str, Any]
    is_value: float
    oos_value: float
    efficiency: float
    target: float
    oos_metrics: dict[str, float]

    @property
    def passed(self) -> bool:
        return math.isfinite(self.efficiency) and self.efficiency >= self.target


def run_out_of_sample(evaluator_full: Any, params: Mapping[str, Any], plan: WalkForwardPlan,
                      score: Any, is_value: float, target: float = 0.7) -> OutOfSample:
    """Backtest ``params`` on the OOS bars of ``evaluator_full`` (every session, IS + OOS)."""
    from research_lab.core.metrics.fast import fast_metrics

    if len(evaluator_full) != plan.n_bars:
        raise WalkForwardError(f"the full evaluator has {len(evaluator_full)} bars; the plan "
                               f"was made for {plan.n_bars}")
    r = evaluator_full.returns(params, plan.oos_start, plan.n_bars)
    value = score(r, evaluator_full.sessions[plan.oos_start:])[0]
    metrics = {k: float(v) for k, v in fast_metrics(r).items()} if r.size >= 2 else {}
    return OutOfSample(dict(params), float(is_value), float(value),
                       walk_forward_efficiency(value, is_value), target, metrics)
