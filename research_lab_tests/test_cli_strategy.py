"""Each example strategy from the command line: listed, shown, backtested (tracked in MLflow
with its code version), checked and optimized with a small study; and the errors a person
sees (one line, exit code 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from research_lab.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STRATEGIES = EXAMPLES / "strategies"

# reference, extra backtest arguments, optimize bounds (None: not optimizable alone)
CASES = {
    "SMACrossover": ("strategies.sma_crossover.SMACrossover", [], ["fast=3:15", "slow=20:50"]),
    "FuturesTrend": (f"{STRATEGIES}/futures_commission.py:FuturesTrend", [], ["period=5:40"]),
    "PairsSpread": (f"{STRATEGIES}/pairs.py:PairsSpread", ["--together"], None),
    "close_breakout": (f"{STRATEGIES}/fast_breakout.py:CloseBreakout", [], ["period=5:40"]),
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    from research_lab.core.strategies import clear_cache, discovery

    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", "")
    monkeypatch.setenv("PYTHONPATH", __import__("os").environ.get("PYTHONPATH", ""))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("RESEARCH_LAB_MLFLOW_URI", raising=False)
    monkeypatch.chdir(EXAMPLES)  # `strategies.sma_crossover...` imports from the working dir
    discovery._LOADED.clear()
    clear_cache()
    yield tmp_path
    discovery._LOADED.clear()
    clear_cache()


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_example_runs_is_tracked_and_checks(home, name, capsys):
    reference, extra, _ = CASES[name]
    uri = f"sqlite:///{home / 'mlflow.db'}"
    out = home / "out"
    code = main(["backtest", "--strategy", reference, "--symbols", "ACME", "GLOBEX", *extra,
                 "--start", "2021-01-01", "--end", "2021-12-31", "--no-tearsheet",
                 "--out", str(out), "--mlflow", uri])
    assert code == 0, capsys.readouterr().err
    doc = json.loads((out / "ACME" / "result.json").read_text())
    assert doc["strategy"] == name and len(doc["metrics"]) == 50
    assert doc["lineage"]["strategy"]["code_version"]
    if extra:
        assert [f["symbol"] for f in doc["lineage"]["feeds"]] == ["ACME", "GLOBEX"]
    import mlflow

    client = mlflow.MlflowClient(uri)
    exp = client.get_experiment_by_name(f"Default.Equities.General.{name}")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == (1 if extra else 2)  # together: one run; else one per symbol
    tags = runs[0].data.tags
    assert tags["strategy_code_version"] == doc["lineage"]["strategy"]["code_version"]
    assert tags["strategy_file"].endswith(".py")

    symbols = ["--symbols", "ACME", "GLOBEX"] if extra else ["--symbols", "ACME"]
    capsys.readouterr()
    assert main(["strategy", "check", reference, *symbols, "--start", "2021-01-01",
                 "--end", "2021-12-31", "--cuts", "3"]) == 0
    printed = capsys.readouterr().out
    assert f"{name}: PASS look-ahead" in printed
    assert ("PASS parity" in printed) == (name == "close_breakout")


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c[2]))
def test_an_example_is_optimized_with_a_small_study(home, name, shared_data, capsys):
    reference, _, bounds = CASES[name]
    code = main(["optimize", "--strategy", reference,
                 *[a for b in bounds for a in ("--bounds", b)],
                 "--csv", str(shared_data / "orcl-1995-2014.txt"), "--start", "2012-01-01",
                 "--end", "2014-12-31", "--n-trials", "3", "--workers", "1",
                 "--study-name", f"ex-{name}", "--no-tracking", "--market-hours", "ignore",
                 "--no-progress", "--out", str(home / "study")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "trials: 3 completed" in captured.out


def test_the_pairs_example_is_optimized_with_both_symbols_together(home, monkeypatch, capsys):
    from research_lab_tests.defs.optimize.conftest import write_bars

    url = f"sqlite:///{home / 'market.db'}"
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", url)
    write_bars(url, symbols=("ACME", "GLOBEX"))
    reference = CASES["PairsSpread"][0]
    code = main(["optimize", "--strategy", reference, "--bounds", "period=10:40",
                 "--bounds", "entry=1.0:2.0", "--symbols", "ACME", "GLOBEX", "--together",
                 "--n-trials", "3", "--workers", "1", "--study-name", "ex-pairs",
                 "--no-tracking", "--market-hours", "ignore", "--no-progress",
                 "--out", str(home / "study")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "study ex-pairs: PairsSpread on ACME+GLOBEX" in captured.out
    assert "trials: 3 completed" in captured.out
    report = json.loads((home / "study" / "ex-pairs" / "report.json").read_text())
    assert report["symbol"] == "ACME+GLOBEX" and set(report["best_params"]) == {"period", "entry"}


def test_list_show_and_the_api_contract(home, capsys, monkeypatch):
    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", str(STRATEGIES))
    assert main(["strategy", "list"]) == 0
    listed = capsys.readouterr().out
    for name, kind in (("sma_cross", "fast"), ("SMACrossover", "backtrader"),
                       ("PairsSpread", "backtrader"), ("close_breakout", "fast")):
        line = next(li for li in listed.splitlines() if li.startswith(name + " "))
        assert kind in line and ".py:" in line
    assert "fast=10, slow=30, printlog=False" in listed
    assert main(["strategy", "show", "SMACrossover", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"]["fast"] == {"type": "int", "default": 10,
                                      "accepts": "int (no bounds declared)"}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["backtest", "--strategy", "strategies.nothing.X", "--symbols", "ACME"],
         "no module named 'strategies.nothing'"),
        (["backtest", "--strategy", f"{STRATEGIES}/pairs.py:Nope", "--symbols", "ACME"],
         "pairs.py defines no 'Nope'"),
        (["backtest", "--strategy", "strategies.sma_crossover.SMACrossover", "--symbols", "ACME",
          "--param", "fats=3"], "SMACrossover: unknown parameter(s) fats"),
        (["backtest", "--strategy", f"{STRATEGIES}/pairs.py:PairsSpread", "--symbols", "ACME",
          "--start", "2021-01-01", "--end", "2021-06-30"],
         "pairs.py:18: ValueError: PairsSpread needs two datas"),
        (["backtest", "--strategy", "sma_cross", "--symbols", "ACME", "GLOBEX", "--together",
          "--start", "2021-01-01", "--end", "2021-06-30"], "sma_cross is a fast strategy"),
        (["optimize", "--strategy", "strategies.sma_crossover.SMACrossover", "--symbols", "ACME",
          "--study-name", "x"], "declares no bounds"),
        (["optimize", "--strategy", "strategies.sma_crossover.SMACrossover", "--symbols", "ACME",
          "--study-name", "x", "--bounds", "fats=1:3"], "SMACrossover has no parameter 'fats'"),
    ],
)
def test_errors_are_one_line_exit_2_and_write_nothing(home, argv, expected, capsys):
    out = home / "out"
    code = main([*argv, *(["--out", str(out)] if argv[0] == "backtest" else [])])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and err.count("\n") == 1, err
    assert not out.exists() and not (home / "mlruns").exists()
