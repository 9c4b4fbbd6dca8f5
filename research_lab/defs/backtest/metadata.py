"""What a ``backtest_results`` materialization shows in the Dagster UI.

- key metrics as numeric metadata (Dagster plots them across materializations): final value,
  total return, CAGR, volatility, Sharpe, Sortino, Calmar, max drawdown, trades, trade win rate,
  exposure and, with a benchmark, alpha, beta, information ratio; a NaN metric is left out
  (Dagster cannot plot it) and stays visible, blank, in the table;
- ``metrics``: all 50 metrics as a markdown table; ``regimes``: the regime table with the index
  and the volatility gauge it used;
- lineage: the bars' data version, span and row count, where the benchmark and VIX came from;
  the strategy's code version (``strategy_code_version``: hash of its source file;
  ``strategy_package_version``, class, file) and, for several symbols, the feeds;
- ``equity_curve``: the equity plot embedded as markdown with a base64 PNG (as the anomaly
  report embeds its plot), so the curve shows in the UI without opening a file;
- where the files are (``MetadataValue.path``): result JSON, equity plot, trades CSV, tearsheet.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import dagster as dg

PATH_LABELS = {
    "json": "result_json",
    "plot": "equity_plot",
    "trades": "trades_csv",
    "tearsheet": "tearsheet",
}


def _index_text(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "none"
    return f"{entry['symbol']} from {entry['origin']} ({entry['first']}..{entry['last']})"


def backtest_metadata(report: Any, paths: dict[str, Path]) -> dict[str, Any]:
    """Metadata for one report (:class:`~research_lab.core.backtest.report.BacktestReport`)
    and the files :func:`~research_lab.core.backtest.outputs.write_outputs` wrote."""
    from research_lab.core.metrics import markdown_table, metrics_markdown

    md: dict[str, Any] = {}
    for name, value in report.key_metrics().items():
        if name == "num_trades":
            md[name] = dg.MetadataValue.int(int(value))
        elif not math.isnan(value) and not math.isinf(value):
            md[name] = dg.MetadataValue.float(float(value))
    lineage = report.lineage
    regimes = report.regimes
    md.update(
        {
            "metrics": dg.MetadataValue.md(metrics_markdown(report.metrics)),
            "regimes": dg.MetadataValue.md(
                f"trend index: {lineage['regime_index']}; volatility: {lineage['vol_source']}; "
                f"unclassified days: {regimes.attrs.get('unclassified_days')}\n\n"
                + markdown_table(regimes.drop(columns=["vol_source"]))
            ),
            "params": dg.MetadataValue.json(dict(report.result.params)),
            "engine": dg.MetadataValue.text(report.result.engine),
            "bars": dg.MetadataValue.int(int(lineage["bars"])),
            "first_session": dg.MetadataValue.text(lineage["start"]),
            "last_session": dg.MetadataValue.text(lineage["end"]),
            "data_version": dg.MetadataValue.text(str(lineage["data_version"])),
            "benchmark": dg.MetadataValue.text(_index_text(lineage.get("benchmark"))),
            "vix": dg.MetadataValue.text(_index_text(lineage.get("vix"))),
        }
    )
    code = lineage.get("strategy") or {}
    for key in ("kind", "class", "file", "code_version", "package_version"):
        if code.get(key):
            md[f"strategy_{key}"] = dg.MetadataValue.text(str(code[key]))
    if lineage.get("feeds"):
        md["feeds"] = dg.MetadataValue.text(", ".join(f["symbol"] for f in lineage["feeds"]))
    if report.notes:
        md["notes"] = dg.MetadataValue.md("\n".join(f"- {n}" for n in report.notes))
    if paths.get("plot") is not None and Path(paths["plot"]).is_file():
        md["equity_curve"] = dg.MetadataValue.md(embedded_png(Path(paths["plot"]), report.title()))
    for kind, path in paths.items():
        md[PATH_LABELS[kind]] = dg.MetadataValue.path(str(path))
    return md


def embedded_png(path: Path, title: str) -> str:
    """Markdown showing the PNG at ``path`` inline (a base64 data URI)."""
    import base64

    data = base64.b64encode(path.read_bytes()).decode()
    return f"### {title}\n\n![equity curve](data:image/png;base64,{data})"
