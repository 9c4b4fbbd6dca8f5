"""Studies of a multi-data strategy (``optimize --symbols A B --together``): the symbols are
checked (2 to 8), every trial feeds all of them to the example PairsSpread, the buy-and-hold
baseline is equal weight over the feeds, a worker started elsewhere loads every feed and
checks their data version, and the HTTP API and the Dagster asset take ``feeds``."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from research_lab.cli import main
from research_lab.core.optimize import storage as S

from .conftest import make_bars

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"
PAIRS = f"{EXAMPLES}/pairs.py:PairsSpread"
SPACE = {"params": {"period": {"type": "int", "low": 10, "high": 40},
                    "entry": {"type": "float", "low": 1.0, "high": 2.0}}}
GLOBEX_GAP = 5          # GLOBEX lacks these first sessions: the feeds share the rest


def _bars() -> dict[str, pd.DataFrame]:
    acme = make_bars(600, seed=3, symbol="ACME")
    globex = make_bars(600, seed=4, symbol="GLOBEX").iloc[GLOBEX_GAP:].reset_index(drop=True)
    return {"ACME": acme, "GLOBEX": globex, "INITECH": make_bars(600, seed=5, symbol="INITECH")}


@pytest.fixture
def stored(cfg, tmp_path, monkeypatch, fresh_discovery):
    """ACME, GLOBEX and INITECH in a store; config with market hours ignored, one worker."""
    from research_lab.core.marketdata.store import BarStore

    url = f"sqlite:///{tmp_path / 'market.db'}"
    monkeypatch.setenv("RESEARCH_LAB_STORE_URL", url)
    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", "")
    conf = tmp_path / "optimize.yaml"
    conf.write_text("study: {workers: 1}\nmarket_hours: {policy: ignore}\n")
    monkeypatch.setenv("RESEARCH_LAB_OPTIMIZE_CONFIG", str(conf))
    with BarStore.from_url(url) as store:
        for symbol, bars in _bars().items():
            store.write_partitions(symbol, list(bars["session"].dt.date), bars, source="test")
    return url


def _study(cfg, tmp_path, name="pairs", feeds=("GLOBEX",), n_trials=3, workers=1, **kw):
    from research_lab.core.optimize.space import parse_space
    from research_lab.core.optimize.usecase import StudyInputs, optimize_symbol
    from research_lab.core.strategies import get_strategy

    ref = get_strategy(PAIRS)
    space = parse_space(SPACE, strategy=ref.name, where="test")
    return optimize_symbol(StudyInputs(
        ref.name, "ACME", name, space=space,
        config=cfg.override("study", n_trials=n_trials, seed=7, workers=workers),
        feeds=feeds, output_dir=str(tmp_path / "out" / name), **kw))


def test_the_symbols_of_a_multi_feed_study_are_checked():
    from research_lab.core.optimize.feeds import MAX_FEEDS, check_feed_symbols

    assert check_feed_symbols(["acme", " globex "]) == ("ACME", "GLOBEX")
    assert len(check_feed_symbols([f"S{i}" for i in range(MAX_FEEDS)])) == 8
    with pytest.raises(ValueError, match="at least 2 symbols, got 1"):
        check_feed_symbols(["ACME"])
    with pytest.raises(ValueError, match="9 symbols together; at most 8"):
        check_feed_symbols([f"S{i}" for i in range(9)])
    with pytest.raises(ValueError, match="ACME given twice"):
        check_feed_symbols(["ACME", "GLOBEX", "acme"])
    with pytest.raises(ValueError, match="not a valid symbol"):
        check_feed_symbols(["ACME", "GLO BEX"])


@pytest.mark.parametrize("extra, expected", [
    (["--strategy", PAIRS, "--symbols", "ACME"], "at least 2 symbols, got 1"),
    (["--strategy", PAIRS, "--symbols", *[f"S{i}" for i in range(9)]], "at most 8"),
    (["--strategy", "sma_cross", "--symbols", "ACME", "GLOBEX"],
     "sma_cross is a fast strategy: it runs on one symbol"),
    (["--strategy", PAIRS, "--symbols", "ACME", "GLOBEX", "--csv", "bars.csv"], "not with --csv"),
])
def test_bad_together_arguments_exit_2_with_one_line_and_write_nothing(stored, tmp_path, capsys,
                                                                       extra, expected):
    code = main(["optimize", *extra, "--together", "--bounds", "period=10:40", "--n-trials",
                 "2", "--study-name", "bad", "--no-tracking", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and expected in err, err
    assert S.list_studies(S.resolve_storage_url(None)) == []
    assert not (tmp_path / "studies").exists()


def test_a_pairs_study_feeds_both_symbols_to_every_trial(stored, cfg, tmp_path):
    from research_lab.core.backtest.costs import BrokerConfig
    from research_lab.core.strategies import get_strategy
    from research_lab.core.strategies.bt_runner import run_backtrader_strategy

    report = _study(cfg, tmp_path)
    assert report.symbol == "ACME+GLOBEX"
    assert report.complete + report.pruned == 3 and report.best_params
    study = S.load_study(S.resolve_storage_url(None), "pairs")
    defn = study.user_attrs["research_lab.definition"]
    assert (defn["symbol"], defn["feeds"]) == ("ACME", ["GLOBEX"])
    bars = _bars()
    shared = bars["ACME"]["session"].isin(bars["GLOBEX"]["session"])
    assert defn["plan"]["n_bars"] == int(shared.sum()) == 600 - GLOBEX_GAP
    assert defn["start"] == str(bars["GLOBEX"]["session"].iloc[0].date())

    # fold 0 of the best trial, recomputed: PairsSpread on both symbols' first-fold bars
    trial = study.best_trial
    start, stop = defn["plan"]["folds"][0]
    a = bars["ACME"].loc[shared].reset_index(drop=True).iloc[start:stop]
    g = bars["GLOBEX"].iloc[start:stop]
    params = {"period": 20, "entry": 1.5, "exit": 0.25, "stake": 10, **trial.params}
    result = run_backtrader_strategy(get_strategy(PAIRS), [("ACME", a), ("GLOBEX", g)], params,
                                     BrokerConfig(**defn["broker"]))
    assert set(result.orders["data"]) == {"ACME", "GLOBEX"}  # it traded both feeds
    equity = result.equity.to_numpy()
    r = np.concatenate([[equity[0] / defn["broker"]["cash"] - 1], equity[1:] / equity[:-1] - 1])
    assert trial.intermediate_values[0] == pytest.approx(
        r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-9)


def _equal_weight_buy_and_hold_sharpe(frames, plan, broker):
    """By hand: at each fold's first bar the cash is split in one equal sleeve per symbol; each
    sleeve orders the whole shares percent% of it buys at that close, filled at the next open
    paying the commission, held to the fold's end; the mean over the folds of the Sharpe ratio
    of the whole account's per-bar returns."""
    assert broker.sizing == "percent" and broker.stocklike
    assert not (broker.slippage_perc or broker.slippage_fixed or broker.spread)
    sleeve = broker.cash / len(frames)
    values = []
    for fold in plan.folds:
        equity = np.zeros(fold.stop - fold.start)
        for f in frames:
            o = f["open"].to_numpy()[fold.start:fold.stop]
            c = f["close"].to_numpy()[fold.start:fold.stop]
            size = math.floor(sleeve * broker.percent / 100.0 / c[0])
            paid = size * o[1] * (1.0 + broker.commission)
            equity += np.concatenate([[sleeve], sleeve - paid + size * c[1:]])
        r = np.concatenate([[0.0], equity[1:] / equity[:-1] - 1.0])
        values.append(r.mean() / r.std(ddof=1) * math.sqrt(252))
    return float(np.mean(values))


