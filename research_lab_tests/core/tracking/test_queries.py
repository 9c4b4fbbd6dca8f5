"""Leaderboards, finding, comparing, status changes, archiving and clean-up on the embedded
store (the same calls run against the PostgreSQL-backed server in test_server_postgres.py)."""

from datetime import date, datetime, timezone

import pytest

from research_lab.core.tracking import ExperimentTracker, Scope, StatusError, open_client
from research_lab.core.tracking import lifecycle, queries
from research_lab_tests.core.tracking.fixtures import embedded_home

SMA = "Q1_2025.Equities.MeanReversion.SMA"
RSI = "Q1_2025.Futures.Momentum.RSI"
OTHER = "Q2_2025.Equities.MeanReversion.SMA"
OLD = int(datetime(2024, 6, 1, tzinfo=timezone.utc).timestamp() * 1000)


def _log_all(artifact) -> dict[str, str]:
    out = {}
    with ExperimentTracker(background=False) as t:
        def log(exp, name, sharpe, fast, **kw):
            metrics = {"sharpe": sharpe} if sharpe is not None else {"other": 1.0}
            out[name] = t.log_run(exp, name, params={"fast": fast, "slow": 30},
                                  metrics=metrics, artifacts={"result.json": artifact},
                                  **kw).run_id
        log(SMA, "sma-a", 1.0, 10)
        log(SMA, "sma-b", 2.0, 20, status="testing")
        log(SMA, "sma-old", 0.5, 10, start_time=OLD)
        log(SMA, "sma-none", None, 10)
        log(RSI, "rsi-a", 3.0, 5)
        log(RSI, "rsi-prod", -1.0, 5, status="testing")
        log(OTHER, "q2", 9.0, 10)
    lifecycle.set_status(open_client(), out["rsi-prod"], "production")
    return out


@pytest.fixture(scope="module")
def shared_runs(tmp_path_factory, mlflow_template):
    """One data set for the read-only tests of this module."""
    home = tmp_path_factory.mktemp("queries")
    artifact = home / "result.json"
    artifact.write_text("{}")
    with pytest.MonkeyPatch.context() as mp:
        embedded_home(home, mp, mlflow_template)
        yield _log_all(artifact)


@pytest.fixture
def runs(lab_home, artifact):
    """name -> run id in a store of this test's own (for tests that change runs)."""
    return _log_all(artifact)


def names(rows):
    return [r.run_name for r in rows]


def test_list_projects(shared_runs):
    assert queries.list_projects(open_client()) == {
        "Q1_2025": [SMA, RSI], "Q2_2025": [OTHER]}


def test_leaderboard_by_scope_and_direction(shared_runs):
    c = open_client()
    assert names(queries.leaderboard(c, Scope("Q1_2025"), "sharpe", top=3)) == [
        "rsi-a", "sma-b", "sma-a"]
    assert names(queries.leaderboard(c, Scope("Q1_2025", "Equities"), "sharpe")) == [
        "sma-b", "sma-a", "sma-old"]  # sma-none has no sharpe: left out
    assert names(queries.leaderboard(c, Scope("Q1_2025"), "sharpe", top=2, ascending=True)) == [
        "rsi-prod", "sma-old"]
    assert names(queries.leaderboard(c, Scope("Q1_2025"), "sharpe",
                                     tags={"status": "testing"})) == ["sma-b"]
    assert queries.leaderboard(c, Scope("Q9_2025"), "sharpe") == []
    with pytest.raises(ValueError, match="top must be at least 1"):
        queries.leaderboard(c, Scope("Q1_2025"), "sharpe", top=0)


def test_find_runs_by_params_tags_and_where(shared_runs):
    c = open_client()
    assert sorted(names(queries.find_runs(c, Scope("Q1_2025"), params={"fast": 10}))) == [
        "sma-a", "sma-none", "sma-old"]
    assert names(queries.find_runs(c, Scope(), params={"fast": 10, "slow": 30},
                                   where="metrics.sharpe > 5")) == ["q2"]
    assert names(queries.find_runs(c, Scope(), tags={"status": "production"})) == ["rsi-prod"]
    with pytest.raises(ValueError, match="may not contain quotes"):
        queries.find_runs(c, Scope(), params={"fast": "1' OR '1'='1"})


