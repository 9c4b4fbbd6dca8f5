"""Bad input through the HTTP API (a real uvicorn server, real requests) and through source
files the market-data sensor discovers: refused with a status naming the field, no
traceback, no echo of the value, nothing written."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from research_lab_tests.badinput.conftest import _build_template, snapshot_tree

BIG = "A" * 10_000_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The API on a free port over a lab with ACME bars; no Dagster webserver (every case is
    refused before a run would be launched)."""
    root = tmp_path_factory.mktemp("badinput_api")
    _build_template(root)
    home = root / "home"
    env = {"RESEARCH_LAB_HOME": str(home), "RESEARCH_LAB_STORE_URL": f"sqlite:///{home}/market.db",
           "RESEARCH_LAB_SOURCE": "synthetic", "DAGSTER_HOME": str(root / "dagster_home"),
           "RESEARCH_LAB_OPTUNA_STORAGE": f"journal:///{home}/optuna/studies.journal",
           "RESEARCH_LAB_DAGSTER_URL": f"http://127.0.0.1:{_free_port()}"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        import uvicorn

        from research_lab.api import create_app

        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port,
                                               log_level="critical"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)  # the server is starting
        yield url, root
        server.should_exit = True
        thread.join(10)


def _body(**fields):
    return {"strategy": "sma_cross", "symbol": "ACME", **fields}


API_CASES = [
    pytest.param(_body(symbol="../../etc/passwd"), 422, "not a valid symbol", id="path-symbol"),
    pytest.param(_body(symbol="'; DROP TABLE bars; --"), 422, "not a valid symbol",
                 id="sql-symbol"),
    pytest.param(_body(symbol=""), 422, "empty", id="empty-symbol"),
    pytest.param(_body(symbol="A|B"), 422, "not a valid symbol", id="pipe-symbol"),
    # bodies above the API's limit (64 KiB) are refused before validation, naming the limit
    pytest.param(_body(symbol=BIG), 413, "the limit is 65536", id="10mb-symbol"),
    pytest.param(_body(strategy=BIG), 413, "the limit is 65536", id="10mb-strategy"),
    pytest.param(_body(symbol="ZZZZ"), 422, "no bars", id="unknown-symbol"),
    pytest.param(_body(strategy="nope"), 422, "nope", id="unknown-strategy"),
    pytest.param(_body(n_trials=0), 422, "n_trials", id="zero-trials"),
    pytest.param(_body(n_trials=10**9), 422, "n_trials", id="huge-trials"),
    pytest.param(_body(n_trials="many"), 422, "n_trials", id="text-trials"),
    pytest.param(_body(timeout=-1), 422, "timeout", id="negative-timeout"),
    pytest.param(_body(workers=1000), 422, "workers", id="too-many-workers"),
    pytest.param(_body(metric="sharp"), 422, "sharp", id="unknown-metric"),
    pytest.param(_body(direction="up"), 422, "direction", id="bad-direction"),
    pytest.param(_body(market_hours="never"), 422, "market_hours", id="bad-market-hours"),
    pytest.param(_body(start="2023-06-01", end="2023-01-03"), 422, "after",
                 id="reversed-dates"),
    pytest.param(_body(start="13/01/2023"), 422, "start", id="dayfirst-date"),
    pytest.param(_body(extra="x"), 422, "extra", id="unknown-field"),
    pytest.param(_body(param_space={"params": {"nope": {"type": "int", "low": 1, "high": 5}}}),
                 422, "nope", id="space-unknown-param"),
    pytest.param(_body(param_space={"params": {"fast": {"type": "int", "low": 9, "high": 1}}}),
                 422, "low", id="space-low-above-high"),
    pytest.param({"symbol": "ACME"}, 422, "strategy", id="missing-strategy"),
]


@pytest.mark.parametrize("body, status, expected", API_CASES)
def test_api_refuses_bad_requests_naming_the_field(api, body, status, expected):
    url, root = api
    before = {p: snapshot_tree(root / p) for p in ("home", "dagster_home")}
    response = requests.post(f"{url}/backtests/optimize", json=body, timeout=60)
    assert response.status_code == status, response.text[:500]
    text = response.text
    assert expected.lower() in text.lower(), text[:500]
    assert "Traceback" not in text
    assert len(text) < 5000, "the value sent is not echoed back"
    if body.get("symbol") == "ZZZZ":
        assert "ACME" not in text, "the stored symbols are not listed"
    assert {p: snapshot_tree(root / p) for p in ("home", "dagster_home")} == before


def test_api_malformed_json_and_bad_study_ids(api):
    url, _ = api
    r = requests.post(f"{url}/backtests/optimize", data=b"{not json", timeout=30,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "Traceback" not in r.text
    r = requests.get(f"{url}/backtests/optimize/{'x' * 300}", timeout=30)
    assert r.status_code == 422 and "bad study id" in r.text
    r = requests.get(f"{url}/backtests/optimize/a%27%3B%20DROP", timeout=30)
    assert r.status_code == 422


# -- source files the sensor discovers ------------------------------------------------------
BAD_FILE_NAMES = ["o'rcl.csv", "a|b.csv", "semi;colon.csv", f"{'L' * 40}.csv"]


def test_sensor_skips_source_files_whose_names_are_not_symbols(lab, monkeypatch):
    import dagster as dg

    from research_lab.defs.marketdata.sensors import market_data_sensor
    from research_lab.defs.resources import CalendarResource, SourceResource, StoreResource

    landing = lab.root / "landing"
    landing.mkdir()
    good = "Date,Open,High,Low,Close,Adj Close,Volume\n2023-01-03,10,11,9,10.5,10.5,1000\n"
    (landing / "orcl.csv").write_text(good)
    for name in BAD_FILE_NAMES:
        (landing / name).write_text(good)
    monkeypatch.setenv("RESEARCH_LAB_SOURCE", "csv")
    monkeypatch.setenv("RESEARCH_LAB_CSV_DIR", str(landing))
    (lab.root / "sensor_home").mkdir()
    with dg.instance_for_test(temp_dir=str(lab.root / "sensor_home")) as instance:
        with dg.build_sensor_context(instance=instance, resources={
                "source": SourceResource(), "store": StoreResource(),
                "calendar": CalendarResource()}) as ctx:
            result = market_data_sensor(ctx)
    added = [k for r in result.dynamic_partitions_requests for k in r.partition_keys]
    assert "ORCL" in added
    from research_lab.core.inputs import InputError, symbol

    bad = []
    for key in added:
        try:
            symbol(key)
        except InputError:
            bad.append(key)
    assert not bad, f"symbols registered from bad file names: {bad}"

