"""``research-lab demo run``: the whole research loop on embedded defaults, through Dagster.

Every step is a materialization of the project's own assets, run in this process on the
Dagster instance at ``DAGSTER_HOME`` (so the UI shows them afterwards), with the project's own
resources (embedded store, embedded MLflow under ``RESEARCH_LAB_HOME``):

1. ``market_data``: the demo universe for the last N years (``research-lab demo ingest``);
2. ``anomaly_scores`` (the universe × the range as one run) and ``anomaly_report``;
3. ``backtest_results``: every strategy of the library on each demo symbol;
4. ``optimization_study``: one small study (``--trials`` on one strategy and symbol). The
   market-hours rule (``market_hours.policy: refuse`` in ``config/optimize.yaml``) protects a
   team's trading day; the demo overrides it with ``ignore`` for this one study, since a demo
   on a laptop competes with nobody's trading;
5. ``rl_policy`` and ``rl_evaluation``: one small policy (``--timesteps``) on one symbol; its
   seed study is overridden to :data:`RL_STATISTICS` (2 seeds x 1 fold x 2,048 steps);
6. the nightly ingest schedule and the market-data sensor are switched on in the instance.

While it runs, the embedded (SQLite) instance under ``DAGSTER_HOME`` takes two shortcuts
(``cli/demo_sqlite.py``): its commits do not wait for the disk (``PRAGMA synchronous=OFF``; an
OS crash or power loss during the demo can corrupt that instance: delete the folder and run the
demo again), and a range run records one planned event, not one per partition (a failed range
run's partitions then read "missing", not "failed"). ``--full-bookkeeping`` keeps Dagster's
defaults. The schedule and the sensor are switched on by Dagster's CLI in two processes started
after the ingest, while the loop goes on.

A step that fails is reported with its error and the loop goes on (exit code 1 at the end).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

# the demo's defaults (all overridable by the `demo run` options)
DEMO_SYMBOLS = ("ACME", "GLOBEX")
DEMO_YEARS = 1.0  # history of the demo universe: 1 year keeps ingestion, scoring and studies short
STUDY_STRATEGY = "sma_cross"
STUDY_TRIALS = 30
RL_TIMESTEPS = 20_000
# the seed study of rl_evaluation, kept small so that the demo stays fast (config/rl.yaml's
# default is 5 seeds x 3 folds x 10,000 steps)
RL_STATISTICS = {"seeds": 2, "folds": 1, "seed_timesteps": 2048}
# the instigators the demo instance runs (besides those on by default)
DEMO_SCHEDULES = ("nightly_ingest_schedule",)
DEMO_SENSORS = ("market_data_sensor",)


@dataclass(frozen=True)
class DemoPlan:
    """What ``demo run`` materializes (strategies: the backtest partitions' strategy keys)."""

    symbols: tuple[str, ...] = DEMO_SYMBOLS
    study_symbol: str = DEMO_SYMBOLS[0]
    study_strategy: str = STUDY_STRATEGY
    trials: int = STUDY_TRIALS
    rl_symbol: str = DEMO_SYMBOLS[0]
    timesteps: int = RL_TIMESTEPS
    rl_statistics: dict[str, int] = field(default_factory=lambda: dict(RL_STATISTICS))
    tearsheet: bool = False
    strategies: tuple[str, ...] = field(default_factory=tuple)


@dataclass
class StepResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""
    background: bool = False  # ran while the loop went on (its seconds overlap the others')


def log(message: str) -> None:
    print(f"[demo] {message}", file=sys.stderr, flush=True)


def _failure_message(result) -> str:
    """The innermost error of the run's first failed step, as one line."""
    for event in result.all_events:
        if event.is_step_failure and event.event_specific_data is not None:
            error = event.event_specific_data.error
            while error is not None and error.cause is not None:
                error = error.cause
            if error is not None:
                lines = [line for line in error.message.strip().splitlines() if line.strip()]
                return lines[-1] if lines else error.cls_name or "error"
    return "see the run's logs in the Dagster UI"


def _run_job(defs, instance, job_name: str, *, partition_key: str | None = None,
             tags: dict[str, str] | None = None, op_config: dict[str, Any] | None = None,
             op_name: str | None = None):
    """Execute one of the project's asset jobs in this process on ``instance``."""
    job = defs.resolve_job_def(job_name)
    run_config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    if op_config is not None:
        run_config["ops"] = {op_name: {"config": op_config}}
    return job.execute_in_process(
        instance=instance, partition_key=partition_key, tags=tags or {},
        run_config=run_config, raise_on_error=False,
    )


def strategy_names(defs) -> tuple[str, ...]:
    """The strategies of the library (the built-ins that discovery finds first)."""
    from research_lab.core.strategies import discover

    return tuple(name for name, ref in discover().strategies.items()
                 if ref.cls.__module__.endswith("core.strategies.builtin"))


def score_quality(defs, instance, symbols, start, end) -> list[StepResult]:
    """``anomaly_scores`` for symbols × [start, end] as one range run over their year
    partitions (one per block of symbols contiguous in the ``symbol`` partitions, which symbols
    ingested together always are; sessions scored before at the same bars are skipped), then
    ``anomaly_report``."""
    from research_lab.defs.marketdata.backfill import symbol_blocks
    from research_lab.defs.marketdata.requests import range_tags
    from research_lab.defs.partitions import symbol_partitions

    out = []
    order = instance.get_dynamic_partitions(symbol_partitions.name)
    for block in symbol_blocks(order, list(symbols)):
        t0 = time.monotonic()
        result = _run_job(defs, instance, "anomaly_scores_job", tags=range_tags(block, start, end),
                          op_config={"start": start.isoformat(), "end": end.isoformat()},
                          op_name="anomaly_scores")
        name = block[0] if len(block) == 1 else f"{block[0]}..{block[-1]}"
        out.append(_step(f"anomaly_scores {name} ({len(block)} symbols, one run)", result, t0))
    t0 = time.monotonic()
    out.append(_step("anomaly_report", _run_job(defs, instance, "anomaly_report_job"), t0))
    return out


def stage_times(steps: list[StepResult]) -> list[str]:
    """One line per kind of step (the first word of its name), in order: its steps and seconds."""
    totals: dict[str, list[StepResult]] = {}
    for s in steps:
        totals.setdefault(s.name.split(" ")[0], []).append(s)
    return [f"{sum(s.seconds for s in group):7.1f} s  {kind} ({len(group)} "
            f"step{'s' if len(group) > 1 else ''}"
            f"{', in the background' if any(s.background for s in group) else ''})"
            for kind, group in totals.items()]


def _step(name: str, result, started: float) -> StepResult:
    seconds = time.monotonic() - started
    if result.success:
        return StepResult(name, True, seconds)
    return StepResult(name, False, seconds, _failure_message(result))


def backtests(defs, instance, plan: DemoPlan) -> list[StepResult]:
    from tqdm import tqdm

    from research_lab.defs.backtest.partitions import backtest_key

    out = []
    pairs = [(s, sym) for sym in plan.symbols for s in plan.strategies]
    for strategy, symbol in tqdm(pairs, desc="backtests", unit="run", file=sys.stderr):
        t0 = time.monotonic()
        result = _run_job(defs, instance, "backtest_job",
                          partition_key=str(backtest_key(strategy, symbol)),
                          op_name="backtest_results",
                          op_config={"tearsheet": plan.tearsheet, "project": "Demo"})
        out.append(_step(f"backtest_results {strategy}|{symbol}", result, t0))
    return out


def study(defs, instance, plan: DemoPlan) -> StepResult:
    from research_lab.defs.backtest.partitions import backtest_key

    t0 = time.monotonic()
    key = str(backtest_key(plan.study_strategy, plan.study_symbol))
    log(f"optimization_study {key}: {plan.trials} trials, 1 worker, market hours ignored (demo)")
    result = _run_job(defs, instance, "optimization_job", partition_key=key,
                      op_name="optimization_study",
                      op_config={"n_trials": plan.trials, "workers": 1,
                                 "market_hours": "ignore",
                                 "study_name": f"demo.{plan.study_strategy}.{plan.study_symbol}"})
    return _step(f"optimization_study {key}", result, t0)


def policy(defs, instance, plan: DemoPlan) -> list[StepResult]:
    t0 = time.monotonic()
    log(f"rl_policy {plan.rl_symbol}: {plan.timesteps} timesteps")
    trained = _step(f"rl_policy {plan.rl_symbol}",
                    _run_job(defs, instance, "rl_training_job", partition_key=plan.rl_symbol,
                             op_name="rl_policy",
                             op_config={"timesteps": plan.timesteps, "project": "Demo"}), t0)
    if not trained.ok:
        return [trained]
    t0 = time.monotonic()
    evaluated = _step(f"rl_evaluation {plan.rl_symbol}",
                      _run_job(defs, instance, "rl_evaluation_job",
                               partition_key=plan.rl_symbol, op_name="rl_evaluation",
                               op_config={"project": "Demo", **plan.rl_statistics}), t0)
    return [trained, evaluated]


def start_instigators(workspace: str) -> list[tuple[str, float, Any]]:
    """Start turning on the demo's schedule and sensor in the instance at DAGSTER_HOME (Dagster's
    CLI, one process each: the state is recorded against the code location of ``workspace``, as
    the UI loads it); :func:`finish_instigators` collects the outcome. Started while the loop
    goes on, since each process spends its time loading the code location."""
    import subprocess

    procs = []
    for kind, names in (("schedule", DEMO_SCHEDULES), ("sensor", DEMO_SENSORS)):
        for name in names:
            cmd = [sys.executable, "-m", "dagster", kind, "start", name, "-w", workspace]
            procs.append((f"{kind} {name} on", time.monotonic(),
                          subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                           text=True)))
    return procs


