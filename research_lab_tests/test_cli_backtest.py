"""research-lab backtest: bad input exits 2 with one line and writes nothing; real runs agree."""

import json
import math
from datetime import date

import pytest

from research_lab.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(home))
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", f"sqlite:///{home / 'market.db'}")
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "synthetic")
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", "ACME,GLOBEX,^GSPC,^VIX")
    for var in ("RESEARCH_LAB_CONFIG", "RESEARCH_LAB_CSV_DIR", "RESEARCH_LAB_SEED"):
        monkeypatch.delenv(var, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    return work


ACME = ["--symbols", "ACME", "--start", "2023-01-03", "--end", "2023-06-30"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--strategy", "nope", *ACME],
         "unknown strategy 'nope'; valid strategies: bollinger, close_sma_cross"),
        (["--strategy", "sma_cross", *ACME, "--param", "speed=3"],
         "unknown parameter(s) speed; valid parameters: fast (int in [2, 200] step 1); slow"),
        (["--strategy", "sma_cross", *ACME, "--param", "fast=500"],
         "fast='500' is invalid; expected int in [2, 200] step 1"),
        (["--strategy", "sma_cross", *ACME, "--param", "fast=40", "--param", "slow=20"],
         "constraint fast < slow violated (fast=40, slow=20)"),
        (["--strategy", "macd", *ACME, "--param", "cross=up"],
         "cross='up' is invalid; expected one of ['signal', 'zero']"),
        (["--strategy", "sma_cross", *ACME, "--param", "fast"],
         "--param 'fast' is not NAME=VALUE; parameters of sma_cross: fast, slow"),
        (["--strategy", "sma_cross", *ACME, "--cash", "-5"], "cash=-5.0 must be > 0"),
        (["--strategy", "sma_cross", "--symbols", "ACME", "--start", "2023-06-30", "--end",
          "2023-01-03"], "--end 2023-01-03 is before --start 2023-06-30"),
        (["--strategy", "sma_cross", "--symbols", "NOPE"],
         "NOPE is not in the store and synthetic source has no symbol 'NOPE'; it offers ACME"),
        (["--strategy", "sma_cross", "--symbols", "ACME", "--start", "1980-01-02", "--end",
          "1980-12-31"], "ACME (source:synthetic): 0 bar(s) between 1980-01-02 and 1980-12-31"),
        (["--strategy", "sma_cross", "--csv", "missing.csv"], "--csv missing.csv: no such file"),
        (["--strategy", "sma_cross", "--csv", "bad.csv"], "bad.csv"),
        (["--strategy", "sma_cross", *ACME, "--out", "."],
         "holds files that are not backtest outputs"),
        (["--strategy", "sma_cross", "--param", "fast=2", "--param", "slow=3", "--csv",
          "good.csv", "--benchmark-csv", "idx2020.csv"],
         "benchmark IDX2020 (2020-01-02..2020-01-10) shares 0 session(s) with GOOD"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(env, capsys, monkeypatch, argv,
                                                            message):
    monkeypatch.chdir(env)
    (env / "bad.csv").write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,x,10\n")
    # NYSE sessions only (a missing session would be refused by the calendar gap check)
    for name, year, days in (("good.csv", 2024, (2, 3, 4, 5, 8, 9, 10)),
                             ("idx2020.csv", 2020, (2, 3, 6, 7, 8, 9, 10))):
        rows = [f"{year}-01-{d:02d},10,13,9,{10 + d % 3},100" for d in days]
        (env / name).write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    (env / "ACME").mkdir()
    (env / "ACME" / "mine.txt").write_text("keep")
    before = sorted(p.relative_to(env) for p in env.rglob("*"))
    assert main(["backtest", *argv, "--json", "out.json"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.out == ""
    assert captured.err.startswith("research-lab backtest: error: ")
    assert message in captured.err
    assert sorted(p.relative_to(env) for p in env.rglob("*")) == before  # no out.json, nothing
    assert not (env.parent / "home").exists()  # no store database created either


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--strategy", "sma_cross", "--symbols", "ACME", "--start", "2023-02-30"],
         "argument --start: '2023-02-30' is not a date (expected YYYY-MM-DD)"),
        (["--strategy", "sma_cross", "--symbols", "ACME", "--engine", "zip"],
         "argument --engine: invalid choice: 'zip' (choose from 'auto', 'fast', 'backtrader')"),
        (["--strategy", "sma_cross"], "one of the arguments --symbols --csv is required"),
        (["--strategy", "sma_cross", "--symbols", "ACME", "--stake", "many"],
         "argument --stake: invalid float value: 'many'"),
    ],
)
def test_usage_errors_are_one_line_too(env, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(env)
    with pytest.raises(SystemExit) as exit_:
        main(["backtest", *argv, "--json", "out.json"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert list(env.iterdir()) == []


def test_orcl_csv_gives_the_same_result_on_both_engines(env, shared_data, capsys):
    docs = {}
    for engine in ("fast", "backtrader"):
        out = env / f"{engine}.json"
        assert main(["backtest", "--strategy", "sma_cross", "--csv",
                     str(shared_data / "orcl-1995-2014.txt"), "--engine", engine,
                     "--param", "fast=10", "--param", "slow=50", "--json", str(out)]) == 0
        docs[engine] = json.loads(out.read_text())
    fast, bt = docs["fast"], docs["backtrader"]
    assert fast["final_value"] == pytest.approx(bt["final_value"], rel=1e-6)
    assert fast["final_cash"] == pytest.approx(bt["final_cash"], rel=1e-6)
    assert len(fast["orders"]) == len(bt["orders"]) > 50
    for a, b in zip(fast["orders"], bt["orders"]):
        assert (a["date"], a["side"], a["size"]) == (b["date"], b["side"], b["size"])
        assert a["price"] == pytest.approx(b["price"], rel=1e-9)
    assert fast["symbol"] == "ORCL" and fast["engine"] == "fast" and bt["engine"] == "backtrader"
    assert fast["lineage"]["bars"] == 5036 and fast["lineage"]["start"] == "1995-01-03"
    assert sum(v is not None for v in fast["metrics"].values()) >= 30
    assert fast["metrics"]["beta"] is None  # no index data with --csv ...
    assert fast["regimes"]["vol_source"] == "realized_vol_21d"  # ... and it says so
    assert any("no benchmark index data" in n for n in fast["notes"])
    out = capsys.readouterr().out
    assert "sma_cross(fast=10, slow=50) on ORCL [backtrader] 1995-01-03..2014-12-31" in out
    assert "note: no VIX series" in out


def test_symbols_from_the_source_with_benchmark_json_by_symbol_and_artifacts(env, capsys):
    out_dir = env / "runs"
    assert main(["backtest", "--strategy", "momentum", "--symbols", "acme,GLOBEX",
                 "--start", "2023-01-03", "--end", "2023-12-29", "--percent", "90",
                 "--commission", "0.001", "--json", str(env / "both.json"),
                 "--out", str(out_dir), "--no-tearsheet"]) == 0
    doc = json.loads((env / "both.json").read_text())
    assert list(doc) == ["ACME", "GLOBEX"]
    acme = doc["ACME"]
    assert acme["broker"]["sizing"] == "percent" and acme["broker"]["commission"] == 0.001
    assert acme["lineage"]["origin"] == "source:synthetic"
    assert acme["lineage"]["benchmark"]["symbol"] == "^GSPC"
    assert acme["regimes"]["vol_source"] == "vix"
    assert math.isfinite(acme["metrics"]["beta"])
    for symbol in ("ACME", "GLOBEX"):
        assert sorted(p.name for p in (out_dir / symbol).iterdir()) == [
            "equity.png", "result.json", "trades.csv"]
    assert json.loads((out_dir / "ACME" / "result.json").read_text()) == acme
    assert not (env.parent / "home").exists()  # a backtest never creates the store
    out = capsys.readouterr().out
    assert out.count("momentum(period=20, threshold=0.0) on ") == 2
    assert f"wrote {out_dir / 'GLOBEX' / 'equity.png'}" in out


def test_a_stored_symbol_is_read_from_the_store(env, capsys):
    from research_lab.core.marketdata.sources import SyntheticSource
    from research_lab.core.marketdata.store import BarStore

    bars = SyntheticSource(symbols=["ACME"]).fetch("ACME", date(2023, 1, 3), date(2023, 3, 31))
    with BarStore.from_url(f"sqlite:///{env.parent / 'home' / 'market.db'}") as store:
        store.write_partitions("ACME", list(bars["session"].dt.date), bars, source="test")
    assert main(["backtest", "--strategy", "sma_cross", "--symbols", "ACME", "--param",
                 "fast=3", "--param", "slow=8", "--json", str(env / "a.json")]) == 0
    doc = json.loads((env / "a.json").read_text())
    assert doc["lineage"]["origin"].startswith("store sqlite:")
    assert doc["lineage"]["bars"] == len(bars)
    # ^GSPC is not in the store: it came from the source
    assert doc["lineage"]["benchmark"]["origin"] == "source:synthetic"
