"""The alert sensor against a real local webhook, and scores following market_data."""

from datetime import date, datetime, timedelta, timezone

import dagster as dg
import pandas as pd
import pytest

from research_lab.core.marketdata.sources import SyntheticSource
from research_lab.core.quality.config import SentinelConfig
from research_lab.core.quality.sentinel import score_partitions
from research_lab.defs.quality import sensors
from research_lab.defs.quality.resources import AlertWebhookResource
from research_lab.defs.resources import CalendarResource, StoreResource
from research_lab_tests.core.quality.webhook_server import webhook_server

BAD = date(2019, 6, 14)


@pytest.fixture
def critical(store):
    """ACME stored with a 100x print on BAD, scored: one open critical."""
    bars = SyntheticSource(seed=42, symbols=("ACME",)).fetch("ACME", date(2018, 1, 2), date(2019, 6, 21))
    bars.loc[bars["session"] == str(BAD), ["open", "high", "low", "close", "adj_close"]] *= 100
    store.write_partitions("ACME", bars["session"].dt.date, bars, source="test")
    days = [d.date() for d in pd.bdate_range("2019-06-10", "2019-06-21")]
    score_partitions(store, "ACME", days, calendar=CalendarResource().get(),
                     config=SentinelConfig(use_prophet=False))
    return store


class _Tick:
    def __init__(self, result, cursor):
        self.skip_message, self.cursor = result.skip_message, cursor


def _tick(instance, cursor=None, **hook):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor,
        resources={"store": StoreResource(), "alert_webhook": AlertWebhookResource(**hook)},
    ) as context:
        result = sensors.anomaly_alert_sensor(context)
        return _Tick(result, context.cursor), _Tick(result, context.cursor)


def test_posts_each_new_critical_once(lab_env, instance, critical, monkeypatch):
    with webhook_server() as hook:
        monkeypatch.setenv("RESEARCH_LAB_ALERT_WEBHOOK_URL", hook.url)
        first, ctx = _tick(instance)
        second, _ = _tick(instance, cursor=ctx.cursor)
        from_scratch, _ = _tick(instance)  # even without a cursor: the alert log remembers
    assert [b["session"] for b in hook.bodies] == ["2019-06-14"]
    assert hook.bodies[0]["symbol"] == "ACME" and hook.bodies[0]["severity"] == "critical"
    assert "posted 1 alert(s), 0 failed" in first.skip_message
    assert second.skip_message == "no new critical anomaly"
    assert from_scratch.skip_message == "no new critical anomaly"
    assert datetime.fromisoformat(ctx.cursor) < datetime.now(timezone.utc) - timedelta(minutes=9)


def test_retries_a_failing_webhook_then_logs_the_final_failure(lab_env, instance, critical, capfd):
    with webhook_server(fail_first=1, status=502) as hook:
        ok, _ = _tick(instance, url=hook.url, backoff_s=0.01)
    assert hook.attempts == 2 and len(hook.bodies) == 1 and "posted 1" in ok.skip_message

    # a second critical (a 1/100 print) for a server that always fails
    bars = critical.read_bars("ACME", date(2019, 6, 17), date(2019, 6, 17))
    bars[["open", "high", "low", "close", "adj_close"]] /= 100
    critical.write_partitions("ACME", [date(2019, 6, 17)], bars, source="test")
    score_partitions(critical, "ACME", [date(2019, 6, 17)], calendar=CalendarResource().get(),
                     config=SentinelConfig(use_prophet=False))
    capfd.readouterr()
    with webhook_server(fail_first=-1, status=500) as hook:
        failed, _ = _tick(instance, url=hook.url, retries=2, backoff_s=0.01)
    assert hook.attempts == 3 and "1 failed" in failed.skip_message
    logged = capfd.readouterr().err
    port = hook.url.split(":")[2].split("/")[0]
    assert (f"ERROR - alert delivery failed for ACME 2019-06-17 after 3 attempt(s) to "
            f"http://127.0.0.1:{port}/...: HTTP 500") in logged
    assert "secret-token" not in logged  # the webhook path (a secret) is never logged


def test_nothing_is_sent_without_a_url_or_with_a_non_http_one(lab_env, instance, critical, monkeypatch):
    monkeypatch.delenv("RESEARCH_LAB_ALERT_WEBHOOK_URL", raising=False)
    with webhook_server() as hook:
        result, ctx = _tick(instance)
        bad, _ = _tick(instance, url="ftp://127.0.0.1/x")
    assert "no alert webhook URL set" in result.skip_message and ctx.cursor
    assert "must start with http:// or https://" in bad.skip_message
    assert hook.attempts == 0


def test_scores_follow_new_market_data_partitions(lab_env, instance):
    """The automation condition requests exactly the anomaly_scores partitions whose
    market_data partition was just written (here a 3-session range of ACME|2024), and that run
    (no config) scores only the sessions not scored yet."""
    from research_lab.defs.marketdata.assets import market_data
    from research_lab.defs.marketdata.backfill import materialize_range
    from research_lab.defs.partitions import market_key
    from research_lab.defs.quality.assets import anomaly_report, anomaly_scores

    from research_lab.defs.resources import default_resources

    assets = dg.Definitions(
        assets=[market_data, anomaly_scores, anomaly_report],
        resources={**default_resources(), "alert_webhook": AlertWebhookResource()},
    )
    materialize_range(instance, ["ACME"], date(2024, 3, 4), date(2024, 3, 4), log_level="ERROR")
    first = dg.evaluate_automation_conditions(defs=assets, instance=instance)
    materialize_range(instance, ["ACME"], date(2024, 3, 5), date(2024, 3, 7), log_level="ERROR")
    second = dg.evaluate_automation_conditions(defs=assets, instance=instance, cursor=first.cursor)
    requested = second.get_requested_partitions(dg.AssetKey("anomaly_scores"))
    assert requested == {str(market_key("ACME", date(2024, 3, 5)))} == {"ACME|2024"}

    from research_lab.core.marketdata.store import BarStore, read_scores

    def score():
        result = dg.materialize(
            [anomaly_scores], instance=instance, partition_key="ACME|2024",
            resources={**default_resources(), "alert_webhook": AlertWebhookResource()},
            run_config={"ops": {"anomaly_scores": {"config": {"use_prophet": False}}}})
        return result.asset_materializations_for_node("anomaly_scores")[0].metadata

    assert score()["sessions_scored"].value == 4
    materialize_range(instance, ["ACME"], date(2024, 3, 8), date(2024, 3, 8), log_level="ERROR")
    assert score()["sessions_scored"].value == 1, "the next night: one session, not the year"
    store = BarStore.from_url(lab_env)
    assert len(read_scores(store, "ACME")) == 5
    store.close()
