"""The ``backtest_results`` asset: one strategy on one symbol's whole stored history.

Thin on purpose: read the partition key and the config, call the use case
:func:`research_lab.core.usecases.backtest_symbol` (quality gate, history, benchmark and VIX
context, report on the lab's broker, files, MLflow) and present its result as metadata: the
key metrics, the tables, the equity curve (embedded) and the file paths. A symbol with open
critical anomalies fails the materialization (``QualityGateError`` -> ``dg.Failure``).

Files go to ``$RESEARCH_LAB_HOME/backtests/<strategy>/<symbol>/`` (or ``<output_dir>/<strategy>/
<symbol>/`` from the config), replaced atomically at each materialization. A benchmark or VIX
series the store lacks (or does not cover) comes from the configured source; the metadata
says which was used.
"""

import json
from pathlib import Path
from typing import Any, Optional

import dagster as dg
from pydantic import Field

from research_lab.defs.backtest.metadata import backtest_metadata
from research_lab.defs.backtest.partitions import (
    backtest_partitions,
    history_deps,
    split_backtest_key,
)
from research_lab.defs.failures import use_case_failure
from research_lab.defs.resources import SourceResource, StoreResource
from research_lab.defs.run_config import SessionRangeConfig
from research_lab.defs.tracking.resources import TrackingResource


class BacktestConfig(SessionRangeConfig):
    """Launch-pad settings of a backtest run (the strategy and symbol are the partition)."""

    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Strategy parameters, e.g. {fast: 10, slow: 50}; unset ones use the "
        "strategy's defaults (research-lab strategy show NAME). For a run over several strategies, key them by "
        "strategy: {sma_cross: {fast: 10}, macd: {signal: 7}}.",
    )
    params_json: str = Field(
        default="",
        description='The same as a JSON object string, e.g. \'{"fast": 10}\'; merged over params.',
    )
    engine: str = Field(default="auto", description="auto (the strategy's own: fast strategies "
                        "on numba, backtrader ones on backtrader), fast or backtrader.")
    cash: Optional[float] = Field(default=None, description="Starting cash (unset: the lab's "
                                  "broker, the `broker:` section of config/research_lab.yaml).")
    sizing: Optional[str] = Field(
        default=None, description="fixed (stake units per entry) or percent (of equity); unset: "
        "the broker's."
    )
    stake: Optional[float] = Field(default=None, description="Units per entry with fixed sizing.")
    percent: Optional[float] = Field(default=None,
                                     description="Percent of equity with percent sizing.")
    commission: Optional[float] = Field(
        default=None, description="Fraction of traded value (0.001 = 0.1%), or money per "
        "contract with margin; unset: the broker's.",
    )
    mult: Optional[float] = Field(default=None,
                                  description="Contract multiplier (futures-like, with margin).")
    margin: Optional[float] = Field(
        default=None, description="Margin per contract: selects the futures-like scheme."
    )
    allow_short: Optional[bool] = Field(default=None, description="Go short on sell signals.")
    feeds: list[str] = Field(
        default_factory=list, description="More stored symbols fed to a backtrader strategy as "
        "self.datas[1:] (pairs, spreads), aligned on the shared sessions.")
    tearsheet: bool = Field(default=True, description="Write the quantstats tearsheet (~3 s).")
    mlflow: bool = Field(default=True, description="Log the report to MLflow (the `tracking` "
                         "resource) as {project}.{asset_class}.{strategy_family}.{strategy}.")
    project: str = Field(default="Default", description="MLflow experiment: project part.")
    asset_class: str = Field(default="Equities", description="MLflow experiment: asset class.")
    strategy_family: str = Field(default="General", description="MLflow experiment: family.")
    output_dir: Optional[str] = Field(
        default=None,
        description="Base folder of the `STRATEGY/SYMBOL/` outputs "
        "(unset: $RESEARCH_LAB_HOME/backtests).",
    )

    def strategy_params(self, strategy: str) -> dict[str, Any]:
        """The parameters given for ``strategy`` (flat, or keyed by strategy name)."""
        given = dict(self.params)
        if self.params_json.strip():
            try:
                parsed = json.loads(self.params_json)
            except json.JSONDecodeError as exc:
                raise ValueError(f"params_json is not valid JSON: {exc}") from None
            if not isinstance(parsed, dict):
                raise ValueError(f"params_json must be a JSON object, got {self.params_json!r}")
            given.update(parsed)
        keyed = [k for k, v in given.items() if isinstance(v, dict)]  # {strategy: {...}}
        if not keyed:
            return given
        if len(keyed) != len(given):
            raise ValueError(
                f"params mixes strategy names ({', '.join(keyed)}) with parameter names; give "
                "either {param: value} or {strategy: {param: value}}"
            )
        chosen = given.get(strategy) or {}
        if not isinstance(chosen, dict):
            raise ValueError(f"params[{strategy!r}] must be a mapping, got {chosen!r}")
        return dict(chosen)

    def broker(self) -> dict[str, Any]:
        """Overrides of the lab's broker (unset fields keep its values)."""
        names = ("cash", "sizing", "stake", "percent", "commission", "mult", "margin",
                 "allow_short")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def output_folder(config: BacktestConfig, strategy: str, symbol: str) -> Path:
    from research_lab.core.settings import load_settings

    base = Path(config.output_dir) if config.output_dir else load_settings().home / "backtests"
    return base / strategy / symbol.replace("/", "_")


@dg.asset(
    partitions_def=backtest_partitions,
    deps=history_deps,
    group_name="backtest",
    kinds={"python"},
    description="One strategy backtested on one symbol's whole stored history: 50 metrics, "
    "regime table, benchmark comparison; result JSON, equity plot, trades CSV and tearsheet "
    "under `$RESEARCH_LAB_HOME/backtests/STRATEGY/SYMBOL/`.",
)
def backtest_results(
    context: dg.AssetExecutionContext,
    config: BacktestConfig,
    store: StoreResource,
    source: SourceResource,
    tracking: TrackingResource,
) -> dg.MaterializeResult:
    from research_lab.core.usecases import backtest_symbol

    strategy, symbol = split_backtest_key(context.partition_key)
    start, end = config.session_range()
    st = store.open()
    try:
        run = backtest_symbol(
            symbol, strategy, config.strategy_params(strategy), store=st, source=source.get,
            start=start, end=end, broker=config.broker(), engine=config.engine,
            feeds=tuple(config.feeds),
            folder=lambda sym: output_folder(config, strategy, sym), tearsheet=config.tearsheet,
            tracking=_tracking(context, config, tracking),
            progress=lambda sym: context.log.info(f"backtesting {strategy} on {sym}"),
        )
    except ValueError as exc:  # open critical anomalies, bad parameters, missing bars
        raise use_case_failure(exc) from None
    context.log.info(run.report.summary_line())
    metadata = backtest_metadata(run.report, run.files)
    if run.tracked is not None:
        if run.tracked.error:
            context.log.warning(f"MLflow run not written ({run.tracked.error}); kept in the "
                                "outbox")
        metadata["mlflow_experiment"] = dg.MetadataValue.text(run.tracked.experiment)
        metadata["mlflow_run_id"] = dg.MetadataValue.text(run.tracked.label())
    return dg.MaterializeResult(metadata=metadata)


def _tracking(context, config: BacktestConfig, tracking: TrackingResource):
    """Where the run goes in MLflow, or None when logging is off."""
    if not config.mlflow:
        return None
    from research_lab.core.usecases import Tracking

    return Tracking(tracking.get_tracker, config.project, config.asset_class,
                    config.strategy_family,
                    lineage=lambda **tags: tracking.lineage(context, **tags))
