"""Use case: backtest one strategy on stored symbols (the CLI's ``--symbols``, the
``backtest_results`` asset).

:func:`backtest_symbols` does the whole sequence, in this order, so that a refusal writes
nothing: resolve the parameters and the broker -> for every symbol the quality gate and its
history (:func:`.history.gated_history`) -> the benchmark / VIX context -> every report
(:func:`research_lab.core.backtest.report.backtest_report`) -> only then every output folder
and MLflow run. The broker is the lab's one broker (:func:`~research_lab.core.backtest.costs.
load_broker`) with the caller's overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .history import gated_history
from .tracking import Tracked, Tracking, finish


@dataclass(frozen=True, eq=False)
class BacktestRun:
    """One symbol's backtest: the report, the files written, the MLflow run (if tracked)."""

    report: Any  # BacktestReport
    files: dict[str, Path] = field(default_factory=dict)
    tracked: Tracked | None = None

    @property
    def symbol(self) -> str:
        return self.report.symbol


def backtest_symbols(
    symbols: Sequence[str],
    strategy: str,
    params: Mapping[str, Any] | None = None,
    *,
    store: Any,
    source: Callable[[], Any] | None = None,
    fetch_missing: bool = False,
    start: date | None = None,
    end: date | None = None,
    broker: Mapping[str, Any] | None = None,
    engine: str = "fast",
    market: Any = None,
    folder: Callable[[str], Path] | None = None,
    tearsheet: bool = True,
    tracking: Tracking | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[BacktestRun]:
    """Backtest ``strategy`` on each of ``symbols`` (see the module docstring).

    ``store``: the market-data store (None: no store, every symbol from ``source``);
    ``source()``: the configured source, for the benchmark / VIX the store lacks and, with
    ``fetch_missing``, for symbols the store lacks (else they are an error);
    ``broker``: overrides of the lab's broker (None values ignored); ``market``: a
    ``MarketContext`` to use instead of the store's / source's indexes; ``folder(symbol)``:
    where that symbol's files go (None: no files); ``tracking``: log each report to MLflow.
    """
    from research_lab.core.backtest import get_space
    from research_lab.core.backtest.costs import load_broker
    from research_lab.core.backtest.market_context import load_market_context
    from research_lab.core.backtest.outputs import check_output_dir, write_outputs
    from research_lab.core.backtest.report import backtest_report

    resolved = get_space(strategy).resolve(dict(params or {}))
    settings = load_broker(**dict(broker or {})).to_dict()
    experiment = tracking.experiment(strategy) if tracking is not None else None
    if not symbols:
        raise ValueError("no symbol to backtest")
    if folder is not None:
        for symbol in symbols:
            check_output_dir(folder(symbol))
    histories = [gated_history(store, s, start=start, end=end,
                               source=source if fetch_missing else None) for s in symbols]

    reports = []
    label = f"store {store.url}" if store is not None else "store"
    for history in histories:
        context = market or load_market_context(
            history.first, history.last, frames=history.frames or None, store=store,
            source=source, store_label=label,
        )
        if progress is not None:
            progress(history.symbol)
        reports.append(backtest_report(history.bars, strategy, resolved, engine=engine,
                                       market=context, origin=history.origin, **settings))
    runs = []
    for report in reports:
        files = (write_outputs(report, folder(report.symbol), tearsheet=tearsheet)
                 if folder is not None else {})
        tracked = None
        if tracking is not None:
            from research_lab.core.tracking.backtest import log_backtest_report

            lineage = tracking.lineage_of(report.lineage.get("data_version"))
            ticket = log_backtest_report(tracking.client(), experiment, report, files or None,
                                         lineage=lineage)
            tracked = finish(ticket, experiment)
        runs.append(BacktestRun(report, files, tracked))
    return runs


def backtest_symbol(symbol: str, strategy: str, params: Mapping[str, Any] | None = None,
                    **options: Any) -> BacktestRun:
    """:func:`backtest_symbols` for one symbol (the ``backtest_results`` asset)."""
    return backtest_symbols([symbol], strategy, params, **options)[0]
