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
    engine: str = "auto",
    together: bool = False,
    feeds: Sequence[str] = (),
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
    ``strategy``: a registered name or a reference (see :mod:`research_lab.core.strategies`);
    ``together``: all ``symbols`` feed ONE backtrader strategy (``self.datas``), one report;
    ``feeds``: more stored symbols fed with each symbol (gated like it).
    """
    from research_lab.core.backtest.costs import load_broker
    from research_lab.core.backtest.market_context import load_market_context
    from research_lab.core.backtest.outputs import check_output_dir, write_outputs
    from research_lab.core.backtest.report import backtest_report

    from research_lab.core.backtest.strategies import resolve_strategy

    ref = resolve_strategy(strategy)
    resolved = ref.resolve(dict(params or {}))
    settings = load_broker(**dict(broker or {})).to_dict()
    experiment = tracking.experiment(ref.name) if tracking is not None else None
    if not symbols:
        raise ValueError("no symbol to backtest")
    if together and len(symbols) < 2:
        raise ValueError("backtesting symbols together needs at least two symbols")
    leaders = symbols[:1] if together else symbols
    if folder is not None:
        for symbol in leaders:
            check_output_dir(folder(symbol))
    fetch = source if fetch_missing else None
    histories = [gated_history(store, s, start=start, end=end, source=fetch) for s in symbols]
    extra = [gated_history(store, s, start=start, end=end, source=fetch) for s in feeds]
    groups = ([(histories[0], histories[1:] + extra)] if together
              else [(h, extra) for h in histories])

    reports = []
    label = f"store {store.url}" if store is not None else "store"
    for history, fed in groups:
        context = market or load_market_context(
            history.first, history.last, frames=history.frames or None, store=store,
            source=source, store_label=label,
        )
        if progress is not None:
            progress(history.symbol)
        reports.append(backtest_report(history.bars, ref, resolved, engine=engine,
                                       market=context, origin=history.origin,
                                       feeds=[f.bars for f in fed], **settings))
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