def test_the_buy_and_hold_baseline_is_equal_weight_over_the_feeds(stored, cfg, tmp_path):
    from research_lab.core.optimize.walkforward import plan_walkforward

    report = _study(cfg, tmp_path, feeds=("GLOBEX", "INITECH"), n_trials=2)
    bars = _bars()
    sessions = bars["GLOBEX"]["session"]               # the shortest: the shared sessions
    frames = [b.loc[b["session"].isin(sessions)].reset_index(drop=True) for b in bars.values()]
    plan = plan_walkforward(sessions, folds=4, oos_fraction=0.2)
    in_sample = [f.iloc[:plan.is_stop] for f in frames]
    expected = _equal_weight_buy_and_hold_sharpe(in_sample, plan, cfg.broker)
    assert report.baselines.buy_hold_value == pytest.approx(expected, rel=1e-9)
    one = _equal_weight_buy_and_hold_sharpe(in_sample[:1], plan, cfg.broker)
    assert abs(expected - one) > 1e-3        # not ACME's buy-and-hold alone
    assert report.baselines.buy_hold_value != pytest.approx(report.baselines.default_value)


def test_workers_get_every_feed_and_one_started_elsewhere_checks_their_version(stored, cfg,
                                                                               tmp_path):
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.optimize.worker import run_worker

    report = _study(cfg, tmp_path, n_trials=2, workers=2)  # two worker processes
    assert report.counts["fail"] == 0 and report.complete + report.pruned == 2
    url = S.resolve_storage_url(None)
    study = S.load_study(url, "pairs")
    defn = dict(study.user_attrs["research_lab.definition"], n_trials=3)
    study.set_user_attr("research_lab.definition", defn)
    assert run_worker(url, "pairs", quota=1, store_url=stored).finished == 1

    globex = _bars()["GLOBEX"]
    changed = globex.iloc[[100]].copy()
    changed[["open", "high", "low", "close", "adj_close"]] *= 1.01
    with BarStore.from_url(stored) as store:
        store.write_partitions("GLOBEX", [changed["session"].iloc[0].date()], changed,
                               source="test")
    with pytest.raises(S.StorageError, match="bars of ACME\\+GLOBEX .* different data"):
        run_worker(url, "pairs", quota=1, store_url=stored)


