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
    assert "deleted 2 stored bars" in capsys.readouterr().out
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
