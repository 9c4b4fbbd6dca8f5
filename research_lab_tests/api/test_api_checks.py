"""The API's checks before anything is launched, against the API in uvicorn and a real store
(Dagster's GraphQL calls are replaced by recorders: launching for real is
test_optimize_api.py): bearer token, body size, short error messages that never list stored
symbols, the date range against stored bars, the quality gate, the market-hours rule, the
failure reason, and DELETE."""

import threading

import pytest
import requests

from research_lab.api import dagster_client as D
from research_lab.cli import main
from research_lab_tests.api.test_optimize_api import free_port, wait_for
from research_lab_tests.defs.optimize.conftest import write_bars

TOKEN = "s3cret-token"


@pytest.fixture
def api(tmp_path, monkeypatch):
    store_url = f"sqlite:///{tmp_path / 'market.db'}"
    cfg = tmp_path / "optimize.yaml"
    cfg.write_text("market_hours: {policy: ignore}\n")
    for key, value in {"RESEARCH_LAB_HOME": str(tmp_path), "RESEARCH_LAB_STORE_URL": store_url,
                       "RESEARCH_LAB_OPTIMIZE_CONFIG": str(cfg)}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RESEARCH_LAB_OPTUNA_STORAGE", raising=False)
    write_bars(store_url)
    calls = {"launch": [], "terminate": []}
    monkeypatch.setattr(D, "launch_run", lambda job, config, tags: calls["launch"].append(
        (job, config, tags)) or "run-1")
    monkeypatch.setattr(D, "terminate_run", lambda run_id: calls["terminate"].append(run_id))
    runs = {}
    monkeypatch.setattr(D, "study_run", lambda study_id: runs.get(study_id))
    monkeypatch.setattr(D, "run_failure", lambda run_id: "refused: the market is open")

    import uvicorn

    from research_lab.api import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(token=TOKEN), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(f"http://127.0.0.1:{port}/health", 30)
    try:
        yield f"http://127.0.0.1:{port}/backtests/optimize", calls, runs
    finally:
        server.should_exit = True
        thread.join(10)


