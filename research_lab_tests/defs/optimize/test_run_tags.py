"""Every run of optimization_job carries the run queue's tags, whoever creates it (the
launchpad and backfills ask the job for a partition's tags; the schedule and the API use the
same function), with the asset class from configuration: SPY is an index, VIXY volatility."""

import pytest

from research_lab.defs.run_queue import ASSET_CLASS_TAG, KIND_TAG, PRIORITY_TAG


@pytest.fixture
def job():
    from research_lab.definitions import defs

    return defs.resolve_job_def("optimization_job")


@pytest.mark.parametrize("symbol, cls, priority", [
    ("SPY", "index", "10"), ("^GSPC", "index", "10"), ("VIXY", "volatility", "0"),
    ("^VIX", "volatility", "0"), ("ACME", "equity", "5"), ("^FOO", "equity", "5"),
])
def test_a_partitions_run_tags_come_from_the_universe_configuration(job, symbol, cls, priority):
    tags = job.get_tags_for_partition_key(f"sma_cross|{symbol}", selected_asset_keys=None)
    assert tags[ASSET_CLASS_TAG] == cls and tags[PRIORITY_TAG] == priority
    assert job.tags[KIND_TAG] == "optimization"


def test_the_asset_is_in_the_optimization_pool():
    from research_lab.defs.optimize.assets import optimization_study

    assert optimization_study.op.pool == "optimization"


def test_the_asset_class_is_configurable(tmp_path, monkeypatch):
    from research_lab.defs.run_queue import study_run_tags

    cfg = tmp_path / "optimize.yaml"
    cfg.write_text("asset_classes: {index: [ACME], volatility: []}\n")
    monkeypatch.setenv("RESEARCH_LAB_OPTIMIZE_CONFIG", str(cfg))
    assert study_run_tags("ACME")[ASSET_CLASS_TAG] == "index"
    assert study_run_tags("^VIX")[ASSET_CLASS_TAG] == "equity"