def test_compare_shows_differences(shared_runs):
    runs = shared_runs
    table = queries.compare(open_client(), [runs["sma-a"], runs["sma-b"], runs["rsi-a"]])
    assert [r["run_name"] for r in table["runs"]] == ["sma-a", "sma-b", "rsi-a"]
    assert table["params"]["fast"] == ["10", "20", "5"]
    assert table["differs"] == ["fast"]
    assert table["metrics"]["sharpe"] == [1.0, 2.0, 3.0]
    assert table["tags"]["status"] == ["research", "testing", "research"]
    with pytest.raises(ValueError, match="at least two"):
        queries.compare(open_client(), [runs["sma-a"]])


def test_status_lifecycle(runs):
    c = open_client()
    run = runs["sma-a"]
    assert lifecycle.set_status(c, run, "testing") == ("research", "testing")
    assert lifecycle.set_status(c, run, "testing") == ("testing", "testing")
    assert lifecycle.set_status(c, run, "production") == ("testing", "production")
    with pytest.raises(StatusError, match="cannot go from 'production' to 'research'"):
        lifecycle.set_status(c, run, "research")
    assert c.get_run(run).data.tags["status"] == "production"  # refused: unchanged
    assert lifecycle.set_status(c, run, "archived") == ("production", "archived")
    assert c.get_run(run).info.lifecycle_stage == "deleted"  # archived = deleted in MLflow
    with pytest.raises(StatusError, match="allowed: research"):
        lifecycle.set_status(c, run, "production")
    assert lifecycle.set_status(c, run, "research") == ("archived", "research")
    assert c.get_run(run).info.lifecycle_stage == "active"  # restored


def test_archive_by_date_and_metric_skips_production(runs):
    c = open_client()
    by_date = lifecycle.ArchiveRule(before=date(2025, 1, 1))
    assert names(lifecycle.archive_runs(c, Scope("Q1_2025"), by_date, dry_run=True)) == [
        "sma-old"]
    assert names(queries.find_runs(c, Scope("Q1_2025"), params={"fast": 10})) != []  # dry run
    weak = lifecycle.ArchiveRule(metric="sharpe", below=1.5)
    archived = lifecycle.archive_runs(c, Scope("Q1_2025"), weak)
    assert sorted(names(archived)) == ["sma-a", "sma-old"]  # rsi-prod is in production
    assert all(c.get_run(r.run_id).data.tags["status"] == "archived" for r in archived)
    assert "sma-a" not in names(queries.find_runs(c, Scope("Q1_2025")))
    assert "sma-a" in names(queries.find_runs(c, Scope("Q1_2025"), include_archived=True))
    forced = lifecycle.ArchiveRule(metric="sharpe", below=0.0, include_production=True)
    assert names(lifecycle.archive_runs(c, Scope("Q1_2025"), forced)) == ["rsi-prod"]
    with pytest.raises(ValueError, match="--before DATE and/or --below"):
        lifecycle.ArchiveRule()


def test_cleanup_deletes_archived_artifacts_once(runs, lab_home):
    c = open_client()
    lifecycle.archive_runs(c, Scope("Q1_2025", "Equities"),
                           lifecycle.ArchiveRule(metric="sharpe", below=1.5))
    assert [x.files for x in lifecycle.cleanup_artifacts(c, Scope("Q1_2025"), dry_run=True)] == [
        1, 1]
    cleaned = lifecycle.cleanup_artifacts(c, Scope("Q1_2025"))
    assert sorted(x.run_id for x in cleaned) == sorted([runs["sma-a"], runs["sma-old"]])
    assert c.list_artifacts(runs["sma-a"]) == []
    assert c.list_artifacts(runs["sma-b"]) != []  # not archived: kept
    assert lifecycle.cleanup_artifacts(c, Scope("Q1_2025")) == []  # idempotent
    assert c.get_run(runs["sma-a"]).data.metrics == {"sharpe": 1.0}  # the record stays
