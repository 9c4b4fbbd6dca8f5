"""What a study's best value is worth: the same objective for the strategy's default
parameters and for buy-and-hold, on the same in-sample folds and the same broker, and the
study's speed in trials per hour.

* **default parameters**: the strategy's defaults (``config/strategies.yaml``) run through the
  study's own :class:`~.objective.Evaluator` and :func:`~.walkforward.evaluate_folds`: the
  value a user gets without a study;
* **buy-and-hold**: long on every bar through the same broker kernel (same cash, sizing and
  commission as every trial), scored fold by fold the same way; whatever the strategy's
  engine (a backtrader strategy's own code never runs for it); with several feeds
  (:mod:`.feeds`), equal weight: one equal sleeve of the cash per feed;
* **improvement** = ``best - baseline`` for a maximized metric, ``baseline - best`` for a
  minimized one (a loss): positive means the study found something better, in the metric's
  own units. A loss of -0.0005 against a default of -0.0003 is an improvement of +0.0002.
  The report line says "better by" / "worse by" and prints 4 significant digits
  (:func:`figure`): at 4 decimals a loss of order 1e-4 rounds so that the printed best,
  baseline and difference no longer add up (-0.00045 vs -0.00034 printed as -0.0005 vs
  -0.0003, +0.0001).

:func:`study_baselines` returns a :class:`Baselines`; :mod:`.report` puts its figures in the
report, the parent run's metrics, the asset's metadata and the study's user attribute
``research_lab.kpis`` (what the HTTP API reads).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

KPI_ATTR = "research_lab.kpis"


@dataclass(frozen=True)
class Baselines:
    metric: str
    direction: str
    best_value: float | None
    default_params: dict[str, Any]
    default_value: float
    buy_hold_value: float
    trials_per_hour: float

    def _gain(self, baseline: float) -> float:
        if self.best_value is None or not math.isfinite(baseline):
            return math.nan
        diff = self.best_value - baseline
        return diff if self.direction == "maximize" else -diff

    @property
    def improvement_vs_default(self) -> float:
        return self._gain(self.default_value)

    @property
    def improvement_vs_buy_hold(self) -> float:
        return self._gain(self.buy_hold_value)

    def figures(self) -> dict[str, float]:
        return {"default_value": self.default_value, "buy_hold_value": self.buy_hold_value,
                "improvement_vs_default": self.improvement_vs_default,
                "improvement_vs_buy_hold": self.improvement_vs_buy_hold,
                "trials_per_hour": self.trials_per_hour}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(improvement_vs_default=self.improvement_vs_default,
                   improvement_vs_buy_hold=self.improvement_vs_buy_hold)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in out.items()}

    def summary_line(self) -> str:
        def gain(v: float) -> str:
            if not math.isfinite(v):
                return "n/a"
            if v == 0:
                return "equal"
            return f"{'better' if v > 0 else 'worse'} by {figure(abs(v))}"
        better = "lower" if self.direction == "minimize" else "higher"
        return (f"vs default params {figure(self.default_value)}: "
                f"{gain(self.improvement_vs_default)}; vs buy-and-hold "
                f"{figure(self.buy_hold_value)}: {gain(self.improvement_vs_buy_hold)} "
                f"({self.direction} {self.metric}: {better} is better; same folds and broker); "
                f"{self.trials_per_hour:,.0f} trials/hour")


def figure(v: float) -> str:
    """A report figure: 4 decimals, or 4 significant digits below 0.1 in magnitude (a loss of
    order 1e-4 would otherwise print as -0.0005 and -0.0003 and lose its differences)."""
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.4f}" if v == 0 or abs(v) >= 0.1 else f"{v:.4g}"


def mean_fold_value(evaluator: Any, plan: Any, score: Any, params: dict[str, Any] | None = None,
                    signal: Any = None) -> float:
    """The first metric's mean over the plan's folds, for ``params`` or a given ``signal``."""
    values = []
    for fold in plan.folds:
        r = evaluator.returns(params or {}, fold.start, fold.stop, signal=signal)
        values.append(score(r, evaluator.sessions[fold.start:fold.stop])[0])
    return float(sum(values) / len(values)) if values else math.nan


def study_baselines(evaluator_is: Any, defn: Any, best_value: float | None, finished: int,
                    elapsed_s: float) -> Baselines:
    """:class:`Baselines` of a study (``evaluator_is`` holds its in-sample prices)."""
    from research_lab.core.backtest.params import get_space
    from research_lab.core.optimize.feeds import buy_hold_value

    score = defn.objective.scorer()
    defaults = dict(get_space(defn.strategy).defaults())
    default_value = mean_fold_value(evaluator_is, defn.plan, score,
                                    signal=evaluator_is.signal(defaults))
    buy_hold = buy_hold_value(evaluator_is, defn.plan, score)
    per_hour = finished / elapsed_s * 3600.0 if elapsed_s > 0 else math.nan
    return Baselines(defn.objective.primary, defn.objective.directions[0], best_value,
                     defaults, default_value, buy_hold, per_hour)
