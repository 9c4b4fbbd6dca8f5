"""The research-lab command line: bad input exits 2 and writes nothing; ingest writes."""

from datetime import date

import pytest

from research_lab.cli import main


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("RESEARCH_LAB_HOME", str(tmp_path))
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", f"sqlite:///{tmp_path / 'market.db'}")
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "synthetic")
    monkeypatch.delenv("RESEARCH_LAB_CONFIG", raising=False)
    return tmp_path


def _store(path):
    from research_lab.core.marketdata.store import BarStore

    return BarStore.from_url(f"sqlite:///{path / 'market.db'}")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["data", "ingest", "--symbols", "ACME", "--start", "2024-13-01"], "not a date"),
        (["data", "ingest", "--symbols", "ACME", "--start", "2024-06-05", "--end", "2024-06-03"],
         "before --start"),
        (["data", "ingest", "--symbols", "ACME", "--start", "1999-01-04"], "before the first session 2000-01-03"),
        (["data", "show", "NOPE"], "no bars stored for NOPE"),
        (["demo", "ingest", "--years", "0"], "--years must be positive"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(cli_env, capsys, argv, message):
    with pytest.raises(SystemExit) if "not a date" in message else _noop():
        code = main(argv)
        assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (cli_env / "market.db").exists() or _store(cli_env).symbols() == []


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_bad_config_value_exits_2(cli_env, monkeypatch, capsys):
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "bloomberg")
    assert main(["demo", "ingest", "--years", "1"]) == 2
    assert "RESEARCH_LAB_SOURCE='bloomberg' is not one of synthetic, csv, yfinance" in capsys.readouterr().err


def test_ingest_then_show(cli_env, capsys):
    assert main(["data", "ingest", "--symbols", "acme", "--start", "2024-06-03",
                 "--end", "2024-06-07"]) == 0
    store = _store(cli_env)
    assert store.sessions("ACME") == [date(2024, 6, d) for d in range(3, 8)]
    assert main(["data", "ingest", "--symbols", "ACME", "--start", "2024-06-03",
                 "--end", "2024-06-07", "--only-missing"]) == 0
    assert "already materialized" in capsys.readouterr().err
    assert main(["data", "show", "ACME", "--tail", "2"]) == 0
    out = capsys.readouterr().out
    assert "2024-06-07" in out and "2024-06-05" not in out
