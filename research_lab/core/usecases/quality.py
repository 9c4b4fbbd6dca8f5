"""Use cases of the data-quality sentinel: score partitions, and report on the anomalies.

:func:`score_quality` scores the given sessions of each symbol from the store (rules,
Isolation Forest, Prophet residuals; thresholds from the calibrated file) and writes the
scores, then lists the open criticals and the warnings among them (what the asset's checks
report). :func:`quality_report` builds the cross-symbol report with its KPIs:

======================================= ==========================================================
``anomalies_per_batch``                 mean flagged (warning or critical) partitions per ingest
                                        batch; a batch is one write of market data (the
                                        partitions the store's ledger records with the same
                                        ``written_at``)
``median_hours_to_acknowledge``         median time from detection (the anomaly's ``scored_at``)
                                        to the analyst's verdict in force (``created_at``), over
                                        flagged partitions with a verdict for the same bars
``false_positive_rate``                 verdicts ``false_positive`` / all verdicts in force
======================================= ==========================================================

Each is None when there is nothing to measure yet (no batch, no verdict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any


@dataclass(frozen=True, eq=False)
class ScoringRun:
    """What :func:`score_quality` scored, and the open criticals / warnings among it."""

    runs: tuple[Any, ...]  # core.quality.sentinel.ScoreRun per symbol
    open_criticals: tuple[str, ...]  # "SYMBOL SESSION: reason"
    warnings: tuple[str, ...]
    thresholds: str


def score_quality(
    store: Any,
    requests: Mapping[str, Sequence[date]],
    *,
    calendar: Any,
    thresholds_path: str | None = None,
    use_iforest: bool = True,
    use_prophet: bool = True,
    workers: int | None = None,
) -> ScoringRun:
    """Score ``requests`` (symbol -> sessions) and write the scores (one transaction per
    symbol); returns what was scored and which of those partitions are open criticals.

    ``workers``: processes scoring symbols in parallel (None: the CPUs this process may use;
    1: in this process). The scores do not depend on it (``core.quality.parallel``)."""
    from research_lab.core.quality.config import SentinelConfig
    from research_lab.core.quality.gate import open_criticals
    from research_lab.core.quality.parallel import check_workers, score_many
    from research_lab.core.quality.thresholds import load_thresholds
    from research_lab.core.settings import load_settings

    if not requests:
        raise ValueError("no partition to score")
    n_workers = check_workers(workers)
    book = load_thresholds(thresholds_path).with_stale_run(load_settings().stale_run)
    cfg = SentinelConfig(use_iforest=use_iforest, use_prophet=use_prophet)
    runs = score_many(store, requests, calendar=calendar, book=book, config=cfg,
                      workers=n_workers)
    scored = {(run.symbol, d) for run in runs for d in run.sessions}
    flagged = [run.symbol for run in runs if run.criticals]  # one query for all of them
    order = {sym: i for i, sym in enumerate(flagged)}
    found = sorted(open_criticals(store, flagged) if flagged else [],
                   key=lambda a: (order.get(a.symbol, len(order)), a.session))
    open_lines = [f"{a.symbol} {a.session}: {a.reasons[0] if a.reasons else ''}"
                  for a in found if (a.symbol, a.session) in scored]
    warning_lines = [f"{run.symbol} {d}: {why}" for run in runs for d, why in run.warnings]
    return ScoringRun(runs, tuple(open_lines), tuple(warning_lines), str(book.path or "built-in"))


@dataclass(frozen=True, eq=False)
class QualityReport:
    """The anomaly report (``core.quality.report.AnomalyReport``), its KPIs and its plot."""

    report: Any
    kpis: dict[str, float | int | None] = field(default_factory=dict)
    batches: Any = None  # pd.DataFrame: written_at, partitions, flagged (newest first)
    plot: Path | None = None

    def markdown(self) -> str:
        from research_lab.core.quality.report import report_markdown

        png = self.plot.read_bytes() if self.plot is not None else None
        return kpi_markdown(self.kpis) + "\n\n" + report_markdown(self.report, plot_png=png)


def quality_report(store: Any, *, plot_path: str | Path | None = None) -> QualityReport:
    """The anomaly report of everything scored in ``store`` with its KPIs (module docstring);
    the plot is drawn to ``plot_path`` when given."""
    from research_lab.core.marketdata.store import read_overrides, read_scores
    from research_lab.core.quality.report import anomaly_plot, build_report

    scores, overrides = read_scores(store), read_overrides(store)
    report = build_report(scores, overrides)
    batches = batch_table(store.partitions(), scores)
    kpis = anomaly_kpis(scores, overrides, batches)
    plot = anomaly_plot(scores, plot_path) if plot_path is not None else None
    return QualityReport(report, kpis, batches, plot)


FLAGGED = ("warning", "critical")


def batch_table(ledger: Any, scores: Any) -> Any:
    """Per ingest batch (ledger rows sharing ``written_at``): partitions written and how many
    of them the scores flag (warning or critical), newest batch first."""
    import pandas as pd

    if ledger.empty:
        return pd.DataFrame(columns=["written_at", "partitions", "flagged"])
    flagged = scores[scores["severity"].isin(FLAGGED)][["symbol", "session"]].assign(flag=1)
    joined = ledger[["symbol", "session", "written_at"]].merge(
        flagged, on=["symbol", "session"], how="left")
    table = (joined.groupby("written_at")
             .agg(partitions=("session", "size"), flagged=("flag", "sum"))
             .reset_index().sort_values("written_at", ascending=False))
    table["flagged"] = table["flagged"].astype(int)
    return table.reset_index(drop=True)


def anomaly_kpis(scores: Any, overrides: Any, batches: Any) -> dict[str, float | int | None]:
    """The three KPIs of the module docstring (None where nothing is measurable yet)."""
    import pandas as pd

    per_batch = float(batches["flagged"].mean()) if len(batches) else None
    hours = None
    if len(overrides) and len(scores):
        flagged = scores[scores["severity"].isin(FLAGGED)]
        pairs = flagged.merge(overrides, on=["symbol", "session", "bars_version"])
        if len(pairs):
            waited = (pd.to_datetime(pairs["created_at"], utc=True)
                      - pd.to_datetime(pairs["scored_at"], utc=True))
            hours = float(waited.dt.total_seconds().clip(lower=0).median() / 3600.0)
    decided = len(overrides)
    rate = float((overrides["verdict"] == "false_positive").sum() / decided) if decided else None
    return {"ingest_batches": int(len(batches)), "anomalies_per_batch": per_batch,
            "median_hours_to_acknowledge": hours, "false_positive_rate": rate}


def kpi_markdown(kpis: Mapping[str, Any]) -> str:
    def show(value: Any, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    return (f"**KPIs**: {show(kpis['anomalies_per_batch'], '.2f')} anomalies per ingest batch "
            f"({kpis['ingest_batches']} batches); median time to acknowledge "
            f"{show(kpis['median_hours_to_acknowledge'], '.1f')} h; false-positive rate "
            f"{show(kpis['false_positive_rate'], '.1%')}")
