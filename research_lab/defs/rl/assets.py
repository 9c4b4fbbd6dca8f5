"""``rl_policy`` and ``rl_evaluation``: a learned policy per symbol, and how it compares.

Thin on purpose: read the partition's symbol and the launchpad config, call the use case
(:func:`research_lab.core.usecases.train_policy` / :func:`~research_lab.core.usecases.
evaluate_policy`: quality gate, history, run, files, MLflow) and present its result as
metadata. Both are partitioned by symbol and depend on every session of that symbol's
``market_data``. A symbol with open critical anomalies fails (``dg.Failure``).

``rl_policy`` writes ``$RESEARCH_LAB_HOME/rl/<symbol>/policy.zip`` (+ ``policy.json``,
``checkpoints/``); ``rl_evaluation`` reads that policy, plays it back over the test period
through the backtest engine and writes ``playback/`` (result.json, equity.png, trades.csv) and
``evaluation.json`` next to it, then (unless ``statistics`` is off) the seed study's
``seeds.json`` and ``seeds.png``; a truncated policy (a guardrail stop) fails it unless
``allow_truncated``. Training runs carry the run tag ``research_lab/kind:
rl_training`` (through :data:`~.jobs.rl_training_job`) and the op's ``pool`` ``rl_training``
so that the run queue and the instance's concurrency pools can limit them.
"""

from typing import Optional

import dagster as dg
from pydantic import Field

from research_lab.defs.failures import use_case_failure
from research_lab.defs.partitions import symbol_partitions
from research_lab.defs.resources import SourceResource, StoreResource
from research_lab.defs.run_queue import kind_tags
from research_lab.defs.tracking.resources import TrackingResource

ALL_SESSIONS_OF_SYMBOL = dg.MultiToSingleDimensionPartitionMapping(
    partition_dimension_name="symbol"
)
MARKET_DATA_DEP = dg.AssetDep("market_data", partition_mapping=ALL_SESSIONS_OF_SYMBOL)
ANOMALY_SCORES_DEP = dg.AssetDep("anomaly_scores", partition_mapping=ALL_SESSIONS_OF_SYMBOL)


class TrackingConfig(dg.Config):
    """Where the run goes in MLflow: {project}.{asset_class}.ReinforcementLearning.{algorithm}."""

    mlflow: bool = Field(default=True, description="Log the run to MLflow (`tracking` resource).")
    project: str = Field(default="Default", description="MLflow experiment: project part.")
    asset_class: str = Field(default="Equities", description="MLflow experiment: asset class.")


class RLPolicyConfig(TrackingConfig):
    """Launchpad overrides of ``config/rl.yaml`` for one training run (unset: the file's)."""

    algorithm: Optional[str] = Field(default=None, description="PPO | A2C | DQN.")
    timesteps: Optional[int] = Field(
        default=None, description="Environment steps to train (capped by max_timesteps)."
    )
    seed: Optional[int] = Field(default=None, description="Seed of python, numpy, torch, env.")
    max_timesteps: Optional[int] = Field(default=None, description="Guardrail: step cap.")
    wall_clock_seconds: Optional[float] = Field(
        default=None, description="Guardrail: stop training after this many seconds."
    )
    memory_mb: Optional[float] = Field(
        default=None, description="Guardrail: stop when resident memory exceeds this (MB)."
    )
    torch_threads: Optional[int] = Field(default=None, description="Guardrail: torch threads.")
    config_path: Optional[str] = Field(
        default=None,
        description="RL YAML file (unset: RESEARCH_LAB_RL_CONFIG, else config/rl.yaml).",
    )


