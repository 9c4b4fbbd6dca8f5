"""anomaly_scores and anomaly_report materialized on a temporary instance; checks and the gate."""

from datetime import date

import dagster as dg
import pytest

from research_lab.core.marketdata.sources import SyntheticSource
from research_lab.defs.marketdata.backfill import add_symbols
from research_lab.defs.marketdata.requests import range_tags
from research_lab.defs.partitions import market_key, market_partitions
from research_lab.defs.quality.assets import anomaly_report, anomaly_scores
from research_lab.defs.failures import use_case_failure
from research_lab.defs.quality.resources import AlertWebhookResource
from research_lab.defs.resources import StoreResource, default_resources

BAD = date(2019, 6, 14)
NO_PROPHET = {"ops": {"anomaly_scores": {"config": {"use_prophet": False}}}}


@pytest.fixture
def acme(store):
    """ACME bars 2017-2019 in the store (written directly: fast), one 100x print on BAD."""
    bars = SyntheticSource(seed=42, symbols=("ACME",)).fetch("ACME", date(2017, 1, 3), date(2019, 12, 31))
    store.write_partitions("ACME", bars["session"].dt.date, bars, source="test")
    bad = bars[bars["session"] == str(BAD)].copy()
    bad[["open", "high", "low", "close", "adj_close"]] *= 100
    store.write_partitions("ACME", [BAD], bad, source="test")
    return store


@dg.asset(partitions_def=market_partitions, deps=[anomaly_scores])
def study(context: dg.AssetExecutionContext, store: StoreResource) -> None:
    """A stand-in for a downstream study of one symbol: the use cases' gate, as assets map it."""
    from research_lab.core.usecases.history import require_quality

    try:
        require_quality(store.open(), context.partition_key.keys_by_dimension["symbol"])
    except ValueError as exc:
        raise use_case_failure(exc) from None


def _resources():
    return {**default_resources(), "alert_webhook": AlertWebhookResource()}


def _run(instance, assets, *, key=None, start=None, end=None, **config):
    """One session (``key``: its year partition, config start = end) or a session range (its
    years, config start/end) of ACME; ``config`` adds to anomaly_scores' config."""
    add_symbols(instance, ["ACME"])
    tags = range_tags(["ACME"], start, end) if start is not None else {}
    start, end = (key, key) if key else (start, end)
    bounds = {"start": start.isoformat(), "end": end.isoformat()} if start else {}
    return dg.materialize(
        assets, instance=instance, resources=_resources(),
        run_config={"ops": {"anomaly_scores": {"config": {"use_prophet": False, **bounds,
                                                          **config}}}}
        if anomaly_scores in assets else None,
        partition_key=str(market_key("ACME", key)) if key else None, tags=tags, raise_on_error=False,
    )


