"""The gate (open criticals, acknowledgements) and webhook alerts against a real HTTP server."""

import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from research_lab.core.marketdata.store import BarStore, read_alerts
from research_lab.core.quality.alerts import (
    DeliveryPolicy,
    deliver_alerts,
    mask,
    post_json,
    validate_webhook_url,
    webhook_url_from_env,
)
from research_lab.core.quality.gate import (
    QualityGateError,
    acknowledge,
    open_criticals,
    require_no_open_criticals,
)
from research_lab.core.quality.sentinel import score_partitions

from .conftest import NO_PROPHET
from .webhook_server import webhook_server

BAD_DAY = date(2019, 6, 14)
FAST_RETRY = DeliveryPolicy(timeout_s=2.0, retries=3, backoff_s=0.5)


def _scale_day(store, bars, day, factor):
    row = bars[bars["session"] == pd.Timestamp(day)].copy()
    for col in ("open", "high", "low", "close", "adj_close"):
        row[col] *= factor
    store.write_partitions("ACME", [day], row, source="test")


@pytest.fixture
def store(tmp_path, synthetic_bars, calendar):
    """ACME stored with a 100x print on BAD_DAY, and June 2019 scored."""
    st = BarStore.from_url(f"sqlite:///{tmp_path / 'market.db'}")
    st.write_partitions("ACME", synthetic_bars["session"].dt.date, synthetic_bars, source="test")
    _scale_day(st, synthetic_bars, BAD_DAY, 100.0)
    days = [d.date() for d in pd.bdate_range("2019-06-10", "2019-06-21")]
    score_partitions(st, "ACME", days, calendar=calendar, config=NO_PROPHET)
    yield st
    st.close()


def test_open_critical_blocks_until_acknowledged(store, calendar, synthetic_bars):
    found = open_criticals(store, "ACME")
    assert [a.session for a in found] == [BAD_DAY]
    assert "unit error" in found[0].reasons[0] and found[0].rules == ("unit_error",)
    with pytest.raises(QualityGateError, match=r"ACME has 1 open critical data anomaly: 2019-06-14"):
        require_no_open_criticals(store, "acme")

    acknowledge(store, "ACME", "2019-06-14", verdict="confirmed", reason="vendor cents bug",
                author="ana")
    require_no_open_criticals(store, "ACME")  # passes now
    score_partitions(store, "ACME", [BAD_DAY], calendar=calendar, config=NO_PROPHET)
    assert open_criticals(store) == []  # a rescore of the same bars keeps the acknowledgement

    _scale_day(store, synthetic_bars, BAD_DAY, 0.01)  # different wrong bars: judged afresh
    score_partitions(store, "ACME", [BAD_DAY], calendar=calendar, config=NO_PROPHET)
    assert [a.session for a in open_criticals(store, "ACME")] == [BAD_DAY]


def test_open_criticals_of_several_symbols_in_one_call(store, calendar, synthetic_bars):
    """A list of symbols: each one's open criticals, acknowledgements applied per symbol."""
    wayne = synthetic_bars.assign(symbol="WAYNE")
    store.write_partitions("WAYNE", wayne["session"].dt.date, wayne, source="test")
    row = wayne[wayne["session"] == pd.Timestamp(BAD_DAY)].copy()
    for col in ("open", "high", "low", "close", "adj_close"):
        row[col] *= 100.0
    store.write_partitions("WAYNE", [BAD_DAY], row, source="test")
    score_partitions(store, "WAYNE", [BAD_DAY], calendar=calendar, config=NO_PROPHET)
    both = open_criticals(store, ["WAYNE", "ACME"])
    assert [(a.symbol, a.session) for a in both] == [("ACME", BAD_DAY), ("WAYNE", BAD_DAY)]
    acknowledge(store, "WAYNE", BAD_DAY, verdict="confirmed", reason="cents", author="ana")
    assert [a.symbol for a in open_criticals(store, ["ACME", "WAYNE"])] == ["ACME"]
    assert [a.symbol for a in open_criticals(store, ["WAYNE"])] == []


