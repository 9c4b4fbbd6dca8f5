"""``research-lab optimize``: exit codes, one-line errors, nothing written on bad input."""

import pytest

from research_lab.cli import main
from research_lab.core.backtest.params import DEFAULT_SPACES_PATH
from research_lab.core.optimize import storage as S

from .conftest import make_bars

SMA = str(DEFAULT_SPACES_PATH.parent / "param_spaces" / "sma_cross.yaml")


@pytest.fixture
def csv(tmp_path, cfg, monkeypatch):
    path = tmp_path / "acme.csv"
    b = make_bars()
    b.assign(date=b["session"].dt.strftime("%Y-%m-%d"))[
        ["date", "open", "high", "low", "close", "volume"]].to_csv(path, index=False)
    conf = tmp_path / "optimize.yaml"
    conf.write_text("study: {workers: 1}\nmarket_hours: {policy: ignore}\n")
    monkeypatch.setenv("RESEARCH_LAB_OPTIMIZE_CONFIG", str(conf))
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", f"sqlite:///{tmp_path / 'market.db'}")
    return path


def base(csv, *extra):
    return ["optimize", "--strategy", "sma_cross", "--param-space", SMA, "--csv", str(csv),
            "--symbols", "ACME", "--n-trials", "8", "--study-name", "cli", "--no-tracking",
            "--no-progress", *extra]


def test_a_study_runs_and_prints_the_report(csv, capsys):
    assert main(base(csv, "--metric", "sharpe_ratio", "--seed", "3")) == 0
    out = capsys.readouterr().out
    assert "study cli: sma_cross on ACME" in out and "best sharpe_ratio = " in out
    assert "walk-forward efficiency" in out and "deflated Sharpe" in out
    assert "| rank | trial | sharpe_ratio | fast | slow | folds |" in out
    study = S.load_study(S.resolve_storage_url(None), "cli")
    spent = [t for t in study.trials if not t.user_attrs.get("infeasible")
             and t.user_attrs.get("reused_from") is None]
    assert len(spent) == 8


@pytest.mark.parametrize("change, message", [
    (["--strategy", "nope"], "unknown strategy 'nope'"),
    (["--metric", "sharp"], "unknown metric 'sharp'"),
    (["--n-trials", "0"], "--n-trials must be >= 1"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--timeout", "-5"], "--timeout must be > 0"),
    (["--param-space", "missing.yaml"], "missing.yaml: parameter space file not found"),
    (["--csv", "missing.csv"], "--csv missing.csv: no such file"),
    (["--storage", "mysql://x/y"], "storage URL 'mysql://x/y' is not supported"),
    (["--start", "2019-01-01", "--end", "2018-01-01"], "is after --end"),
    (["--start", "2019-08-01"], "too few for 4 fold"),
    (["--start", "2019-13-01"], "is not a date"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(csv, capsys, change, message):
    args = base(csv)
    for i in range(0, len(change), 2):
        if change[i] in args:
            args[args.index(change[i]) + 1] = change[i + 1]
        else:
            args += change[i:i + 2]
    with pytest.raises(SystemExit) if change[0] == "--start" and "13" in change[1] else _noop():
        code = main(args)
        assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert S.list_studies(S.resolve_storage_url(None)) == []


def test_unknown_symbol_in_the_store_and_worker_without_a_study(cfg, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", f"sqlite:///{tmp_path / 'market.db'}")
    code = main(["optimize", "--strategy", "sma_cross", "--symbols", "NOPE", "--study-name", "x",
                 "--no-tracking", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "no bars of NOPE in the store" in err
    code = main(["optimize", "worker", "--study-name", "ghost"])
    assert code == 2 and "no study named 'ghost'" in capsys.readouterr().err


class _noop:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_worker_service_joins_an_open_study_from_the_store(cfg, capsys, tmp_path, monkeypatch):
    """A study created (by a runner that then stopped) and a worker started alone with only
    the storage: it reads the definition, loads the same bars from its store, checks the data
    version, and finishes the study."""
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.optimize import StudyRequest, load_space
    from research_lab.core.optimize.runner import build_definition, prepare_study

    url = f"sqlite:///{tmp_path / 'market.db'}"
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", url)
    bars = make_bars(600)
    with BarStore.from_url(url) as store:
        store.write_partitions("ACME", list(bars["session"].dt.date), bars, source="test")
        stored = store.read_bars("ACME")
    defn = build_definition(StudyRequest("sma_cross", "ACME", stored, load_space(SMA), "open",
                                         n_trials=5, workers=1, config=cfg))
    prepare_study(defn, None, None, S.StorageOptions())
    assert main(["optimize", "worker", "--idle-exit", "0"]) == 0
    assert "worker: 5 trial(s)" in capsys.readouterr().out
    study = S.load_study(S.resolve_storage_url(None), "open")
    spent = [t for t in study.trials if not t.user_attrs.get("infeasible")
             and t.user_attrs.get("reused_from") is None]
    assert len(spent) == 5 and all(t.state.is_finished() for t in study.trials)
    # different bars in the store: the worker refuses to search them
    with BarStore.from_url(url) as store:
        changed = bars.copy()
        changed.loc[:, ["open", "high", "low", "close", "adj_close"]] *= 1.01
        store.write_partitions("ACME", list(bars["session"].dt.date), changed, source="test")
    defn2 = build_definition(StudyRequest("sma_cross", "ACME", stored, load_space(SMA), "old",
                                          n_trials=3, workers=1, config=cfg))
    prepare_study(defn2, None, None, S.StorageOptions())
    assert main(["optimize", "worker", "--study-name", "old"]) == 2
    assert "the study was created on" in capsys.readouterr().err
