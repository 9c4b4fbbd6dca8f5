"""``research-lab data``: many symbols in one run, future sessions refused, quarantine, remove."""

from datetime import date

import dagster as dg
import pytest

from research_lab.cli import main
from research_lab_tests.test_cli import _store, cli_env  # noqa: F401 (fixture)


def _instance():
    return dg.DagsterInstance.get()


@pytest.mark.parametrize("argv, message", [
    (["data", "ingest", "--symbols", "ACME", "--start", "2024-06-03", "--end", "2031-06-02"],
     "--end 2031-06-02 is after the last closed session"),
    (["data", "ingest", "--symbols", "ACME,B|C", "--start", "2024-06-03", "--end", "2024-06-04"],
     "--symbols 'B|C' is not a valid symbol"),
    (["data", "remove", "NOPE"], "'NOPE' is not registered"),
])
def test_refused_before_anything_is_registered_or_written(cli_env, capsys, argv, message):  # noqa: F811
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    with _instance() as instance:
        assert instance.get_dynamic_partitions("symbol") == []
        assert not instance.get_runs()
    assert not (cli_env / "market.db").exists() or _store(cli_env).symbols() == []


def test_many_symbols_are_one_run_and_remove_takes_one_out(cli_env, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", "ACME,GLOBEX,INITECH")
    assert main(["data", "ingest", "--symbols", "ACME", "GLOBEX,INITECH", "--start",
                 "2024-06-03", "--end", "2024-06-04"]) == 0
    with _instance() as instance:
        assert len(instance.get_runs()) == 1
    store = _store(cli_env)
    assert store.symbols() == ["ACME", "GLOBEX", "INITECH"]

    assert main(["data", "remove", "GLOBEX", "--purge"]) == 0
    out = capsys.readouterr().out
    assert "deleted 2 stored bars" in out
    assert "the synthetic source still offers it" in out, "the sensor would add it back"
    with _instance() as instance:
        assert instance.get_dynamic_partitions("symbol") == ["ACME", "INITECH"]
    assert store.symbols() == ["ACME", "INITECH"]


def test_quarantine_lists_every_bad_row(cli_env, capsys, monkeypatch, tmp_path):  # noqa: F811
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "acme.csv").write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-06-03,10,8,9,10.5,10.5,1000\n"
        "2024-06-04,10,11,9,10.5,10.5,1000\n"
        "2024-06-05,-1,11,9,10.5,10.5,1000\n"
    )
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "csv")
    monkeypatch.setenv("RESEARCH_LAB_CSV_DIR", str(landing))
    assert main(["data", "ingest", "--symbols", "ACME", "--start", "2024-06-03",
                 "--end", "2024-06-05"]) == 0
    assert _store(cli_env).sessions("ACME") == [date(2024, 6, d) for d in (3, 4, 5)]
    capsys.readouterr()
    assert main(["data", "quarantine", "ACME"]) == 0
    out = capsys.readouterr().out
    assert "2024-06-03 line 2" in out and "below low" in out
    assert "2024-06-05 line 4" in out and "must be positive" in out
    assert "2 quarantined row(s)" in out


