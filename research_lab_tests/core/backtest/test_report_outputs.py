"""write_outputs: the four files, their content, and all-or-nothing writing."""

import json
from datetime import date

import pandas as pd
import pytest

import research_lab.core.metrics as metrics
from research_lab.core.backtest.market_context import load_market_context
from research_lab.core.backtest.outputs import check_output_dir, write_json, write_outputs
from research_lab.core.backtest.report import backtest_report
from research_lab.core.marketdata.sources import SyntheticSource


@pytest.fixture(scope="module")
def report():
    source = SyntheticSource(seed=7, symbols=["GLOBEX"])
    bars = source.fetch("GLOBEX", date(2022, 1, 3), date(2023, 12, 29))
    market = load_market_context(date(2022, 1, 3), date(2023, 12, 29), source=source)
    return backtest_report(bars, "rsi_reversion", market=market, sizing="percent")


def _hidden(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_all_four_files_with_their_content(report, tmp_path):
    out = tmp_path / "runs" / "GLOBEX"
    paths = write_outputs(report, out)
    assert set(paths) == {"json", "plot", "trades", "tearsheet"}
    assert sorted(p.name for p in out.iterdir()) == [
        "equity.png", "result.json", "tearsheet.html", "trades.csv"]
    assert json.loads(paths["json"].read_text()) == json.loads(json.dumps(report.to_dict()))
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    trades = pd.read_csv(paths["trades"])
    assert len(trades) == len(report.result.trades) > 0
    assert trades["entry_date"].iloc[0] == report.result.trades["entry_date"].iloc[0].strftime(
        "%Y-%m-%d")
    html = paths["tearsheet"].read_text()
    assert "^GSPC" in html  # the benchmark Series, by its name
    assert _hidden(out.parent) == []


def test_rewriting_replaces_the_previous_output(report, tmp_path):
    out = tmp_path / "GLOBEX"
    write_outputs(report, out, tearsheet=False)
    (out / "trades.csv").write_text("stale")
    paths = write_outputs(report, out, tearsheet=False)
    assert "tearsheet" not in paths
    assert (out / "trades.csv").read_text() != "stale"
    assert _hidden(tmp_path) == []


def test_a_failure_leaves_no_half_output(report, tmp_path, monkeypatch):
    def broken_plot(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(metrics, "equity_drawdown_plot", broken_plot)
    with pytest.raises(OSError, match="disk full"):
        write_outputs(report, tmp_path / "new", tearsheet=False)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a temporary one


def test_a_failure_keeps_the_previous_output(report, tmp_path, monkeypatch):
    out = tmp_path / "GLOBEX"
    write_outputs(report, out, tearsheet=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_csv(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_csv)
    with pytest.raises(OSError):
        write_outputs(report, out, tearsheet=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _hidden(tmp_path) == []


def test_a_folder_with_other_files_is_never_replaced(report, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"not backtest outputs \(notes.txt\)"):
        write_outputs(report, tmp_path, tearsheet=False)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert check_output_dir(tmp_path / "absent") == tmp_path / "absent"


def test_write_json_is_atomic(tmp_path):
    target = tmp_path / "a" / "out.json"
    write_json(target, {"x": 1})
    with pytest.raises(TypeError):
        write_json(target, {"x": object()})
    assert json.loads(target.read_text()) == {"x": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]
    with pytest.raises(ValueError, match="is a folder"):
        write_json(tmp_path, {})
