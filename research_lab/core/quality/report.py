"""The anomaly report: counts by severity per symbol and per day, open criticals, overrides,
the false-positive rate, and a plot of anomalies over time.

::

    report = build_report(read_scores(store), read_overrides(store))
    text = report_markdown(report)
    anomaly_plot(scores, "anomalies.png")

The false-positive rate is what analysts decided: overrides in force with verdict
``false_positive`` over all overrides in force (``None`` before the first one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .gate import acknowledged_mask
from .severity import CRITICAL, SEVERITIES, WARNING


@dataclass(frozen=True)
class AnomalyReport:
    by_symbol: pd.DataFrame  # symbol, info, warning, critical, open_critical, false_positive, confirmed
    by_day: pd.DataFrame  # session, warning, critical (days with any), newest first
    open_criticals: pd.DataFrame  # symbol, session, reasons
    overrides: pd.DataFrame  # in force: symbol, session, verdict, author, reason
    partitions: int
    false_positive_rate: float | None

    @property
    def open_count(self) -> int:
        return len(self.open_criticals)


def build_report(scores: pd.DataFrame, overrides: pd.DataFrame) -> AnomalyReport:
    """Summaries of stored ``scores`` and the ``overrides`` in force (latest per partition)."""
    acked = acknowledged_mask(scores, overrides)
    counts = (
        scores.groupby(["symbol", "severity"]).size().unstack(fill_value=0)
        .reindex(columns=list(SEVERITIES), fill_value=0)
    ) if len(scores) else pd.DataFrame(columns=list(SEVERITIES))
    is_open = (scores["severity"] == CRITICAL) & ~acked
    open_per_symbol = scores[is_open].groupby("symbol").size()
    counts["open_critical"] = open_per_symbol.reindex(counts.index, fill_value=0)
    for verdict in ("false_positive", "confirmed"):
        per = overrides[overrides["verdict"] == verdict].groupby("symbol").size()
        counts[verdict] = per.reindex(counts.index, fill_value=0)
    by_symbol = counts.reset_index().rename(columns={"index": "symbol"})
    flagged = scores[scores["severity"].isin((WARNING, CRITICAL))]
    by_day = (
        flagged.groupby(["session", "severity"]).size().unstack(fill_value=0)
        .reindex(columns=[WARNING, CRITICAL], fill_value=0).sort_index(ascending=False).reset_index()
    ) if len(flagged) else pd.DataFrame(columns=["session", WARNING, CRITICAL])
    open_rows = scores[is_open][["symbol", "session", "reasons"]].reset_index(drop=True)
    decided = len(overrides)
    rate = float((overrides["verdict"] == "false_positive").sum() / decided) if decided else None
    kept = overrides[["symbol", "session", "verdict", "author", "reason"]] if decided else overrides
    return AnomalyReport(by_symbol, by_day, open_rows, kept.reset_index(drop=True), len(scores), rate)


def _md_table(frame: pd.DataFrame, limit: int) -> str:
    if frame.empty:
        return "_none_"
    shown = frame.head(limit).copy()
    for col in shown.columns:
        if pd.api.types.is_datetime64_any_dtype(shown[col]):
            shown[col] = shown[col].dt.date.astype(str)
    head = "| " + " | ".join(map(str, shown.columns)) + " |"
    rule = "|" + "---|" * len(shown.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    more = [f"\n_... {len(frame) - limit} more rows_"] if len(frame) > limit else []
    return "\n".join([head, rule, *body, *more])


def report_markdown(report: AnomalyReport, *, limit: int = 30, plot_png: bytes | None = None) -> str:
    """The report as markdown (the asset's main metadata entry)."""
    fp = report.false_positive_rate
    rate = "no overrides yet" if fp is None else f"{fp:.1%}"
    opened = report.open_criticals.copy()
    if len(opened):
        opened["reasons"] = opened["reasons"].map(lambda r: "; ".join(json.loads(r))[:160])
    parts = [
        f"**{report.partitions}** scored partitions, **{report.open_count}** open critical "
        f"(unacknowledged); false-positive rate from overrides: **{rate}**.",
        "### By symbol", _md_table(report.by_symbol, limit),
        "### Open criticals (block studies of the symbol)", _md_table(opened, limit),
        "### Days with warnings or criticals (newest first)", _md_table(report.by_day, limit),
        "### Overrides in force", _md_table(report.overrides, limit),
    ]
    if plot_png:
        import base64

        parts.append("### Anomalies over time")
        parts.append(f"![anomalies](data:image/png;base64,{base64.b64encode(plot_png).decode()})")
    return "\n\n".join(parts)


def anomaly_plot(scores: pd.DataFrame, path: str | Path, *, dpi: int = 100) -> Path:
    """PNG: warnings and criticals per symbol over time (top), flagged partitions per month
    (bottom). Drawn on a bare Figure (no pyplot, no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    symbols = sorted(scores["symbol"].unique()) if len(scores) else []
    fig = Figure(figsize=(10, 2.2 + 0.35 * max(len(symbols), 1) + 2.2), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[max(len(symbols), 1) * 0.35 + 1, 2])
    colors = {WARNING: "#e8a317", CRITICAL: "#c0392b"}
    flagged = scores[scores["severity"].isin((WARNING, CRITICAL))]
    for sev in (WARNING, CRITICAL):
        rows = flagged[flagged["severity"] == sev]
        top.scatter(rows["session"], rows["symbol"].map({s: i for i, s in enumerate(symbols)}),
                    s=14 if sev == WARNING else 30, c=colors[sev], label=sev,
                    marker="|" if sev == WARNING else "o")
    top.set_yticks(range(len(symbols)), symbols)
    top.set_title("Anomalies by symbol and session")
    top.legend(loc="upper left", fontsize=8)
    if len(flagged):
        monthly = (flagged.groupby([pd.Grouper(key="session", freq="MS"), "severity"]).size()
                   .unstack(fill_value=0))
        bottom_base = None
        for sev in (WARNING, CRITICAL):
            if sev in monthly:
                bottom.bar(monthly.index, monthly[sev], width=25, color=colors[sev],
                           bottom=bottom_base, label=sev)
                bottom_base = monthly[sev] if bottom_base is None else bottom_base + monthly[sev]
    bottom.set_ylabel("flagged / month")
    FigureCanvasAgg(fig)  # attach the Agg canvas: no pyplot, no display
    fig.savefig(out, dpi=dpi)
    return out