def test_bad_rows_in_several_years_block_no_range_and_are_all_listed(
        cli_env, capsys, monkeypatch, tmp_path):  # noqa: F811
    """A landing file with a bad row in 2005, 2009 and 2013 and an unreadable date: a December
    2014 ingest is not blocked, each bad year's week is stored but for its bad row, and
    ``data quarantine`` names every bad row with its line, field and reason."""
    from research_lab.core.marketdata.store import read_quarantine
    from research_lab.core.quality.gate import QualityGateError, require_no_open_criticals

    landing = tmp_path / "landing"
    landing.mkdir()
    good = "{},10,11,9,10.5,10.5,1000"
    (landing / "acme.csv").write_text("\n".join([
        "Date,Open,High,Low,Close,Adj Close,Volume",
        good.format("2005-03-01"),
        "2005-03-02,10,8,9,10,10,1000",        # line 3: high below low
        good.format("2005-03-03"),
        good.format("2009-06-01"),
        "2009-06-02,0,11,9,10,10,1000",        # line 6: zero open
        "2013-01-02,10,11,9,null,null,1000",   # line 7: Yahoo's null row
        "2013-13-45,10,11,9,10,10,1000",       # line 8: no such date
        good.format("2013-01-03"),
        good.format("2014-12-01"),
        good.format("2014-12-02"),
    ]) + "\n")
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "csv")
    monkeypatch.setenv("RESEARCH_LAB_CSV_DIR", str(landing))

    def ingest(start, end):
        return main(["data", "ingest", "--symbols", "ACME", "--start", start, "--end", end])

    assert ingest("2014-12-01", "2014-12-02") == 0
    store = _store(cli_env)
    assert store.sessions("ACME") == [date(2014, 12, 1), date(2014, 12, 2)]
    assert len(store.read_bars("ACME")) == 2
    for start, end in [("2005-03-01", "2005-03-03"), ("2009-06-01", "2009-06-02"),
                       ("2013-01-02", "2013-01-03")]:
        assert ingest(start, end) == 0, start
    stored = set(store.read_bars("ACME")["session"].dt.date)
    assert stored == {date(2005, 3, 1), date(2005, 3, 3), date(2009, 6, 1), date(2013, 1, 3),
                      date(2014, 12, 1), date(2014, 12, 2)}

    capsys.readouterr()
    assert main(["data", "quarantine", "ACME"]) == 0
    out = capsys.readouterr().out.splitlines()
    listed = [line for line in out if line.startswith("ACME")]
    assert len(listed) == 4 and "4 quarantined row(s)" in out[-1]
    for day, line, field, why in [
        ("2005-03-02", 3, "High", "below low"), ("2009-06-02", 6, "Open", "must be positive"),
        ("2013-01-02", 7, "Close", "null value"), ("no date", 8, "Date", "2013-13-45"),
    ]:
        assert any(f"{day}" in row and f"line {line} " in row and field in row and why in row
                   for row in listed), (day, listed)
    assert sorted(read_quarantine(store, "ACME")["row"]) == [3, 6, 7, 8]
    # the dated ones are critical anomalies of their sessions: backtests of ACME are blocked
    with pytest.raises(QualityGateError, match="2005-03-02"):
        require_no_open_criticals(store, "ACME")


def test_removing_a_symbol_the_source_no_longer_offers_says_nothing_more(
        cli_env, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", "ACME,GLOBEX")
    assert main(["data", "ingest", "--symbols", "ACME,GLOBEX", "--start", "2024-06-03",
                 "--end", "2024-06-03"]) == 0
    monkeypatch.setenv("RESEARCH_LAB_UNIVERSE", "ACME")  # GLOBEX delisted at the source
    capsys.readouterr()
    assert main(["data", "remove", "GLOBEX"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "GLOBEX: removed from the symbol partitions"
    with _instance() as instance:
        assert instance.get_dynamic_partitions("symbol") == ["ACME"]
    assert _store(cli_env).sessions("GLOBEX") == [date(2024, 6, 3)], "bars kept without --purge"


def test_today_before_the_close_is_refused_and_after_it_ingested(cli_env, capsys, monkeypatch):  # noqa: F811
    import pandas as pd

    from research_lab.core.marketdata import ingest

    argv = ["data", "ingest", "--symbols", "ACME", "--start", "2024-06-03", "--end", "2024-06-04"]
    monkeypatch.setattr(ingest, "utc_now", lambda: pd.Timestamp("2024-06-04 15:00Z"))  # 11:00 NY
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("--end 2024-06-04 is after the last closed session 2024-06-03")
    assert len(err.splitlines()) == 1
    with _instance() as instance:
        assert instance.get_dynamic_partitions("symbol") == [] and not instance.get_runs()
    assert not (cli_env / "market.db").exists() or _store(cli_env).symbols() == []

    monkeypatch.setattr(ingest, "utc_now", lambda: pd.Timestamp("2024-06-04 20:30Z"))  # 16:30 NY
    assert main(argv) == 0
    assert _store(cli_env).sessions("ACME") == [date(2024, 6, 3), date(2024, 6, 4)]