def test_resuming_with_other_feeds_is_refused_and_old_definitions_load(stored, cfg, tmp_path):
    from research_lab.core.optimize.definition import DefinitionError, StudyDefinition

    _study(cfg, tmp_path, n_trials=1)
    with pytest.raises(DefinitionError, match="different .*feeds"):
        _study(cfg, tmp_path, feeds=("INITECH",), n_trials=1)
    raw = dict(S.load_study(S.resolve_storage_url(None), "pairs")
               .user_attrs["research_lab.definition"])
    assert StudyDefinition.from_dict(raw).feeds == ("GLOBEX",)
    del raw["feeds"]                                   # a study created before feeds existed
    old = StudyDefinition.from_dict(raw)
    assert old.feeds == () and old.to_dict()["feeds"] == []
    positional = StudyDefinition(*[getattr(old, k) for k in (
        "study_name", "strategy", "symbol", "start", "end", "data_version", "space",
        "objective", "plan", "broker", "sampler", "pruner", "seed", "n_trials", "workers",
        "max_retry")])
    assert positional == old


def test_a_fast_strategy_takes_no_feeds(stored, cfg):
    from research_lab.core.optimize.objective import Evaluator
    from research_lab.core.optimize.usecase import StudyInputs, prepare_study

    bars = _bars()
    with pytest.raises(ValueError, match="several symbols together need a backtrader"):
        Evaluator(bars["ACME"], "sma_cross", feeds=[bars["INITECH"]])
    with pytest.raises(ValueError, match="several symbols together need a backtrader"):
        prepare_study(StudyInputs("sma_cross", "ACME", "x", config=cfg, feeds=("GLOBEX",)))


# -- the HTTP API and the Dagster asset --------------------------------------------------------
@pytest.fixture
def api(stored, monkeypatch):
    """The API in uvicorn on the store above, with Dagster's launch recorded."""
    from research_lab.api import dagster_client as D
    from research_lab_tests.api.test_optimize_api import free_port, wait_for

    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", str(EXAMPLES))
    launched = []
    monkeypatch.setattr(D, "launch_run", lambda job, config, tags: launched.append(config)
                        or "run-1")
    import uvicorn

    from research_lab.api import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(token=""), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(f"http://127.0.0.1:{port}/health", 30)
    try:
        yield f"http://127.0.0.1:{port}/backtests/optimize", launched
    finally:
        server.should_exit = True
        thread.join(10)


