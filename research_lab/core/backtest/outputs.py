"""A backtest's files, written all at once or not at all.

:func:`write_outputs` writes one report's artifacts into one folder:

================ =========================================================================
file             content
================ =========================================================================
result.json      :meth:`~.report.BacktestReport.to_dict`: symbol, strategy, params, engine,
                 broker, ``final_value``, ``final_cash``, lineage, notes, ``metrics`` (50),
                 ``regimes`` (table + which index and volatility gauge), ``orders`` (date,
                 side, size, price, commission), trades, equity curve, returns
equity.png       equity curve over its drawdown (``metrics.equity_drawdown_plot``)
trades.csv       closed trades, one row each (dates as YYYY-MM-DD)
tearsheet.html   the quantstats tearsheet against the benchmark Series (~3 s; optional)
================ =========================================================================

*Atomic*: everything is written into a hidden sibling folder, which is then renamed onto the
target, so a crash or an error (a failing plot, a full disk) leaves either the previous
complete output or nothing, never half of one. A folder that already exists is replaced only
when it holds nothing but files of this list (an earlier output); a folder with anything
else raises ``ValueError`` before anything is written, so pointing ``out_dir`` at the wrong
place can never delete a person's files. :func:`check_output_dir` runs that test alone (the
CLI calls it for every target before any backtest runs).

:func:`write_json` writes one JSON document the same way (temporary file + rename).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from .report import BacktestReport

OUTPUT_FILES: dict[str, str] = {
    "json": "result.json",
    "plot": "equity.png",
    "trades": "trades.csv",
    "tearsheet": "tearsheet.html",
}


def check_output_dir(out_dir: str | os.PathLike[str]) -> Path:
    """``out_dir`` as a Path if it is absent, empty or an earlier output; else ``ValueError``."""
    path = Path(out_dir)
    if not path.exists():
        return path
    if not path.is_dir():
        raise ValueError(f"output folder {path} exists and is not a folder")
    foreign = sorted(p.name for p in path.iterdir() if p.name not in OUTPUT_FILES.values())
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ValueError(
            f"output folder {path} holds files that are not backtest outputs ({shown}); "
            f"choose an empty or new folder"
        )
    return path


def _hidden_sibling(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{kind}-{uuid.uuid4().hex[:8]}")


def write_json(path: str | os.PathLike[str], document: Any) -> Path:
    """Write ``document`` as JSON to ``path`` atomically (temporary file, then rename)."""
    final = Path(path)
    if final.is_dir():
        raise ValueError(f"{final} is a folder, not a JSON file path")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _hidden_sibling(final, "tmp")
    try:
        tmp.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def _write_files(report: BacktestReport, folder: Path, tearsheet: bool) -> list[str]:
    from research_lab.core.metrics import equity_drawdown_plot, write_tearsheet

    names = [OUTPUT_FILES["json"], OUTPUT_FILES["plot"], OUTPUT_FILES["trades"]]
    (folder / names[0]).write_text(
        json.dumps(report.to_dict(), indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    equity_drawdown_plot(report.result.equity, folder / names[1], title=report.title())
    report.result.trades.to_csv(folder / names[2], index=False, date_format="%Y-%m-%d")
    if tearsheet:
        bench = report.lineage.get("benchmark") or {}
        write_tearsheet(
            report.result.returns,
            report.benchmark_returns,
            folder / OUTPUT_FILES["tearsheet"],
            title=report.title(),
            strategy_name=report.result.strategy,
            benchmark_name=bench.get("symbol"),
        )
        names.append(OUTPUT_FILES["tearsheet"])
    return names


def write_outputs(
    report: BacktestReport, out_dir: str | os.PathLike[str], *, tearsheet: bool = True
) -> dict[str, Path]:
    """Write the report's files into ``out_dir`` atomically; returns ``{kind: path}`` with
    kinds ``json``, ``plot``, ``trades`` and (if written) ``tearsheet``."""
    final = check_output_dir(out_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _hidden_sibling(final, "tmp")
    tmp.mkdir()
    old: Path | None = None
    try:
        written = _write_files(report, tmp, tearsheet)
        check_output_dir(final)  # still safe to replace?
        if final.exists():
            old = _hidden_sibling(final, "old")
            os.rename(final, old)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not final.exists():
            os.rename(old, final)  # put the previous output back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    kinds = {name: kind for kind, name in OUTPUT_FILES.items()}
    return {kinds[name]: final / name for name in written}