class RLEvaluationConfig(TrackingConfig):
    """What the policy is compared with (the configuration is the policy's own)."""

    best_strategy: Optional[str] = Field(
        default=None,
        description="Strategy to compare with; unset: evaluation.baseline_strategy with the "
        "best parameters of the newest optimization study of it on this symbol whose data "
        "end by the policy's test start; if every study reaches into the test (it saw it), "
        "the grid fitted on the training period; with no study, its default parameters.",
    )
    best_params: Optional[dict[str, str]] = Field(
        default=None, description="Its parameters, e.g. {fast: '10', slow: '50'} (unset: "
        "chosen as for best_strategy).",
    )
    max_drawdown_limit: Optional[float] = Field(
        default=None, description="Drawdown compliance limit (0.25 = 25 %); unset: the policy's."
    )
    statistics: Optional[bool] = Field(
        default=None, description="Run the seed study (seeds x walk-forward folds, IQM with "
        "bootstrap confidence intervals); unset: the policy's statistics.enabled.",
    )
    seeds: Optional[int] = Field(default=None, description="Seed study: training seeds.")
    folds: Optional[int] = Field(default=None, description="Seed study: walk-forward folds.")
    seed_timesteps: Optional[int] = Field(
        default=None, description="Seed study: training steps of each seed and fold."
    )
    allow_truncated: bool = Field(
        default=False, description="Evaluate a policy whose training a guardrail cut short.",
    )

    def statistics_overrides(self) -> Optional[dict]:
        out = {k: v for k, v in {"enabled": self.statistics, "seeds": self.seeds,
                                 "folds": self.folds, "timesteps": self.seed_timesteps}.items()
               if v is not None}
        return out or None


def _home():
    from research_lab.core.settings import load_settings

    return load_settings().home


def _tracking(context, tracking: TrackingResource, config: TrackingConfig):
    """Where the run goes in MLflow, or None when logging is off."""
    if not config.mlflow:
        return None
    from research_lab.core.usecases import Tracking

    return Tracking(tracking.get_tracker, config.project, config.asset_class,
                    lineage=lambda **tags: tracking.lineage(context, **tags))


def _logged(context, tracked) -> dict:
    if tracked is None:
        return {}
    if tracked.error:
        context.log.warning(f"MLflow run not written ({tracked.error}); kept in the outbox")
    return {"mlflow_experiment": tracked.experiment, "mlflow_run_id": tracked.label()}