def test_the_api_takes_feeds_and_refuses_bad_ones(api, stored):
    import requests

    from research_lab.core.marketdata.store import BarStore, write_scores

    url, launched = api
    body = {"strategy": "PairsSpread", "symbol": "ACME", "n_trials": 2,
            "param_space": SPACE}
    r = requests.post(url, json={**body, "feeds": [f"S{i}" for i in range(8)]}, timeout=60)
    assert r.status_code == 422 and "9 symbols together; at most 8" in r.text
    r = requests.post(url, json={**body, "feeds": ["NOPE"]}, timeout=60)
    assert r.status_code == 422 and "feeds: symbol 'NOPE' has no bars" in r.text
    assert "GLOBEX" not in r.text                       # never lists the stored symbols
    r = requests.post(url, json={**body, "strategy": "sma_cross", "param_space": None,
                                 "feeds": ["GLOBEX"]}, timeout=60)
    assert r.status_code == 422 and "need a backtrader strategy" in r.text
    day = pd.Timestamp("2015-06-01")
    with BarStore.from_url(stored) as store:
        version = store.partitions("GLOBEX").set_index("session").loc[day, "data_version"]
        write_scores(store, "GLOBEX", [day.date()], pd.DataFrame([{
            "symbol": "GLOBEX", "session": day.date(), "bars_version": version,
            "severity": "critical", "reasons": '["bad"]', "rules": "unit_error", "jump_z": 40.0,
            "price_ratio": 100.0, "if_score": 0.9, "prophet_close_z": 30.0,
            "prophet_volume_z": 0.1, "thresholds": "{}"}]))
    r = requests.post(url, json={**body, "feeds": ["GLOBEX"]}, timeout=60)
    assert r.status_code == 409 and "GLOBEX" in r.text and "research-lab quality ack" in r.text
    assert launched == []
    r = requests.post(url, json={**body, "feeds": ["initech"]}, timeout=60)
    assert r.status_code == 202, r.text
    assert launched[0]["ops"]["optimization_study"]["config"]["feeds"] == ["INITECH"]


def test_the_dagster_asset_runs_a_pairs_study_from_its_feeds_config(stored, tmp_path,
                                                                    monkeypatch):
    import json

    import dagster as dg

    from research_lab.defs.backtest.partitions import register_strategies
    from research_lab.defs.optimize.assets import optimization_study
    from research_lab.defs.optimize.partitions import study_key
    from research_lab.defs.resources import default_resources
    from research_lab.defs.tracking.resources import TrackingResource

    monkeypatch.setenv("RESEARCH_LAB_STRATEGIES", str(EXAMPLES))
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        instance.add_dynamic_partitions("symbol", ["ACME"])
        register_strategies(instance)

        def run(feeds):
            return dg.materialize(
                [optimization_study], instance=instance,
                partition_key=str(study_key("PairsSpread", "ACME")),
                resources={**default_resources(), "tracking": TrackingResource()},
                run_config={"ops": {"optimization_study": {"config": {
                    "n_trials": 2, "tracking": False, "seed": 1, "feeds": feeds,
                    "param_space_json": json.dumps(SPACE)}}}},
                raise_on_error=False)

        result = run(["GLOBEX"])
        assert result.success
        md = result.asset_materializations_for_node("optimization_study")[0].metadata
        assert md["symbols"].value == "ACME+GLOBEX"
        assert md["study_name"].value == "PairsSpread.ACME.GLOBEX"
        assert md["trials_completed"].value + md["trials_pruned"].value == 2
        bad = run([f"S{i}" for i in range(8)])
        assert not bad.success
        failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
        assert "at most 8" in failure.event_specific_data.error.message
