"""The ``optimization_study`` asset: an Optuna study of one strategy on one symbol.

Thin: read the partition key and the config, read the symbol's history from the store in one
query, call :func:`research_lab.core.optimize.run_study` (market-hours budget, walk-forward
folds, N worker processes, recovery, report), and return the report as metadata: the
leaderboard as a markdown table, best parameters and value, IS / OOS values and the
walk-forward efficiency, deflated Sharpe, PBO, trials completed / pruned / failed.

Plots, ``leaderboard.md`` and ``report.json`` go to ``$RESEARCH_LAB_HOME/studies/<study>/``.

Several symbols: ``feeds`` names more stored symbols that feed the same backtrader strategy
with the partition's symbol (``self.datas[1:]``, e.g. a pairs strategy): ONE study whose trials
run on all of them (2 to 8 symbols in all, each quality-gated, aligned on their shared sessions).

Fan-out: ``workers`` > 1 runs that many worker processes on the study; with a PostgreSQL
storage URL, more workers can join the same study from anywhere
(``research-lab optimize worker --study-name ... --storage ...``, e.g. docker containers).
The storage URL is best bound to ``EnvVar``-provided settings: leave ``storage_url`` unset and
set ``RESEARCH_LAB_OPTUNA_STORAGE`` in the environment of the run.
"""


from pathlib import Path
from typing import Any, Optional

import dagster as dg
from pydantic import Field

from research_lab.defs.optimize.partitions import (
    history_deps,
    split_study_key,
    study_partitions,
)
from research_lab.defs.resources import StoreResource
from research_lab.defs.run_config import SessionRangeConfig
from research_lab.defs.tracking.resources import TrackingResource

SPACES_DIR = Path(__file__).resolve().parents[3] / "config" / "param_spaces"


class OptimizationConfig(SessionRangeConfig):
    """Launch-pad settings of a study (the strategy and symbol are the partition). Unset
    values come from config/optimize.yaml."""

    n_trials: Optional[int] = Field(default=None, description="Trials to finish (completed + "
                                    "pruned) across all workers. Unset: study.n_trials (100).")
    timeout: Optional[float] = Field(default=None, description="Seconds; the study also stops "
                                     "market_hours.margin_minutes before the next market open.")
    metric: Optional[str] = Field(default=None, description="Objective metric, e.g. "
                                  "sharpe_ratio (default), sortino_ratio, calmar_ratio.")
    direction: Optional[str] = Field(default=None, description="maximize | minimize (unset: "
                                     "the metric's natural direction).")
    loss: Optional[str] = Field(default=None, description="A loss function to minimize, "
                                "module:function (instead of a metric; loading it runs its "
                                "module). Unset: study.loss.")
    min_trades: Optional[int] = Field(default=None, description="Trades a trial needs over "
                                      "its folds (unset: study.min_trades, 0 = none).")
    param_space: Optional[str] = Field(default=None, description="Search space YAML/JSON file. "
                                       "Unset: config/param_spaces/<strategy>.yaml if present, "
                                       "else the strategy's full space from strategies.yaml.")
    param_space_json: Optional[str] = Field(default=None, description="The search space as a "
                                            "JSON object (what the HTTP API sends); wins over "
                                            "param_space.")
    workers: Optional[int] = Field(default=None, description="Worker processes (unset: "
                                   "study.workers).")
    storage_url: Optional[str] = Field(default=None, description="Optuna storage: "
                                       "postgresql://... or journal:///path. Unset: "
                                       "RESEARCH_LAB_OPTUNA_STORAGE, else the embedded journal.")
    study_name: Optional[str] = Field(default=None, description="Study name (resumes if it "
                                      "exists). Unset: <strategy>.<symbol>.")
    seed: Optional[int] = Field(default=None, description="Sampler seed (unset: study.seed).")
    sampler: Optional[str] = Field(default=None, description="tpe | random | grid | qmc | "
                                   "cmaes | gp | nsga2 | nsga3 (unset: sampler.type, tpe).")
    market_hours: Optional[str] = Field(default=None, description="refuse | wait | ignore: "
                                        "what a run started during market hours does.")
    tracking: bool = Field(default=True, description="Log the study to MLflow (parent run, "
                           "one child run per trial).")
    feeds: list[str] = Field(default_factory=list, description="More stored symbols fed to a "
                             "backtrader strategy with the partition's symbol, as "
                             "self.datas[1:] (pairs, spreads): one study over all of them, at "
                             "most 8 symbols in all.")


def resolve_space(config: OptimizationConfig, strategy: str):
    import json

    from research_lab.core.optimize import default_space, load_space
    from research_lab.core.optimize.space import SpaceError, parse_space

    if config.param_space_json:
        try:
            data = json.loads(config.param_space_json)
        except json.JSONDecodeError as exc:
            raise SpaceError(f"param_space_json: not valid JSON: {exc}") from None
        return parse_space(data, strategy=strategy, where="param_space_json")
    if config.param_space:
        return load_space(config.param_space, strategy=strategy)
    default = SPACES_DIR / f"{strategy}.yaml"
    return load_space(default, strategy=strategy) if default.exists() else default_space(strategy)


