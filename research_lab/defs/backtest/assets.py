"""The ``backtest_results`` asset: one strategy on one symbol's whole stored history.

Thin on purpose: read the partition key and the config, read the symbol's history (and the
benchmark ``^GSPC`` and volatility index ``^VIX``) from the store in **one query**, call
``core.backtest.report.backtest_report``, write the files with ``core.backtest.outputs``, and
return the key metrics, the tables and the file paths as metadata.

Files go to ``$RESEARCH_LAB_HOME/backtests/<strategy>/<symbol>/`` (or ``<output_dir>/<strategy>/
<symbol>/`` from the config), replaced atomically at each materialization. A benchmark or VIX
series the store lacks (or does not cover) comes from the configured source; the metadata
says which was used.

``_quality_gate(store, symbol)`` is where the data-quality sentinel (issue 6) blocks a backtest
on data with critical anomalies: it returns None (go) or the reason to stop, and the asset then
fails with that reason before backtesting anything.
"""

import json
from datetime import date
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
from research_lab.defs.resources import SourceResource, StoreResource
from research_lab.defs.run_config import SessionRangeConfig
from research_lab.defs.tracking.resources import TrackingResource

BENCHMARK = "^GSPC"  # as research_lab.core.backtest.market_context (not imported: pandas)
VIX = "^VIX"


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
    cash: float = Field(default=10_000.0, description="Starting cash.")
    sizing: str = Field(
        default="fixed", description="fixed (stake units per entry) or percent (of equity)."
    )
    stake: float = Field(default=1.0, description="Units per entry with fixed sizing.")
    percent: float = Field(default=95.0, description="Percent of equity with percent sizing.")
    commission: float = Field(
        default=0.0,
        description="Fraction of traded value (0.001 = 0.1%), or money per contract with margin.",
    )
    mult: float = Field(default=1.0, description="Contract multiplier (futures-like, with margin).")
    margin: Optional[float] = Field(
        default=None, description="Margin per contract: selects the futures-like scheme."
    )
    allow_short: bool = Field(default=False, description="Go short on sell signals.")
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
        names = ("cash", "sizing", "stake", "percent", "commission", "mult", "margin",
                 "allow_short")
        return {n: getattr(self, n) for n in names}


def _quality_gate(store: Any, symbol: str) -> str | None:
    """The data-quality gate: the reason not to backtest ``symbol``'s stored bars (open,
    unacknowledged critical anomalies, see ``core.quality.gate``), or None to go ahead."""
    from research_lab.core.quality.gate import open_criticals

    found = open_criticals(store, symbol)
    if not found:
        return None
    sessions = ", ".join(str(a.session) for a in found[:5]) + (" ..." if len(found) > 5 else "")
    return (f"{len(found)} open critical anomal{'y' if len(found) == 1 else 'ies'} "
            f"({sessions}); acknowledge with `research-lab quality ack` or fix the data")


def read_histories(store: Any, symbol: str, feeds: tuple[str, ...] = ()) -> dict[str, Any]:
    """The whole stored history of ``symbol`` (and ``feeds``), ``^GSPC`` and ``^VIX``, in one
    query, by symbol."""
    frame = store.read_many([symbol, *feeds, BENCHMARK, VIX])
    return {
        str(sym): rows.reset_index(drop=True)
        for sym, rows in frame.groupby("symbol", sort=False)
    }


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
    from research_lab.core.backtest import get_space
    from research_lab.core.backtest.market_context import load_market_context
    from research_lab.core.backtest.outputs import write_outputs
    from research_lab.core.backtest.report import backtest_report

    strategy, symbol = split_backtest_key(context.partition_key)
    params = get_space(strategy).resolve(config.strategy_params(strategy))  # bad: fail first
    experiment = _experiment(config, strategy)
    start, end = config.session_range()
    st = store.open()
    blocked = _quality_gate(st, symbol)
    if blocked:
        raise dg.Failure(description=f"backtest of {symbol} blocked by data quality: {blocked}")

    histories = read_histories(st, symbol, tuple(config.feeds))
    bars = histories.get(symbol)
    if bars is None or bars.empty:
        raise dg.Failure(description=f"the store at {st.url} has no bars of {symbol}; "
                                     "materialize market_data for it first")
    sessions = bars["session"].dt.date
    bars = bars.loc[(sessions >= (start or date.min)) & (sessions <= (end or date.max))]
    if len(bars) < 2:
        raise dg.Failure(description=f"{symbol}: {len(bars)} stored bar(s) between "
                                     f"{start or 'the start'} and {end or 'the end'}; need 2")
    bars = bars.reset_index(drop=True)
    market = load_market_context(
        bars["session"].iloc[0].date(), bars["session"].iloc[-1].date(),
        frames=histories, source=source.get, store_label=f"store {st.url}",
    )
    context.log.info(f"backtesting {strategy} {params} on {symbol}: {len(bars)} bars")
    missing = [f for f in config.feeds if f not in histories]
    if missing:
        raise dg.Failure(description=f"feeds {', '.join(missing)}: no bars in the store {st.url}")
    feeds = [histories[f] for f in config.feeds]
    report = backtest_report(bars, strategy, params, engine=config.engine, market=market,
                             origin=f"store {st.url}", feeds=feeds, **config.broker())
    paths = write_outputs(report, output_folder(config, strategy, symbol),
                          tearsheet=config.tearsheet)
    context.log.info(report.summary_line())
    metadata = backtest_metadata(report, paths)
    if experiment is not None:
        metadata.update(_log_to_mlflow(context, tracking, experiment, report, paths))
    return dg.MaterializeResult(metadata=metadata)


def _experiment(config: BacktestConfig, strategy: str):
    """The validated MLflow experiment name, or None when logging is off."""
    if not config.mlflow:
        return None
    from research_lab.core.tracking.naming import ExperimentName

    return ExperimentName(config.project, config.asset_class, config.strategy_family, strategy)


def _log_to_mlflow(context, tracking: TrackingResource, experiment, report, paths) -> dict:
    """Log the report; never fails the materialization (the outbox keeps what can't be sent)."""
    from research_lab.core.tracking.backtest import log_backtest_report

    lineage = tracking.lineage(context, data_version=report.lineage.get("data_version"))
    ticket = log_backtest_report(tracking.get_tracker(), experiment, report, paths,
                                 lineage=lineage)
    ticket.wait()
    if ticket.run_id:
        return {"mlflow_experiment": dg.MetadataValue.text(str(experiment)),
                "mlflow_run_id": dg.MetadataValue.text(ticket.run_id)}
    context.log.warning(f"MLflow run not written ({ticket.error}); kept in the outbox")
    return {"mlflow_experiment": dg.MetadataValue.text(str(experiment)),
            "mlflow_run_id": dg.MetadataValue.text("pending in the outbox")}