def finish_instigators(procs: list[tuple[str, float, Any]]) -> list[StepResult]:
    out = []
    for name, t0, proc in procs:
        text, _ = proc.communicate()
        lines = [line for line in text.strip().splitlines() if line.strip()]
        ok = proc.returncode == 0
        out.append(StepResult(name, ok, time.monotonic() - t0,
                              "" if ok else (lines[-1] if lines else f"exit {proc.returncode}"),
                              background=True))
    return out


def run_demo(plan: DemoPlan, *, years: float | None, workspace: str,
             instigators: bool = True, full_bookkeeping: bool = False) -> int:
    """The whole loop; prints one line per step and a summary; 0 when every step succeeded.
    Unless ``full_bookkeeping``, the instance at ``DAGSTER_HOME`` takes the demo's two
    shortcuts meanwhile (see the module docstring)."""
    import os

    from research_lab.cli.demo_sqlite import (
        one_planned_event_per_range,
        unsynced_instance_writes,
    )

    home = os.environ.get("DAGSTER_HOME")
    if full_bookkeeping or not home:
        return _run_demo(plan, years=years, workspace=workspace, instigators=instigators)
    log(f"demo shortcuts on the instance under {home}: unsynced SQLite writes "
        "(PRAGMA synchronous=OFF) and one planned event per range run "
        "(--full-bookkeeping for Dagster's defaults)")
    with unsynced_instance_writes(home), one_planned_event_per_range():
        return _run_demo(plan, years=years, workspace=workspace, instigators=instigators)


