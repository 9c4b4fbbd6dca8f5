"""The HTTP API against real servers: a Dagster webserver + daemon (``dagster dev`` in its own
process group, temporary DAGSTER_HOME) and the API (uvicorn in a thread). A 10-trial study is
POSTed, launched through Dagster's GraphQL API, and followed with GET until it is done."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from research_lab_tests.defs.optimize.conftest import write_bars

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, deadline_s: float, proc=None) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)  # polling a server coming up, with a deadline
    raise TimeoutError(f"{url} did not answer within {deadline_s} s")


@pytest.fixture
def servers(tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    store_url = f"sqlite:///{tmp_path / 'market.db'}"
    cfg = tmp_path / "optimize.yaml"
    cfg.write_text("study: {workers: 1}\nmarket_hours: {policy: ignore}\n"
                   "tracking: {enabled: false}\n")
    env = {"RESEARCH_LAB_HOME": str(tmp_path), "RESEARCH_LAB_STORE_URL": store_url,
           "RESEARCH_LAB_OPTIMIZE_CONFIG": str(cfg), "DAGSTER_HOME": str(home),
           "RESEARCH_LAB_SOURCE": "synthetic"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RESEARCH_LAB_OPTUNA_STORAGE", raising=False)
    write_bars(store_url)
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
    instance.add_dynamic_partitions("symbol", ["ACME"])
    instance.add_dynamic_partitions("strategy", ["sma_cross"])
    instance.dispose()

    port = free_port()
    dagster = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-m", "research_lab.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env={**os.environ}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "dagster.log", "wb"))
    monkeypatch.setenv("RESEARCH_LAB_DAGSTER_URL", f"http://127.0.0.1:{port}")

    import uvicorn

    from research_lab.api import create_app

    api_port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=api_port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(f"http://127.0.0.1:{api_port}/health", 30)
        wait_for(f"http://127.0.0.1:{port}/server_info", 120, dagster)
        yield f"http://127.0.0.1:{api_port}", tmp_path
    finally:
        server.should_exit = True
        thread.join(10)
        try:
            os.killpg(dagster.pid, signal.SIGTERM)
            dagster.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(dagster.pid, signal.SIGKILL)
            dagster.wait(10)


def test_post_a_study_and_follow_it_to_the_end(servers):
    api, tmp_path = servers
    url = f"{api}/backtests/optimize"
    bad = [
        ({"strategy": "nope", "symbol": "ACME"}, "unknown strategy 'nope'"),
        ({"strategy": "sma_cross", "symbol": "ACME", "metric": "sharp"}, "unknown metric 'sharp'"),
        ({"strategy": "sma_cross", "symbol": "NOPE"}, "symbol 'NOPE' has no bars"),
        ({"strategy": "sma_cross", "symbol": "ACME",
          "param_space": {"params": {"fast": {"type": "int", "low": 50, "high": 5}}}},
         "param_space: params.fast: empty range"),
        ({"strategy": "sma_cross", "symbol": "ACME", "n_trials": 0}, "greater than or equal to 1"),
        ({"strategy": "sma_cross", "symbol": "ACME", "colour": "red"}, "Extra inputs"),
    ]
    for body, message in bad:
        r = requests.post(url, json=body, timeout=30)
        assert r.status_code == 422 and message in r.text, (body, r.text)
    assert requests.get(f"{url}/sma_cross.ACME.00000000", timeout=30).status_code == 404

    space = {"params": {"fast": {"type": "int", "low": 5, "high": 30},
                        "slow": {"type": "int", "low": 40, "high": 120, "step": 5}}}
    r = requests.post(url, json={"strategy": "sma_cross", "symbol": "ACME", "n_trials": 10,
                                 "param_space": space, "seed": 3, "tracking": False}, timeout=60)
    assert r.status_code == 202, r.text
    study_id, run_id = r.json()["id"], r.json()["run_id"]
    seen, status = set(), None
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        status = requests.get(f"{url}/{study_id}", timeout=30).json()
        seen.add(status["state"])
        if status["state"] in ("done", "failed", "canceled"):
            break
        time.sleep(0.5)  # polling the API with a deadline
    log = (tmp_path / "dagster.log").read_text(errors="replace")[-3000:]
    assert status["state"] == "done", (status, log)
    assert status["dagster"] == {"run_id": run_id, "status": "SUCCESS"}
    assert status["trials"]["done"] == status["trials"]["total"] == 10
    assert status["trials"]["completed"] + status["trials"]["pruned"] == 10
    # the best value, read here straight from the run's Optuna journal (not through the API)
    import optuna

    from research_lab.core.optimize import storage as S

    trials = optuna.load_study(study_name=study_id, storage=S.open_storage(
        f"journal:///{tmp_path / 'optuna' / 'studies.journal'}")).get_trials()
    assert status["best_value"] == max(t.value for t in trials if t.state.name == "COMPLETE")
    kpis = status["kpis"]                              # what the run's report stored
    assert kpis["trials_per_hour"] > 0
    assert kpis["improvement_vs_default"] == pytest.approx(
        status["best_value"] - kpis["default_value"])
    assert set(status["best_params"]) == {"fast", "slow"}
    assert 5 <= status["best_params"]["fast"] <= 30
    assert 1 <= len(status["leaderboard"]) <= 10
