"""Optimization studies: Bayesian search of a strategy's parameters with Optuna, off market
hours, on as many workers as there are, honest about overfitting.

Quick start::

    from research_lab.core.optimize import StudyRequest, load_space, run_study

    report = run_study(StudyRequest(
        strategy="sma_cross", symbol="ORCL", bars=bars,             # one symbol's bar frame
        space=load_space("config/param_spaces/sma_cross.yaml"),
        study_name="orcl-sma", n_trials=100, workers=2,
        storage_url=None,            # embedded journal file; or postgresql://... for teams
    ))
    print("\\n".join(report.summary_lines()))
    report.leaderboard_markdown()

How the pieces fit

=============== ==============================================================================
space           search spaces in YAML/JSON: int / float / log / categorical, step, constraints
config          ``config/optimize.yaml`` (sampler, pruner, folds, storage, market hours) + the lab's broker
sampler         TPE (10 start-up trials, multivariate, constant liar with > 1 worker, seeded)
                and the MedianPruner
objective       the metric(s) and direction(s); :class:`Evaluator`, the ~1 ms hot path
walkforward     in-sample folds reported to the pruner, a held-out out-of-sample period,
                walk-forward efficiency
overfitting     deflated Sharpe ratio and probability of backtest overfitting (CSCV)
storage         the embedded journal file or PostgreSQL; create once; dead-worker recovery
definition      what a study stores so that any worker can join it by name
worker          the trial function and a worker's loop
budget          the market-hours time budget (refuse / wait / ignore during a session)
runner          :func:`run_study`: create, run workers as processes, recover, resume
tracking        :class:`StudyTracker` (MLflow parent run + one child run per trial)
report          leaderboard, best params, IS/OOS, DSR, PBO, plots
=============== ==============================================================================

optuna, numba, matplotlib and mlflow are imported inside the functions that use them.
"""

from __future__ import annotations

from research_lab.core.optimize.budget import MarketHoursError, TimeBudget, plan_budget
from research_lab.core.optimize.config import ConfigError, OptimizeConfig, load_optimize_config
from research_lab.core.optimize.definition import DefinitionError, StudyDefinition
from research_lab.core.optimize.objective import Evaluator, ObjectiveSpec, objective_spec
from research_lab.core.optimize.overfitting import (
    deflated_sharpe_ratio, probability_of_backtest_overfitting,
)
from research_lab.core.optimize.runner import StudyRequest, run_study
from research_lab.core.optimize.space import SearchSpace, SpaceError, default_space, load_space
from research_lab.core.optimize.storage import StorageError, resolve_storage_url
from research_lab.core.optimize.tracking import MlflowStudyTracker, NoopTracker, StudyTracker
from research_lab.core.optimize.walkforward import WalkForwardError, plan_walkforward

__all__ = [
    "ConfigError",
    "DefinitionError",
    "Evaluator",
    "MarketHoursError",
    "MlflowStudyTracker",
    "NoopTracker",
    "ObjectiveSpec",
    "OptimizeConfig",
    "SearchSpace",
    "SpaceError",
    "StorageError",
    "StudyDefinition",
    "StudyRequest",
    "StudyTracker",
    "TimeBudget",
    "WalkForwardError",
    "default_space",
    "deflated_sharpe_ratio",
    "load_optimize_config",
    "load_space",
    "objective_spec",
    "plan_budget",
    "plan_walkforward",
    "probability_of_backtest_overfitting",
    "resolve_storage_url",
    "run_study",
]