def _run_demo(plan: DemoPlan, *, years: float | None, workspace: str, instigators: bool) -> int:
    from datetime import timedelta

    import dagster as dg

    from research_lab.cli.data import ingest, last_completed_session
    from research_lab.core.marketdata.planning import last_weekday_on_or_before
    from research_lab.core.settings import load_settings
    from research_lab.definitions import defs

    started = time.monotonic()
    settings = load_settings()
    years = DEMO_YEARS if years is None else years
    end = last_completed_session()
    start = last_weekday_on_or_before(end - timedelta(days=int(365 * years)))
    missing = [s for s in {*plan.symbols, plan.study_symbol, plan.rl_symbol}
               if s not in settings.universe]
    if missing:
        raise ValueError(f"demo symbol(s) {', '.join(sorted(missing))} are not in the universe "
                         f"({', '.join(settings.universe)})")
    library = strategy_names(defs)
    if not plan.strategies:
        plan = replace(plan, strategies=library)
    unknown = sorted({*plan.strategies, plan.study_strategy} - set(library))
    if unknown:
        raise ValueError(f"unknown strateg{'y' if len(unknown) == 1 else 'ies'} "
                         f"{', '.join(unknown)}; the library has {', '.join(library)}")
    steps: list[StepResult] = []

    def stage(title: str) -> None:
        log(f"{title} ({time.monotonic() - started:.0f} s elapsed)")

    stage(f"1/5 market_data: {', '.join(settings.universe)} from {start} to {end}")
    t0 = time.monotonic()
    code = ingest(list(settings.universe), start, end, only_missing=True)
    steps.append(StepResult("market_data", code == 0, time.monotonic() - t0,
                            "" if code == 0 else "ingestion failed (see above)"))
    # the instance exists now: the schedule and the sensor are switched on meanwhile
    instigating = start_instigators(workspace) if instigators else []
    with dg.DagsterInstance.get() as instance:
        from research_lab.defs.backtest.partitions import register_strategies

        register_strategies(instance)  # the strategy partitions (the sensor does it when on)
        stage("2/5 anomaly_scores and anomaly_report")
        steps += score_quality(defs, instance, settings.universe, start, end)
        stage(f"3/5 backtest_results: {len(plan.strategies)} strategies × "
              f"{', '.join(plan.symbols)}")
        steps += backtests(defs, instance, plan)
        stage("4/5 optimization_study")
        steps.append(study(defs, instance, plan))
        stage("5/5 rl_policy and rl_evaluation")
        steps += policy(defs, instance, plan)
    steps += finish_instigators(instigating)
    failed = [s for s in steps if not s.ok]
    for line in stage_times(steps):
        log(line)
    for s in failed:
        log(f"FAILED {s.name}: {s.detail}")
    log(f"done in {time.monotonic() - started:.0f} s: {len(steps) - len(failed)} steps ok, "
        f"{len(failed)} failed")
    return 1 if failed else 0
