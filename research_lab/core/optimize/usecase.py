"""The study use case: one function from a stored symbol to a tracked study report.

The CLI (``research-lab optimize``), the ``optimization_study`` asset and the HTTP API (whose
runs are that asset) all go through here, so none of them can skip a step::

    from research_lab.core.optimize.usecase import StudyInputs, optimize_symbol

    report = optimize_symbol(StudyInputs("sma_cross", "ACME", "acme-sma", config=cfg),
                             tracker=lambda request: MlflowStudyTracker(...))

In order:

1. **quality gate**: an open critical anomaly of the symbol refuses the study
   (:class:`~research_lab.core.quality.gate.QualityGateError`, a ``ValueError`` naming the
   symbol, the sessions and ``research-lab quality ack``);
2. **history**: the symbol's bars from the market-data store in one query (or bars handed in,
   e.g. a CSV file: there are no anomaly scores for those, so no gate); with ``feeds`` (more
   symbols fed to the same backtrader strategy: :mod:`.feeds`) each of them is gated and read
   too, and all are cut to the sessions they share;
3. **session range**: ``start..end``, and the walk-forward plan must fit in it (a one-line
   ``ValueError`` naming the symbol otherwise);
4. **run** (:func:`~.runner.run_study`): market-hours budget, workers, recovery;
5. **outputs**: plots, ``leaderboard.md`` and ``report.json`` in ``output_dir`` (default
   ``$RESEARCH_LAB_HOME/studies/<study>``), the baselines (default parameters, buy-and-hold,
   trials/hour: :mod:`.baselines`) in the report;
6. **tracking**: the tracker the caller builds from the prepared request (parent run + one
   child run per trial).

:func:`prepare_study` runs steps 1-3 alone, so that a caller with several symbols (or the API,
before accepting a request) checks every input before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from research_lab.core.optimize.config import OptimizeConfig, load_optimize_config
from research_lab.core.optimize.objective import ObjectiveSpec
from research_lab.core.optimize.runner import StudyRequest, run_study
from research_lab.core.optimize.space import SearchSpace


@dataclass(frozen=True)
class StudyInputs:
    """What a researcher asks for; unset values come from ``config``."""

    strategy: str
    symbol: str
    study_name: str
    space: SearchSpace | None = None           # None: the strategy's full space
    objective: ObjectiveSpec | None = None
    config: OptimizeConfig = field(default_factory=load_optimize_config)
    start: date | None = None
    end: date | None = None
    output_dir: str | None = None
    bars: Any = None                           # bars handed in (CSV): no store, no gate
    store_url: str | None = None               # None: the configured market-data store
    feeds: tuple[str, ...] = ()                # more stored symbols, self.datas[1:] (.feeds)


def read_history(store: Any, symbol: str, start: date | None, end: date | None) -> Any:
    """Steps 1-2 on an open store: the gate, then the bars between ``start`` and ``end``."""
    from research_lab.core.quality.gate import require_no_open_criticals

    require_no_open_criticals(store, symbol)
    bars = store.read_bars(symbol, start, end)
    if bars.empty:
        raise ValueError(f"no bars of {symbol} in the store {store.url} between "
                         f"{start or 'the start'} and {end or 'the end'}; ingest them first "
                         "(research-lab data ingest)")
    return bars


def session_range(bars: Any, start: date | None, end: date | None) -> Any:
    """Step 3: the bars with ``start <= session <= end``."""
    sessions = bars["session"].dt.date
    keep = (sessions >= (start or sessions.min())) & (sessions <= (end or sessions.max()))
    return bars.loc[keep].reset_index(drop=True)


def prepare_study(inputs: StudyInputs) -> StudyRequest:
    """Steps 1-3: a validated :class:`~.runner.StudyRequest`; nothing is written."""
    from research_lab.core.optimize.space import default_space
    from research_lab.core.optimize.folds import plan_study_folds

    if inputs.start and inputs.end and inputs.start > inputs.end:
        raise ValueError(f"start {inputs.start} is after end {inputs.end}")
    fed: tuple[str, ...] = ()
    if inputs.feeds:
        from research_lab.core.backtest.strategies import resolve_strategy
        from research_lab.core.optimize.feeds import check_feed_symbols, require_backtrader

        fed = check_feed_symbols([inputs.symbol, *inputs.feeds], "symbols")[1:]
        require_backtrader(resolve_strategy(inputs.strategy))
        if inputs.bars is not None:
            raise ValueError("several symbols together come from the market-data store, not "
                             "from bars handed in")
    space = inputs.space or default_space(inputs.strategy)
    feeds: list[Any] = []
    if inputs.bars is not None:
        bars = inputs.bars
    else:
        from research_lab.core.marketdata.store import BarStore
        from research_lab.core.settings import load_settings

        store = BarStore.from_url(inputs.store_url or load_settings().resolved_store_url)
        try:
            bars = read_history(store, inputs.symbol, inputs.start, inputs.end)
            feeds = [read_history(store, s, inputs.start, inputs.end) for s in fed]
        finally:
            store.close()
    bars = session_range(bars, inputs.start, inputs.end)
    if feeds:
        from research_lab.core.strategies.feeds import align_feeds

        bars, feeds, _ = align_feeds(bars, [session_range(f, inputs.start, inputs.end)
                                            for f in feeds])
    try:
        plan_study_folds(bars["session"], inputs.config.walkforward)
    except ValueError as exc:
        raise ValueError(f"{inputs.symbol}: {exc}") from None
    from research_lab.core.optimize.objective import objective_from_config

    objective = inputs.objective or objective_from_config(inputs.config)
    if objective.min_trades:
        from research_lab.core.backtest.strategies import resolve_strategy
        from research_lab.core.optimize.worker import TRADES_UNAVAILABLE

        if resolve_strategy(inputs.strategy).kind == "backtrader":
            raise ValueError(f"{inputs.strategy}: {TRADES_UNAVAILABLE}")
    return StudyRequest(inputs.strategy, inputs.symbol, bars, space, inputs.study_name,
                        objective=objective, config=inputs.config,
                        output_dir=inputs.output_dir or default_output_dir(inputs.study_name),
                        feeds=tuple(feeds))


def default_output_dir(study_name: str) -> str:
    from research_lab.core.settings import load_settings

    return str(load_settings().home / "studies" / study_name.replace("/", "_"))


def optimize_symbol(inputs: StudyInputs | StudyRequest, *,
                    tracker: Callable[[StudyRequest], Any] | None = None,
                    on_progress: Callable[[dict[str, int]], None] | None = None,
                    **run_options: Any) -> Any:
    """The whole study (see the module docstring); returns the
    :class:`~.report.StudyReport`. ``inputs`` may be a request :func:`prepare_study` already
    made; ``tracker(request)`` builds the study's tracker (default: none)."""
    from research_lab.core.optimize.tracking import NoopTracker

    request = inputs if isinstance(inputs, StudyRequest) else prepare_study(inputs)
    study_tracker = tracker(request) if tracker is not None else NoopTracker()
    try:
        return run_study(request, tracker=study_tracker, on_progress=on_progress, **run_options)
    finally:
        study_tracker.close()