def _checks(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_clean_partition_is_scored_with_metadata(lab_env, instance, acme):
    result = _run(instance, [anomaly_scores], key=date(2019, 6, 13))
    assert result.success
    mat = result.asset_materializations_for_node("anomaly_scores")[0]
    assert mat.partition == "ACME|2019"
    md = mat.metadata
    assert md["sessions_scored"].value == 1 and md["critical"].value == 0
    assert md["thresholds"].value == "thresholds.yaml:defaults"
    assert _checks(result)["no_open_criticals"].passed


def test_a_critical_partition_blocks_the_study_until_acknowledged(lab_env, instance, acme):
    from research_lab.core.quality.gate import acknowledge

    result = _run(instance, [anomaly_scores, study], key=BAD)
    check = _checks(result)["no_open_criticals"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "ACME 2019-06-14: unit error" in check.metadata["details"].value
    assert not result.asset_materializations_for_node("study")  # skipped by the blocking check

    alone = _run(instance, [study], key=BAD)  # another run: the gate itself stops it
    assert not alone.success
    failure = next(e for e in alone.all_events if e.is_step_failure)
    assert "ACME has 1 open critical data anomaly" in failure.event_specific_data.error.message

    acknowledge(acme, "ACME", BAD, verdict="false_positive", reason="checked", author="ana")
    again = _run(instance, [anomaly_scores, study], key=BAD)
    assert again.success and _checks(again)["no_open_criticals"].passed
    assert again.asset_materializations_for_node("study")


def test_a_range_is_one_run_listing_every_failing_partition(lab_env, instance, acme):
    result = _run(instance, [anomaly_scores], start=date(2019, 6, 3), end=date(2019, 6, 28))
    assert len(instance.get_runs()) == 1
    md = result.asset_materializations_for_node("anomaly_scores")
    assert len(md) == 1 and md[0].metadata["sessions_scored"].value == 20  # ACME|2019
    assert md[0].metadata["critical"].value == 1 and md[0].metadata["open_criticals"].value == 1
    check = _checks(result)["no_open_criticals"]
    assert not check.passed and check.metadata["open_criticals"].value == 1


def test_only_sessions_whose_bars_changed_are_scored_again(lab_env, instance, acme):
    """A second run scores nothing (the checks still judge every session of the partition); a
    changed bar is scored alone; ``rescore`` scores every session again."""
    from research_lab.core.marketdata.store import read_scores

    first = _run(instance, [anomaly_scores], start=date(2019, 6, 3), end=date(2019, 6, 28))
    assert first.asset_materializations_for_node("anomaly_scores")[0].metadata[
        "sessions_scored"].value == 20
    scored_at = read_scores(acme, "ACME").set_index("session")["scored_at"]

    again = _run(instance, [anomaly_scores], start=date(2019, 6, 3), end=date(2019, 6, 28))
    md = again.asset_materializations_for_node("anomaly_scores")[0].metadata
    assert md["sessions_scored"].value == 0
    assert md["open_criticals"].value == 1, "the open critical of BAD is still reported"
    assert not _checks(again)["no_open_criticals"].passed

    fixed = acme.read_bars("ACME", BAD, BAD)
    fixed[["open", "high", "low", "close", "adj_close"]] /= 100  # the vendor fixes the print
    acme.write_partitions("ACME", [BAD], fixed, source="test")
    third = _run(instance, [anomaly_scores], start=date(2019, 6, 3), end=date(2019, 6, 28))
    md = third.asset_materializations_for_node("anomaly_scores")[0].metadata
    assert md["sessions_scored"].value == 1 and md["open_criticals"].value == 0
    after = read_scores(acme, "ACME").set_index("session")["scored_at"]
    assert [d.date() for d in after.index[after != scored_at]] == [BAD]

    everything = _run(instance, [anomaly_scores], start=date(2019, 6, 3), end=date(2019, 6, 28),
                      rescore=True)
    assert everything.asset_materializations_for_node("anomaly_scores")[0].metadata[
        "sessions_scored"].value == 20


def test_the_report_shows_counts_open_criticals_and_a_plot(lab_env, instance, acme, tmp_path):
    from pathlib import Path

    _run(instance, [anomaly_scores], start=date(2019, 6, 3), end=date(2019, 6, 28))
    result = dg.materialize([anomaly_report], instance=instance, resources=_resources())
    md = result.asset_materializations_for_node("anomaly_report")[0].metadata
    assert md["partitions"].value == 20 and md["open_criticals"].value == 1
    assert md["false_positive_rate"].value.startswith("n/a")
    assert md["median_hours_to_acknowledge"].value.startswith("n/a")
    # the fixture wrote two ingest batches: the history, then the 100x print of BAD alone
    assert md["ingest_batches"].value == 2
    assert Path(md["plot"].value).read_bytes()[:4] == b"\x89PNG"
    assert Path(md["plot"].value).is_relative_to(tmp_path)
    assert "| ACME | 2019-06-14 | unit error" in md["report"].value
    assert md["report"].value.startswith("**KPIs**: ")

    from research_lab.core.quality.gate import acknowledge

    acknowledge(acme, "ACME", BAD, verdict="false_positive", reason="checked", author="ana")
    again = dg.materialize([anomaly_report], instance=instance, resources=_resources())
    md = again.asset_materializations_for_node("anomaly_report")[0].metadata
    assert md["false_positive_rate"].value == 1.0 and md["open_criticals"].value == 0
    assert 0.0 <= md["median_hours_to_acknowledge"].value < 1.0  # acknowledged just now


def test_definitions_hold_the_quality_domain():
    from research_lab.definitions import defs

    repo = defs.get_repository_def()
    assert {"anomaly_scores_job", "anomaly_report_job"} <= set(repo.job_names)
    assert {"anomaly_alert_sensor", "quality_automation_sensor"} <= {s.name for s in repo.sensor_defs}
    graph = defs.resolve_asset_graph()
    assert {dg.AssetKey("anomaly_scores"), dg.AssetKey("anomaly_report")} <= graph.get_all_asset_keys()
    scores = graph.get(dg.AssetKey("anomaly_scores"))
    assert scores.partitions_def == market_partitions
    assert dg.AssetKey("market_data") in scores.parent_keys
    assert {k.name for k in graph.asset_check_keys} >= {"no_open_criticals", "no_warnings"}