def post(url, body, token=TOKEN, **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(url, json=body, headers=headers, timeout=60, **kw)


def test_a_bearer_token_guards_every_route_but_health(api):
    url, calls, _ = api
    body = {"strategy": "sma_cross", "symbol": "ACME", "n_trials": 5}
    assert post(url, body, token=None).status_code == 401
    assert post(url, body, token="wrong").status_code == 401
    assert requests.get(f"{url}/x", timeout=30).status_code == 401
    r = post(url, body)
    assert r.status_code == 202, r.text
    job, config, tags = calls["launch"][0]
    assert job == "optimization_job" and config["ops"]["optimization_study"]["config"]["n_trials"] == 5
    assert tags["research_lab/kind"] == "optimization"


def test_bad_input_gets_a_short_message_that_lists_no_stored_symbol(api):
    url, calls, _ = api
    huge = "x" * (200 * 1024)
    assert post(url, {"strategy": huge, "symbol": "ACME"}).status_code == 413
    long = "y" * 5000
    r = post(url, {"strategy": long, "symbol": "ACME"})
    assert r.status_code == 422 and len(r.text) < 400 and "yyyyyyyyyy" not in r.text
    assert "strategy" in r.text
    r = post(url, {"strategy": "sma_cross", "symbol": "NOPE"})
    assert r.status_code == 422 and "'NOPE' has no bars" in r.text and "ACME" not in r.text
    r = post(url, {"strategy": "sma_cross", "symbol": "ACME", "start": "2010-01-04",
                   "end": "2010-12-31"})
    assert r.status_code == 422 and "no bars between 2010-01-04 and 2010-12-31" in r.text
    r = post(url, {"strategy": "sma_cross", "symbol": "ACME", "start": "2023-11-01"})
    assert r.status_code == 422 and "too few" in r.text
    r = post(url, {"strategy": "sma_cross", "symbol": "ACME", "sampler": "hyperopt"})
    assert r.status_code == 422 and "sampler: not one of tpe" in r.text
    assert calls["launch"] == []                       # nothing launched


def test_the_market_hours_rule_is_checked_before_accepting(api, monkeypatch):
    import pandas as pd

    from research_lab.core.marketdata.calendar import TradingCalendar

    url, calls, _ = api
    monkeypatch.setattr(TradingCalendar, "is_open", lambda self, now: True)
    monkeypatch.setattr(TradingCalendar, "next_close",
                        lambda self, now: pd.Timestamp(now) + pd.Timedelta(hours=2))
    body = {"strategy": "sma_cross", "symbol": "ACME", "market_hours": "refuse"}
    r = post(url, body)
    assert r.status_code == 409 and "market is open" in r.text
    assert post(url, {**body, "market_hours": "wait"}).status_code == 202
    assert len(calls["launch"]) == 1


def test_an_open_critical_anomaly_is_refused(api, tmp_path):
    import pandas as pd

    from research_lab.core.marketdata.store import BarStore, write_scores

    url, calls, _ = api
    with BarStore.from_url(f"sqlite:///{tmp_path / 'market.db'}") as store:
        day = pd.Timestamp("2023-03-01")
        version = store.partitions("ACME").set_index("session").loc[day, "data_version"]
        write_scores(store, "ACME", [day.date()], pd.DataFrame([{
            "symbol": "ACME", "session": day.date(), "bars_version": version,
            "severity": "critical", "reasons": '["spike"]', "rules": "unit_error",
            "jump_z": 40.0, "price_ratio": 100.0, "if_score": 0.9, "prophet_close_z": 30.0,
            "prophet_volume_z": 0.1, "thresholds": "{}"}]))
    r = post(url, {"strategy": "sma_cross", "symbol": "ACME"})
    assert r.status_code == 409 and "2023-03-01" in r.text and "research-lab quality ack" in r.text
    assert calls["launch"] == []


def test_get_shows_the_failure_reason_and_delete_cancels(api, tmp_path):
    from research_lab.core.optimize import StudyRequest, load_optimize_config, run_study
    from research_lab.core.optimize import storage as S
    from research_lab.core.optimize.space import parse_space
    from research_lab_tests.core.optimize.conftest import make_bars

    url, calls, runs = api
    headers = {"Authorization": f"Bearer {TOKEN}"}
    cfg = load_optimize_config().override("study", workers=1)
    space = parse_space({"params": {"fast": {"type": "int", "low": 5, "high": 20}}},
                        strategy="sma_cross")
    run_study(StudyRequest("sma_cross", "ACME", make_bars(800), space, "s1", n_trials=4,
                           config=cfg), report=False)
    runs["s1"] = {"runId": "r-1", "status": "FAILURE"}
    got = requests.get(f"{url}/s1", headers=headers, timeout=30).json()
    assert got["state"] == "failed" and got["failure"] == "refused: the market is open"
    runs["s1"] = {"runId": "r-1", "status": "STARTED"}
    r = requests.delete(f"{url}/s1", headers=headers, timeout=30)
    assert r.status_code == 202 and calls["terminate"] == ["r-1"]
    study = S.load_study(S.resolve_storage_url(None), "s1")
    assert study.user_attrs["research_lab.stopped"]["reason"] == "canceled through the API"
    assert requests.delete(f"{url}/ghost", headers=headers, timeout=30).status_code == 404


def test_serving_beyond_loopback_needs_a_token(monkeypatch, capsys):
    monkeypatch.delenv("RESEARCH_LAB_API_TOKEN", raising=False)
    assert main(["optimize", "serve", "--host", "0.0.0.0"]) == 2
    assert "set RESEARCH_LAB_API_TOKEN" in capsys.readouterr().err


def test_min_trades_and_sharpe_dd_reach_the_run_and_a_loss_is_not_accepted(api):
    url, calls, _ = api
    r = post(url, {"strategy": "sma_cross", "symbol": "ACME", "n_trials": 5,
                   "metric": "sharpe_dd", "min_trades": 4})
    assert r.status_code == 202, r.text
    config = calls["launch"][0][1]["ops"]["optimization_study"]["config"]
    assert config["min_trades"] == 4 and config["metric"] == "sharpe_dd"
    r = post(url, {"strategy": "sma_cross", "symbol": "ACME", "loss": "os:system"})
    assert r.status_code == 422 and len(calls["launch"]) == 1   # never loads request code
    r = post(url, {"strategy": "sma_cross", "symbol": "ACME", "min_trades": -1})
    assert r.status_code == 422 and "min_trades" in r.text