def test_acknowledging_needs_a_score_and_a_valid_verdict(store):
    with pytest.raises(ValueError, match="no anomaly score stored for ACME 2019-07-01"):
        acknowledge(store, "ACME", date(2019, 7, 1), verdict="false_positive", reason="x", author="a")
    with pytest.raises(ValueError, match="verdict"):
        acknowledge(store, "ACME", BAD_DAY, verdict="ok", reason="x", author="a")
    assert len(open_criticals(store)) == 1


def test_each_new_critical_is_posted_once_as_json(store):
    with webhook_server() as hook:
        out = deliver_alerts(store, hook.url, policy=FAST_RETRY, link_base="http://ui:3000")
        again = deliver_alerts(store, hook.url, policy=FAST_RETRY)
    assert [o.delivery.ok for o in out] == [True] and again == []
    (body,) = hook.bodies
    assert body["symbol"] == "ACME" and body["session"] == "2019-06-14"
    assert body["severity"] == "critical" and body["rules"] == ["unit_error"]
    assert "unit error" in body["reasons"][0]
    assert set(body["scores"]) >= {"jump_z", "price_ratio", "if_score", "prophet_close_z"}
    assert body["link"].startswith("http://ui:3000/assets/anomaly_scores?")
    assert "2019-06-14%7CACME" in body["link"]
    assert read_alerts(store)[["status", "attempts"]].values.tolist() == [["sent", 1]]


def test_a_server_failing_the_first_attempts_gets_the_alert_with_backoff(store):
    waits = []
    with webhook_server(fail_first=2, status=503) as hook:
        out = deliver_alerts(store, hook.url, policy=FAST_RETRY, sleep=waits.append)
    assert out[0].delivery.ok and out[0].delivery.attempts == 3
    assert hook.attempts == 3 and len(hook.bodies) == 1
    assert waits == [0.5, 1.0]  # exponential backoff


def test_final_failure_is_recorded_and_not_retried_forever(store):
    waits = []
    with webhook_server(fail_first=-1, status=500) as hook:
        out = deliver_alerts(store, hook.url, policy=FAST_RETRY, sleep=waits.append)
        later = deliver_alerts(store, hook.url, policy=FAST_RETRY, sleep=waits.append)
    assert not out[0].delivery.ok and out[0].delivery.attempts == 4
    assert out[0].delivery.detail == "HTTP 500" and waits == [0.5, 1.0, 2.0]
    assert hook.attempts == 4 and later == []
    assert read_alerts(store)[["status", "attempts"]].values.tolist() == [["failed", 4]]


def test_a_client_error_is_not_retried():
    with webhook_server(fail_first=-1, status=400) as hook:
        result = post_json(hook.url, {"x": 1}, FAST_RETRY, sleep=lambda s: None)
    assert (result.ok, result.attempts, result.status) == (False, 1, 400)
    assert hook.attempts == 1


def test_a_slow_server_times_out():
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            release.wait(5)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        result = post_json(url, {}, DeliveryPolicy(timeout_s=0.2, retries=0))
    finally:
        release.set()
        server.shutdown()
        server.server_close()
    assert not result.ok and "Timeout" in result.detail


def test_acknowledged_criticals_are_not_posted(store):
    acknowledge(store, "ACME", BAD_DAY, verdict="false_positive", reason="checked", author="bo")
    with webhook_server() as hook:
        assert deliver_alerts(store, hook.url, policy=FAST_RETRY) == []
    assert hook.attempts == 0


def test_only_http_urls_and_nothing_without_one():
    assert webhook_url_from_env({}) is None
    assert webhook_url_from_env({"RESEARCH_LAB_ALERT_WEBHOOK_URL": " "}) is None
    url = "https://hooks.example.org/T0/secret"
    assert webhook_url_from_env({"RESEARCH_LAB_ALERT_WEBHOOK_URL": url}) == url
    for bad in ("ftp://host/x", "file:///etc/passwd", "hooks.example.org/x", "http:///nohost"):
        with pytest.raises(ValueError, match="http|host"):
            validate_webhook_url(bad)
    assert mask("https://user:pw@hooks.example.org:8443/T0/secret?k=v") == "https://hooks.example.org:8443/..."
