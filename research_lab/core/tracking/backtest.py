"""Log a backtest: the bridge between ``core.backtest`` and the tracker.

Two entry points: :func:`log_backtest_report` for a ``core.backtest.report.BacktestReport``
(what ``research-lab backtest`` and the backtest assets make: 50 metrics, lineage with the
data version, files written by ``outputs.write_outputs``), and :func:`log_backtest` for a bare
``BacktestResult`` (sweeps, studies)::

    result = run_backtest(bars, "sma_cross", {"fast": 10, "slow": 30})
    ticket = log_backtest(tracker, "Q1_2025.Equities.MeanReversion.SMACrossover", result,
                          symbol="ACME", metrics=performance_report(result.returns, ...),
                          lineage=Lineage(data_version=data_version(bars), seed=0))

What lands in MLflow:

* params: the strategy's resolved parameters, plus ``engine``, ``symbol`` and the broker
  settings as ``broker.<name>``;
* metrics: ``metrics`` (e.g. the 50 of ``core.metrics.performance_report``) over the result's
  own summary (``total_return``, ``sharpe``, ``max_drawdown``), ``final_value``, ``trades``,
  ``orders``, ``rejected_orders``;
* artifacts: ``result.json`` (``BacktestResult.to_dict()``), ``equity.csv``, ``trades.csv``,
  ``orders.csv``, plus anything in ``extra_artifacts`` (a tearsheet, plots).

The result object is duck-typed (``params``, ``engine``, ``broker``, ``summary()``,
``to_dict()``, ``equity``, ``trades``, ``orders``), so this module imports nothing heavy.
Tracking never fails the backtest: an unreachable server sends the run to the outbox.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from research_lab.core.tracking.naming import ExperimentName
from research_lab.core.tracking.tags import Lineage
from research_lab.core.tracking.tracker import ExperimentTracker, RunTicket


def backtest_params(result: Any, symbol: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = dict(result.params)
    params["engine"] = result.engine
    if symbol:
        params["symbol"] = symbol
    for key, value in dict(result.broker).items():
        params[f"broker.{key}"] = value
    return params


def backtest_metrics(result: Any, metrics: Mapping[str, Any] | None = None) -> dict[str, float]:
    out: dict[str, Any] = dict(result.summary())
    out.update({
        "final_value": result.final_value,
        "trades": len(result.trades),
        "orders": len(result.orders),
        "rejected_orders": result.rejected_orders,
    })
    out.update(metrics or {})
    clean = {}
    for key, value in out.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # a non-numeric report entry (a date, a label) is not a metric
        clean[str(key)] = number if not math.isinf(number) else math.copysign(1e308, number)
    return clean


def write_backtest_artifacts(result: Any, folder: str | Path) -> dict[str, str]:
    """Write ``result.json``, ``equity.csv``, ``trades.csv``, ``orders.csv`` into ``folder``;
    returns artifact name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in
             ("result.json", "equity.csv", "trades.csv", "orders.csv")}
    paths["result.json"].write_text(json.dumps(result.to_dict()))
    result.equity.rename("equity").to_csv(paths["equity.csv"], index_label="date")
    result.trades.to_csv(paths["trades.csv"], index=False)
    result.orders.to_csv(paths["orders.csv"], index=False)
    return {name: str(path) for name, path in paths.items()}


def log_backtest(
    tracker: ExperimentTracker,
    experiment: ExperimentName | str,
    result: Any,
    *,
    symbol: str | None = None,
    metrics: Mapping[str, Any] | None = None,
    run_name: str | None = None,
    lineage: Lineage | None = None,
    tags: Mapping[str, Any] | None = None,
    extra_artifacts: Mapping[str, Any] | None = None,
    artifact_dir: str | Path | None = None,
    parent: RunTicket | None = None,
    run_key: str | None = None,
) -> RunTicket:
    """Log one backtest (see the module docstring). ``artifact_dir``: where to write the
    artifact files (default: a temporary folder; the tracker keeps its own copies)."""
    name = run_name or " ".join(
        [p for p in (symbol, result.strategy) if p]
        + [f"{k}={v}" for k, v in dict(result.params).items()])
    all_tags = {**({"symbol": symbol} if symbol else {}), **(tags or {})}
    kwargs = dict(params=backtest_params(result, symbol), metrics=backtest_metrics(result, metrics),
                  tags=all_tags, lineage=lineage, parent=parent, run_key=run_key,
                  kind="trial" if parent else "backtest")
    if artifact_dir is not None:
        files = write_backtest_artifacts(result, artifact_dir)
        return tracker.log_run(experiment, name[:250],
                               artifacts={**files, **(extra_artifacts or {})}, **kwargs)
    with tempfile.TemporaryDirectory(prefix="rl-backtest-") as tmp:
        files = write_backtest_artifacts(result, tmp)
        return tracker.log_run(experiment, name[:250],
                               artifacts={**files, **(extra_artifacts or {})}, **kwargs)


def strategy_tags(lineage: Mapping[str, Any]) -> dict[str, str]:
    """The strategy's code version (source-file hash, package version, class, file) and the
    feeds of a report's lineage, as run tags."""
    code = lineage.get("strategy") or {}
    tags = {f"strategy_{k}": str(v) for k, v in code.items()
            if k in ("kind", "class", "file", "code_version", "package_version") and v}
    if lineage.get("feeds"):
        tags["feeds"] = ",".join(f["symbol"] for f in lineage["feeds"])
    return tags


def log_backtest_report(
    tracker: ExperimentTracker,
    experiment: ExperimentName | str,
    report: Any,
    files: Mapping[str, Any] | None = None,
    *,
    lineage: Lineage | None = None,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    parent: RunTicket | None = None,
    run_key: str | None = None,
) -> RunTicket:
    """Log a ``BacktestReport``: its 50 metrics, the result's params, ``data_version`` from
    the report's lineage (unless ``lineage`` gives one), and ``files`` (``write_outputs``'s
    ``{kind: path}``: result.json, equity.png, trades.csv, tearsheet.html) as artifacts under
    their file names; without ``files``, result.json, equity.csv, trades.csv and orders.csv
    are written to a temporary folder first."""
    from dataclasses import replace

    result = report.result
    lineage = lineage or Lineage()
    if lineage.data_version is None and getattr(report, "data_version", None):
        lineage = replace(lineage, data_version=report.data_version)
    name = run_name or " ".join(
        [report.symbol, result.strategy] + [f"{k}={v}" for k, v in dict(result.params).items()])
    kwargs = dict(
        params=backtest_params(result, report.symbol),
        metrics=backtest_metrics(result, report.metrics),
        tags={"symbol": report.symbol, **strategy_tags(getattr(report, "lineage", {})),
              **(tags or {})}, lineage=lineage, parent=parent,
        run_key=run_key, kind="trial" if parent else "backtest",
    )
    if files:
        artifacts = {Path(p).name: p for p in files.values()}
        return tracker.log_run(experiment, name[:250], artifacts=artifacts, **kwargs)
    with tempfile.TemporaryDirectory(prefix="rl-backtest-") as tmp:
        artifacts = write_backtest_artifacts(result, tmp)
        Path(artifacts["result.json"]).write_text(json.dumps(report.to_dict()))
        return tracker.log_run(experiment, name[:250], artifacts=artifacts, **kwargs)