def study_metadata(report: Any) -> dict[str, Any]:
    """Dagster metadata of a :class:`~research_lab.core.optimize.report.StudyReport`."""
    md: dict[str, Any] = {
        "study_name": report.study_name,
        "leaderboard": dg.MetadataValue.md(report.leaderboard_markdown()),
        "best_params": dg.MetadataValue.json(report.best_params),
        "trials_completed": dg.MetadataValue.int(report.complete),
        "trials_pruned": dg.MetadataValue.int(report.pruned),
        "trials_done": dg.MetadataValue.int(report.counts.get("done", 0)),  # spent the budget
        "trials_failed": dg.MetadataValue.int(report.counts.get("fail", 0)),
        "stopped": report.stopped,
        "symbols": report.symbol,                  # ACME, or ACME+GLOBEX with feeds
        "walk_forward": report.plan,
        "storage": report.storage,
        "summary": dg.MetadataValue.md("\n".join(f"- {line}" for line in report.summary_lines())),
        "report": dg.MetadataValue.path(str(Path(report.plots["optimization_history.png"]).parent
                                            / "report.json")),
    }
    for key, value in report.figures().items():
        if key.startswith("trials_") and key != "trials_per_hour":
            continue  # the counts are int metadata above
        md[key] = dg.MetadataValue.float(float(value))
    for name, path in report.plots.items():
        md[name.removesuffix(".png")] = dg.MetadataValue.path(path)
    if report.pareto is not None:
        md["pareto_size"] = dg.MetadataValue.int(len(report.pareto))
        md["pareto_front"] = dg.MetadataValue.md(pareto_markdown(report))
    if report.cpcv is not None:
        md["cpcv_path_dsr"] = dg.MetadataValue.json(list(report.cpcv.path_dsr))
    return md


def pareto_markdown(report: Any) -> str:
    """The Pareto front as a markdown table (trial, one column per objective, parameters)."""
    head = ["trial", *report.metrics, "params"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report.pareto or []:
        lines.append("| " + " | ".join([str(row["trial"]), *(f"{v:.4f}" for v in row["values"]),
                                        str(row["params"])]) + " |")
    return "\n".join(lines)


@dg.asset(
    partitions_def=study_partitions,
    deps=history_deps,
    group_name="optimize",
    kinds={"optuna"},
    pool="optimization",           # counts against the studies' limit however it is launched
    tags={"research_lab/kind": "optimization"},
    description="An Optuna study (TPE + median pruner over walk-forward folds) of one strategy "
    "on one symbol's stored history: leaderboard, best params, IS/OOS, deflated Sharpe, PBO. "
    "Runs off market hours (refuses or waits during a session, stops before the next open).",
)
def optimization_study(
    context: dg.AssetExecutionContext,
    config: OptimizationConfig,
    store: StoreResource,
    tracking: TrackingResource,
) -> dg.MaterializeResult:
    from research_lab.core.optimize import (
        MarketHoursError, MlflowStudyTracker, NoopTracker, load_optimize_config,
    )
    from research_lab.core.optimize.feeds import feeds_data_version, label
    from research_lab.core.optimize.objective import objective_from_config
    from research_lab.core.optimize.usecase import StudyInputs, optimize_symbol, prepare_study
    from research_lab.core.quality.gate import QualityGateError

    strategy, symbol = split_study_key(context.partition_key)
    cfg = load_optimize_config()
    cfg = cfg.override("study", n_trials=config.n_trials, workers=config.workers,
                       timeout=config.timeout, seed=config.seed)
    cfg = cfg.override("market_hours", policy=config.market_hours)
    cfg = cfg.override("sampler", type=config.sampler)
    cfg = cfg.override("storage", url=config.storage_url)
    space = resolve_space(config, strategy)                    # bad input fails first
    try:
        objective = objective_from_config(cfg, config.metric, config.direction,
                                          loss=config.loss, min_trades=config.min_trades,
                                          option_prefix="config.")
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    start, end = config.session_range()
    feeds = tuple(config.feeds)
    name = config.study_name or ".".join([strategy, symbol, *feeds])
    try:  # quality gate, one store query per symbol, session range, plan: the core use case
        request = prepare_study(StudyInputs(strategy, symbol, name, space=space,
                                            objective=objective, config=cfg, start=start,
                                            end=end, store_url=store.resolved_url(),
                                            feeds=feeds))
    except QualityGateError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False, metadata={
            "open_criticals": dg.MetadataValue.int(len(exc.anomalies))}) from None
    except ValueError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None

    def make_tracker(req):
        if not (config.tracking and cfg.tracking.enabled):
            return NoopTracker()
        return MlflowStudyTracker(
            project=cfg.tracking.project, strategy_family=cfg.tracking.strategy_family,
            tracker=tracking.get_tracker(),
            lineage=tracking.lineage(context, data_version=feeds_data_version(req.bars, req.feeds),
                                     seed=cfg.study.seed))

    context.log.info(f"study {name}: {strategy} on {label(symbol, feeds)}, "
                     f"{len(request.bars)} bars, "
                     f"{cfg.study.n_trials} trials, {cfg.study.workers} worker(s)")
    last = [0]

    def progress(counts: dict[str, int]) -> None:
        done = counts["done"]
        if done >= last[0] + max(1, cfg.study.n_trials // 10):
            last[0] = done
            context.log.info(f"{done}/{cfg.study.n_trials} trials ({counts['pruned']} pruned, "
                             f"{counts['fail']} failed)")

    from research_lab.core.optimize.stopping import StudyStopped

    try:
        report = optimize_symbol(request, tracker=make_tracker, on_progress=progress)
    except MarketHoursError as exc:
        raise dg.Failure(description=f"refused: {exc}") from None
    except StudyStopped as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.info(" | ".join(report.summary_lines()))
    return dg.MaterializeResult(metadata=study_metadata(report))