@dg.asset(
    partitions_def=symbol_partitions,
    deps=[MARKET_DATA_DEP, ANOMALY_SCORES_DEP],
    group_name="rl",
    kinds={"pytorch"},
    op_tags=kind_tags("rl_training"),
    pool="rl_training",
    description="A trading policy per symbol (Stable-Baselines3 on the TradingEnv), trained on "
    "the training period with early stopping on validation, under guardrails; saved as "
    "policy.zip under `$RESEARCH_LAB_HOME/rl/SYMBOL/`.",
)
def rl_policy(
    context: dg.AssetExecutionContext,
    config: RLPolicyConfig,
    store: StoreResource,
    tracking: TrackingResource,
) -> dg.MaterializeResult:
    from research_lab.core.rl.config import load_rl_config
    from research_lab.core.rl.train import policy_dir
    from research_lab.core.usecases import train_policy

    symbol = context.partition_key
    guard = {k: v for k, v in {
        "max_timesteps": config.max_timesteps, "wall_clock_seconds": config.wall_clock_seconds,
        "memory_mb": config.memory_mb, "torch_threads": config.torch_threads,
    }.items() if v is not None}
    rl_config = load_rl_config(config.config_path, algorithm=config.algorithm,
                               timesteps=config.timesteps, seed=config.seed,
                               guardrails=guard or None)
    tenth = max(rl_config.timesteps // 10, 1)

    def progress(done: int, total: int) -> None:
        if done % tenth == 0:
            context.log.info(f"{symbol}: {done}/{total} steps")

    context.log.info(f"training {rl_config.algorithm} on {symbol}")
    try:
        run = train_policy(store.open(), symbol, rl_config, out_dir=policy_dir(_home(), symbol),
                           progress=progress, tracking=_tracking(context, tracking, config))
    except ValueError as exc:  # open critical anomalies, no bars
        raise use_case_failure(exc) from None
    out = run.result
    splits = out.splits.to_dict()
    logged = _logged(context, run.tracked)
    return dg.MaterializeResult(
        metadata={
            **logged,
            "algorithm": out.algorithm,
            "timesteps": dg.MetadataValue.int(out.timesteps),
            "training_seconds": dg.MetadataValue.float(round(out.training_seconds, 3)),
            "training_cpu_seconds": dg.MetadataValue.float(round(out.cpu_seconds, 3)),
            "validation_score": dg.MetadataValue.float(float(out.validation_score)),
            "validation_metric": out.validation_metric,
            "stop_reason": out.stop_reason,
            "stop_detail": out.stop_detail,
            "truncated": dg.MetadataValue.bool(out.truncated),
            "path": dg.MetadataValue.path(out.policy_path),
            "seed": dg.MetadataValue.int(rl_config.seed),
            "train": f"{splits['train_start']}..{splits['train_end']}",
            "validation": f"{splits['validation_start']}..{splits['validation_end']}",
            "test": f"{splits['test_start']}..{splits['test_end']}",
            "data_version": out.data_version or "",
        },
    )


@dg.asset(
    partitions_def=symbol_partitions,
    deps=[dg.AssetDep("rl_policy"), MARKET_DATA_DEP],
    group_name="rl",
    kinds={"python"},
    description="The policy played back deterministically over the test period through the "
    "backtest engine: the 50 metrics, the regime table, and the comparison with buy-and-hold "
    "and the best strategy (Sharpe deltas, drawdown compliance, episode length stability); "
    "then the seed study: seeds x walk-forward folds, the interquartile mean with a bootstrap "
    "confidence interval and the probability of beating each baseline (seeds.json, seeds.png).",
)
def rl_evaluation(
    context: dg.AssetExecutionContext,
    config: RLEvaluationConfig,
    store: StoreResource,
    source: SourceResource,
    tracking: TrackingResource,
) -> dg.MaterializeResult:
    from research_lab.core.rl.train import POLICY_FILE, policy_dir
    from research_lab.core.usecases import evaluate_policy

    symbol = context.partition_key
    try:
        run = evaluate_policy(
            store.open(), symbol, policy=policy_dir(_home(), symbol) / POLICY_FILE, home=_home(),
            strategy=config.best_strategy, params=config.best_params,
            max_drawdown_limit=config.max_drawdown_limit,
            statistics=config.statistics_overrides(), allow_truncated=config.allow_truncated,
            progress=lambda done, total, line: context.log.info(f"seed study {done}/{total}: "
                                                                 f"{line}"),
            source=source.get, tracking=_tracking(context, tracking, config),
        )
    except ValueError as exc:  # no policy, truncated policy, open critical anomalies, bad
        # baseline parameters or statistics settings
        raise use_case_failure(exc) from None
    ev, splits, paths = run.evaluation, run.splits, run.files
    m, c = ev.playback.metrics, ev.comparison
    numbers = {k: dg.MetadataValue.float(float(v)) for k, v in {
        **{k: m[k] for k in ("total_return", "cagr", "sharpe_ratio", "sortino_ratio",
                             "max_drawdown", "volatility", "num_trades", "exposure")},
        **c,
    }.items()}
    logged = _logged(context, run.tracked)
    seeds = {}
    if run.seeds is not None:
        seeds = {k: dg.MetadataValue.float(float(v)) for k, v in run.seeds.metrics().items()}
        seeds["seeds_summary"] = run.seeds.headline()
        seeds["seeds_path"] = dg.MetadataValue.path(str(paths["seeds"]))
    return dg.MaterializeResult(metadata={
        **logged,
        **numbers,
        **seeds,
        "truncated": dg.MetadataValue.bool(bool(run.truncated)),
        "drawdown_compliant": dg.MetadataValue.bool(bool(c["drawdown_compliant"])),
        "best_strategy": ev.best_strategy.title(),
        "baseline_source": run.baseline["source"],
        "kpis": dg.MetadataValue.md(run.kpi_markdown()),
        "comparison": dg.MetadataValue.md(ev.comparison_markdown()),
        "regimes": dg.MetadataValue.md(ev.regime_markdown()),
        "test": f"{splits.test[0]}..{splits.test[1]}",
        "notes": "; ".join(ev.playback.report.notes) or "-",
        "path": dg.MetadataValue.path(str(paths["evaluation"])),
    })

